// Batch norm folded into the convolutions for inference (layers/fold_batch_norm.h):
// every architecture's eval outputs equal the unfolded model's to float
// tolerance, on the CPU and on CUDA (the emulated kernels in CI), the
// checkpoint loader used by eval and predict folds, and misuse is refused.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "core/autograd.h"
#include "core/device.h"
#include "layers/batchnorm2d.h"
#include "layers/conv2d.h"
#include "layers/fold_batch_norm.h"
#include "models/pose_model.h"
#include "models/spec.h"
#include "test_util.h"
#include "train/checkpoint.h"
#include "train/config.h"
#ifdef POSENET_WITH_CUDA
#include "kernels/cuda/conv.h"
#endif

namespace posenet {
namespace {

// Batch norms with statistics and affine parameters far from their initial
// 1 and 0, so that folding has something to fold.
void randomise_batch_norms(Module& model, uint64_t seed) {
  Generator gen(seed);
  for (auto& [name, t] : model.named_buffers()) {
    if (name.find("running_") == std::string::npos) continue;
    const bool var = name.find("running_var") != std::string::npos;
    std::vector<double> v(size_t(t.numel()));
    for (double& x : v) x = var ? gen.uniform(0.2, 3.0) : gen.uniform(-0.5, 0.5);
    Tensor tt = t;
    tt.copy_(Tensor::from_data(t.shape(), v, DType::F64));
  }
  for (auto& [name, t] : model.named_parameters()) {
    if (name.find("bn") == std::string::npos || t.ndim() != 1) continue;
    const bool gamma = name.size() >= 6 && name.compare(name.size() - 6, 6, "weight") == 0;
    std::vector<double> v(size_t(t.numel()));
    for (double& x : v) x = gamma ? gen.uniform(0.5, 1.5) : gen.uniform(-0.3, 0.3);
    Tensor tt = t;
    tt.copy_(Tensor::from_data(t.shape(), v, DType::F64));
  }
}

// Largest |a - b| over the largest |b|, on the host.
double relative_difference(const Tensor& a, const Tensor& b) {
  const auto av = a.to_vector(), bv = b.to_vector();
  EXPECT_EQ(av.size(), bv.size());
  double diff = 0, scale = 0;
  for (size_t i = 0; i < av.size() && i < bv.size(); ++i) {
    diff = std::max(diff, std::abs(av[i] - bv[i]));
    scale = std::max(scale, std::abs(bv[i]));
  }
  return diff / std::max(scale, 1e-30);
}

// Runs fn, which must throw an Error whose message contains `part`.
template <typename Fn>
void expect_error_containing(Fn fn, const std::string& part) {
  try {
    fn();
    ADD_FAILURE() << "no error; expected one containing '" << part << "'";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
  }
}

struct Architecture {
  const char* name;
  models::ModelOptions options;
};

// Basic and bottleneck blocks, with and without laterals, single- and
// multi-stage (tick and tock).
std::vector<Architecture> architectures() {
  models::ModelOptions small;
  small.width = 0.125;
  small.input_h = small.input_w = 64;
  small.joints = 5;
  return {{"tiny", {}}, {"tiny-multistage", {}}, {"simplebaseline:r18", small}, {"hourglass:r50", small}};
}

void check_folding_keeps_outputs(Device device, const std::vector<Architecture>& list) {
  for (const Architecture& a : list) {
    SCOPED_TRACE(a.name);
    Generator gen(7);
    const models::ModelSpec spec = models::parse_model_spec(a.name, a.options);
    auto model = models::build_model(spec, gen);
    randomise_batch_norms(*model, 11);
    model->to(device);
    model->eval();
    const NoGradGuard no_grad;
    Generator data(3);
    std::vector<double> pixels(size_t(spec.input_h * spec.input_w * 3));
    for (double& p : pixels) p = data.uniform(-1.0, 1.0);
    const Tensor image =
        Tensor::from_data({1, spec.input_h, spec.input_w, 3}, pixels, DType::F64).to(DType::F32).to(device);

    const std::vector<Tensor> unfolded = model->forward_heatmaps(image);
    const int pairs = fold_batch_norm(*model);
    EXPECT_GT(pairs, 0);
    const std::vector<Tensor> folded = model->forward_heatmaps(image);
    ASSERT_EQ(folded.size(), unfolded.size());
    for (size_t s = 0; s < folded.size(); ++s)
      EXPECT_LT(relative_difference(folded[s], unfolded[s]), 2e-4) << "stage " << s;

    // Training drops the folded tensors: the unfolded path again, exactly.
    model->train();
    model->eval();
    const std::vector<Tensor> again = model->forward_heatmaps(image);
    for (size_t s = 0; s < again.size(); ++s) EXPECT_EQ(relative_difference(again[s], unfolded[s]), 0.0);
  }
}

TEST(FoldBatchNorm, EveryArchitectureKeepsItsOutputsOnCpu) {
  check_folding_keeps_outputs(Device::cpu(), architectures());
}

TEST(FoldBatchNorm, EveryArchitectureKeepsItsOutputsOnCuda) {
  PN_REQUIRE_CUDA();
#ifdef POSENET_WITH_CUDA
  // float32 convolutions on both sides: TF32 would round the folded and the
  // unfolded weights differently.
  struct Tf32Off {
    bool saved = kernels::cuda::allow_tf32();
    Tf32Off() { kernels::cuda::set_allow_tf32(false); }
    ~Tf32Off() { kernels::cuda::set_allow_tf32(saved); }
  } tf32_off;
#endif
  // The emulated kernels are slow: the multi-stage model and the bottleneck
  // one with laterals.
  const std::vector<Architecture> all = architectures();
  check_folding_keeps_outputs(Device::cuda(0), {all[1], all[3]});
}

TEST(FoldBatchNorm, FoldsOneConvolutionAndItsBiasExactly) {
  // conv (with bias) + BN, float64: folded equals unfolded to rounding.
  Generator gen(5);
  Conv2d conv(Conv2dOptions{3, 4, 3, 1, 1, 1, true}, gen);
  BatchNorm2d bn(4);
  Module holder("Holder");
  auto c = holder.register_module("conv", std::shared_ptr<Conv2d>(&conv, [](Conv2d*) {}));
  auto b = holder.register_module("bn", std::shared_ptr<BatchNorm2d>(&bn, [](BatchNorm2d*) {}));
  randomise_batch_norms(holder, 2);
  Tensor cb = conv.bias();
  cb.copy_(Tensor::from_data({4}, std::vector<double>{0.3, -0.2, 0.1, 0.5}, DType::F64));
  holder.to(DType::F64);
  const std::vector<double> bias_before = conv.bias().to_vector();
  holder.eval();
  const NoGradGuard no_grad;
  std::vector<double> xv(2 * 5 * 6 * 3);
  for (double& x : xv) x = gen.uniform(-1, 1);
  const Tensor x = Tensor::from_data({2, 5, 6, 3}, xv, DType::F64);
  const Tensor want = b->forward_add_relu(c->forward(x), Tensor(), true);
  EXPECT_EQ(fold_batch_norm(holder), 1);
  EXPECT_TRUE(conv.folded_weight().defined());
  const Tensor got = b->forward_add_relu(c->forward(x), Tensor(), true);
  EXPECT_LT(relative_difference(got, want), 1e-12);
  // The registered tensors are untouched: checkpoints stay unfolded.
  EXPECT_EQ(conv.bias().to_vector(), bias_before);
}

TEST(FoldBatchNorm, RefusesATrainingModelAndAMovedOne) {
  Generator gen(1);
  auto model = models::build_model(models::parse_model_spec("tiny"), gen);
  model->train();
  expect_error_containing([&] { fold_batch_norm(*model); }, "training mode");
  model->eval();
  fold_batch_norm(*model);
  model->to(DType::F64);
  const NoGradGuard no_grad;
  expect_error_containing([&] { model->forward_heatmaps(Tensor::zeros({1, 64, 64, 3}, DType::F64)); },
                          "fold the model again");
}

TEST(FoldBatchNorm, CheckpointLoaderFoldsAndEvalNumbersAreUnchanged) {
  // What eval and predict load: the checkpoint's model folded; its heatmaps
  // are those of the unfolded model the checkpoint was saved from.
  const auto dir = testing::temp_dir("fold_checkpoint");
  train::TrainConfig config;
  config.model = "tiny";
  config.width = 0.125;
  config.decoder_channels = 16;
  config.input_size = 64;
  Generator gen(9);
  auto model = models::build_model(train::model_spec_of(config), gen);
  randomise_batch_norms(*model, 4);
  train::save_checkpoint(dir / "model.safetensors", *model, nullptr, config, model->spec().describe(), {});
  auto loaded = train::load_model_from_checkpoint(train::read_checkpoint(dir / "model.safetensors"), Device::cpu());
  model->eval();
  const NoGradGuard no_grad;
  Generator data(8);
  std::vector<double> pixels(size_t(2 * 64 * 64 * 3));
  for (double& p : pixels) p = data.uniform(-1.0, 1.0);
  const Tensor image = Tensor::from_data({2, 64, 64, 3}, pixels, DType::F64).to(DType::F32);
  const Tensor want = model->forward_heatmaps(image).back();
  const Tensor got = loaded->forward_heatmaps(image).back();
  EXPECT_LT(relative_difference(got, want), 2e-4);
  EXPECT_GT(relative_difference(got, want), 0.0) << "the loaded model did not run the folded path";
}

}  // namespace
}  // namespace posenet
