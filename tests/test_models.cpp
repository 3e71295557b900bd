// The pose models against PyTorch: golden fixtures made by
// tests/reference/make_fixtures.py (heatmaps of every stage, the loss, every
// parameter's gradient and the BN running statistics after one training
// step, and eval-mode heatmaps), plus construction, growth and the loading
// of torchvision-named ImageNet weights.
//
// Fixture layout: PyTorch's (NCHW activations, OIHW weights); the helpers
// below permute activations to NHWC, and the model's state_dict() speaks
// PyTorch layouts already.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "core/autograd.h"
#include "core/error.h"
#include "core/safetensors.h"
#include "kernels/elementwise.h"
#include "kernels/loss.h"
#include "models/growth.h"
#include "models/info.h"
#include "models/multi_stage.h"
#include "models/pretrained.h"
#include "models/single_stage.h"
#include "models/spec.h"
#include "test_util.h"

namespace posenet::models {
namespace {

std::filesystem::path fixture(const std::string& name) {
  return std::filesystem::path(POSENET_SOURCE_DIR) / "tests" / "fixtures" / name;
}

// [N, C, H, W] -> [N, H, W, C] on the host.
Tensor nchw_to_nhwc(const Tensor& t, DType dtype) {
  const int64_t n = t.dim(0), c = t.dim(1), h = t.dim(2), w = t.dim(3);
  const std::vector<double> in = t.to_vector();
  std::vector<double> out(in.size());
  for (int64_t i = 0; i < n; ++i)
    for (int64_t k = 0; k < c; ++k)
      for (int64_t y = 0; y < h; ++y)
        for (int64_t x = 0; x < w; ++x)
          out[size_t(((i * h + y) * w + x) * c + k)] = in[size_t(((i * c + k) * h + y) * w + x)];
  return Tensor::from_data({n, h, w, c}, out, DType::F64).to(dtype);
}

// max |a - b| / max |b|: the error relative to the reference tensor's scale.
double relative_to_max(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.shape(), b.shape());
  const auto va = a.to_vector(), vb = b.to_vector();
  double diff = 0, scale = 0;
  for (size_t i = 0; i < va.size() && i < vb.size(); ++i) {
    const double d = std::abs(va[i] - vb[i]);
    diff = std::isnan(d) ? INFINITY : std::max(diff, d);
    scale = std::max(scale, std::abs(vb[i]));
  }
  return diff / (scale > 0 ? scale : 1.0);
}

std::map<std::string, Tensor> with_prefix_removed(const std::map<std::string, Tensor>& all, const std::string& prefix) {
  std::map<std::string, Tensor> out;
  for (const auto& [k, v] : all)
    if (k.rfind(prefix, 0) == 0) out.emplace(k.substr(prefix.size()), v);
  return out;
}

struct Tolerances {
  double heatmap, loss, grad, running, eval_heatmap;
};

// float64: the C++ and PyTorch runs differ only in summation order, so the
// results agree to ~1e-13 of their scale; 1e-9 leaves room for the BN
// divisions by small batch variances without hiding a real difference (any
// wrong index or formula shows at 1e-3 or more).
// float32: the fixture records how far PyTorch's own float32 run is from the
// float64 reference; ours may be at most 10x that (a different but equally
// accurate summation order), with a floor of 1e-6.
Tolerances tolerances(DType dtype, const std::map<std::string, std::string>& meta) {
  if (dtype == DType::F64) return {1e-9, 1e-9, 1e-9, 1e-9, 1e-9};
  auto f32 = [&](const char* key) { return std::max(1e-6, 10.0 * std::stod(meta.at(std::string("f32_error.") + key))); };
  return {f32("heatmap"), f32("loss"), f32("grad"), f32("running"), f32("eval_heatmap")};
}

void check_parity(const std::string& file, DType dtype) {
  const safetensors::File f = safetensors::File::read(fixture(file));
  const auto& meta = f.metadata();
  const std::map<std::string, Tensor> data = f.tensors();
  ModelOptions options;
  options.width = std::stod(meta.at("width"));
  options.decoder_channels = std::stoll(meta.at("decoder_channels"));
  options.input_h = options.input_w = std::stoi(meta.at("input"));
  options.joints = std::stoi(meta.at("joints"));
  const ModelSpec spec = parse_model_spec(meta.at("model"), options);
  const int stages = std::stoi(meta.at("stages"));
  ASSERT_EQ(spec.stages(), stages);

  Generator gen(5);
  auto model = build_model(spec, gen);
  model->to(dtype);
  const LoadReport report = model->load_state_dict(with_prefix_removed(data, "state."), true, file);
  EXPECT_TRUE(report.ok()) << report.str();
  EXPECT_EQ(int64_t(std::stoll(meta.at("params"))), model_info(spec).params);
  const Tolerances tol = tolerances(dtype, meta);

  // One training step: forward, the loss summed over stages, backward.
  model->train();
  const Tensor x = nchw_to_nhwc(data.at("input"), dtype);
  const Tensor weight = data.at("target_weight").to(dtype);
  const std::vector<Tensor> heatmaps = model->forward_heatmaps(x);
  ASSERT_EQ(int(heatmaps.size()), stages);
  Tensor loss;
  for (int s = 0; s < stages; ++s) {
    const std::string n = std::to_string(s);
    EXPECT_LE(relative_to_max(heatmaps[size_t(s)], nchw_to_nhwc(data.at("heatmap." + n), DType::F64)), tol.heatmap)
        << "stage " << s << " heatmaps";
    Tensor l = ops::weighted_mse(heatmaps[size_t(s)], nchw_to_nhwc(data.at("target." + n), dtype), weight);
    loss = loss.defined() ? ops::add(loss, l) : l;
  }
  EXPECT_LE(relative_to_max(loss, data.at("loss")), tol.loss) << loss.item() << " vs " << data.at("loss").item();
  loss.backward();

  int checked = 0;
  for (const auto& [name, param] : model->named_parameters()) {
    SCOPED_TRACE(name);
    ASSERT_TRUE(param.grad().defined());
    const Tensor grad = to_torch_layout(param.grad(), model->layout_of(name));
    EXPECT_LE(relative_to_max(grad, data.at("grad." + name)), tol.grad);
    ++checked;
  }
  EXPECT_EQ(checked, int(with_prefix_removed(data, "grad.").size()));
  checked = 0;
  for (const auto& [name, buffer] : model->named_buffers()) {
    if (name.find("running_") == std::string::npos) continue;
    SCOPED_TRACE(name);
    EXPECT_LE(relative_to_max(buffer, data.at("running." + name)), tol.running);
    ++checked;
  }
  EXPECT_EQ(checked, int(with_prefix_removed(data, "running.").size()));

  // Eval mode uses the running statistics the step just updated.
  model->eval();
  NoGradGuard no_grad;
  const std::vector<Tensor> eval_heatmaps = model->forward_heatmaps(x);
  for (int s = 0; s < stages; ++s)
    EXPECT_LE(relative_to_max(eval_heatmaps[size_t(s)],
                              nchw_to_nhwc(data.at("eval_heatmap." + std::to_string(s)), DType::F64)),
              tol.eval_heatmap)
        << "stage " << s << " eval heatmaps";
}

TEST(ModelParity, TinyHourglassFloat64) { check_parity("models_hourglass_tiny.safetensors", DType::F64); }
TEST(ModelParity, TinyHourglassFloat32) { check_parity("models_hourglass_tiny.safetensors", DType::F32); }
TEST(ModelParity, TinyMultiStageFloat64) { check_parity("models_multistage_tiny.safetensors", DType::F64); }
TEST(ModelParity, TinyMultiStageFloat32) { check_parity("models_multistage_tiny.safetensors", DType::F32); }
// Bottleneck blocks (hourglass:r50) and the decoder without laterals
// (simplebaseline:r18).
TEST(ModelParity, TinyBottleneckHourglassFloat64) { check_parity("models_hourglass_r50_tiny.safetensors", DType::F64); }
TEST(ModelParity, TinyBottleneckHourglassFloat32) { check_parity("models_hourglass_r50_tiny.safetensors", DType::F32); }
TEST(ModelParity, TinySimpleBaselineFloat64) { check_parity("models_simplebaseline_tiny.safetensors", DType::F64); }
TEST(ModelParity, TinySimpleBaselineFloat32) { check_parity("models_simplebaseline_tiny.safetensors", DType::F32); }

int64_t count_params(const Module& m) {
  int64_t n = 0;
  for (const auto& p : m.parameters()) n += p.numel();
  return n;
}

TEST(Models, ParameterCountsAgreeWithInfo) {
  ModelOptions quarter;
  quarter.width = 0.25;
  quarter.input_h = quarter.input_w = 64;
  ModelOptions eighth = quarter;
  eighth.width = 0.125;
  ModelOptions no_tick = eighth;
  no_tick.tick = false;
  for (const auto& [name, options] : std::vector<std::pair<std::string, ModelOptions>>{
           {"tiny", {}},
           {"tiny-multistage", {}},
           {"simplebaseline:r18", quarter},
           {"hourglass:r50", eighth},
           {"multistage:r34,r50", eighth},
           {"multistage:r18,r18", no_tick}}) {
    SCOPED_TRACE(name);
    Generator gen(1);
    const ModelSpec spec = parse_model_spec(name, options);
    auto model = build_model(spec, gen);
    EXPECT_EQ(count_params(*model), model_info(spec).params);
  }
}

TEST(Models, NamesAndShapesFollowTheConvention) {
  ModelOptions o;
  o.width = 0.25;
  o.input_h = o.input_w = 64;
  Generator gen(2);
  auto ms = build_model(parse_model_spec("multistage:r18,r50", o), gen);
  const auto state = ms->state_dict();
  auto shape = [&](const std::string& k) {
    EXPECT_TRUE(state.count(k)) << k;
    return state.count(k) ? state.at(k).shape() : Shape{};
  };
  EXPECT_EQ(shape("stages.0.encoder.conv1.weight"), (Shape{16, 3, 7, 7}));
  EXPECT_EQ(shape("stages.0.encoder.layer4.1.bn2.running_var"), (Shape{128}));
  EXPECT_EQ(shape("stages.0.decoder.deconv1.weight"), (Shape{128, 64, 4, 4}));  // [Cin, Cout, R, S]
  EXPECT_EQ(shape("stages.0.decoder.lateral1.weight"), (Shape{64, 64, 1, 1}));  // C4 of r18 at 1/4 width
  EXPECT_EQ(shape("stages.0.decoder.lateral3.weight"), (Shape{64, 16, 1, 1}));  // C2
  EXPECT_EQ(shape("stages.0.head.weight"), (Shape{16, 64, 1, 1}));
  EXPECT_EQ(shape("stages.0.head.bias"), (Shape{16}));
  EXPECT_EQ(shape("stages.1.tick.weight"), (Shape{16, 64, 1, 1}));  // decoder -> stem channels
  EXPECT_EQ(shape("stages.1.tick_bn.weight"), (Shape{16}));
  EXPECT_EQ(shape("stages.1.encoder.layer1.0.downsample.0.weight"), (Shape{64, 16, 1, 1}));
  EXPECT_EQ(shape("stages.1.decoder.lateral1.weight"), (Shape{64, 256, 1, 1}));
  EXPECT_FALSE(state.count("stages.1.encoder.conv1.weight"));
  EXPECT_FALSE(state.count("stages.0.tick.weight"));

  auto sb = build_model(parse_model_spec("simplebaseline:r18", o), gen);
  const auto sb_state = sb->state_dict();
  EXPECT_TRUE(sb_state.count("encoder.layer1.0.conv1.weight"));
  EXPECT_TRUE(sb_state.count("decoder.deconv_bn3.running_mean"));
  EXPECT_FALSE(sb_state.count("decoder.lateral1.weight"));
}

TEST(Models, InitialisationFollowsSimpleBaselines) {
  Generator gen(3);
  ModelOptions o;
  o.width = 0.5;  // decoder 128 channels: deconv1 has 256 * 128 * 16 weights
  o.input_h = o.input_w = 64;
  auto model = build_model(parse_model_spec("hourglass:r18", o), gen);
  const auto state = model->state_dict();
  auto stddev = [](const Tensor& t) {
    double s = 0, s2 = 0;
    for (double v : t.to_vector()) s += v, s2 += v * v;
    const double n = double(t.numel());
    return std::sqrt(s2 / n - (s / n) * (s / n));
  };
  EXPECT_NEAR(stddev(state.at("decoder.deconv1.weight")), 0.001, 0.00005);
  EXPECT_NEAR(stddev(state.at("decoder.lateral1.weight")), 0.001, 0.0001);
  EXPECT_NEAR(stddev(state.at("head.weight")), 0.001, 0.0002);
  for (double v : state.at("head.bias").to_vector()) EXPECT_EQ(v, 0.0);
  for (double v : state.at("decoder.deconv_bn1.weight").to_vector()) EXPECT_EQ(v, 1.0);
  // torchvision's conv init: kaiming normal, fan_out = 32 * 3 * 3 at width 1/2.
  EXPECT_NEAR(stddev(state.at("encoder.layer1.0.conv1.weight")), std::sqrt(2.0 / (32 * 9)), 0.004);
}

TEST(Models, RejectsInputOfTheWrongShape) {
  Generator gen(4);
  auto model = build_model(parse_model_spec("tiny"), gen);
  Generator data(5);
  EXPECT_THROW(model->forward_heatmaps(testing::random_tensor({1, 64, 64, 4}, data, DType::F32)), Error);
  // 80 is not a multiple of 32: the lateral shapes cannot meet.
  EXPECT_THROW(model->forward_heatmaps(testing::random_tensor({1, 80, 80, 3}, data, DType::F32)), Error);
}

TEST(Models, TickAndTockCanBeSwitchedOff) {
  ModelOptions o;
  o.width = 0.0625;
  o.decoder_channels = 8;
  o.input_h = o.input_w = 64;
  Generator gen(13);
  auto both = build_model(parse_model_spec("multistage:r18,r18", o), gen);
  o.tock = false;
  auto no_tock = build_model(parse_model_spec("multistage:r18,r18", o), gen);
  o.tick = false;
  o.tock = true;
  auto no_tick = build_model(parse_model_spec("multistage:r18,r18", o), gen);
  EXPECT_FALSE(no_tick->state_dict().count("stages.1.tick.weight"));
  // Same weights everywhere; only the connections differ. The tick's init
  // (std 0.001, then BN with fresh running statistics) is nearly silent in
  // eval mode: give it weights that matter.
  Generator data(14);
  auto state = both->state_dict();
  state["stages.1.tick.weight"] = testing::random_tensor(state.at("stages.1.tick.weight").shape(), data, DType::F32);
  both->load_state_dict(state);
  no_tock->load_state_dict(state);
  auto without_tick = both->state_dict();
  for (auto it = without_tick.begin(); it != without_tick.end();)
    it = it->first.rfind("stages.1.tick", 0) == 0 ? without_tick.erase(it) : std::next(it);
  no_tick->load_state_dict(without_tick);
  for (auto* m : {both.get(), no_tock.get(), no_tick.get()}) m->eval();
  const Tensor x = testing::random_tensor({1, 64, 64, 3}, data, DType::F32);
  NoGradGuard no_grad;
  const PoseOutput a = both->forward_outputs(x), b = no_tock->forward_outputs(x), c = no_tick->forward_outputs(x);
  ASSERT_EQ(a.heatmaps.size(), 2u);
  EXPECT_EQ(a.heatmaps[1].shape(), (Shape{1, 16, 16, 16}));
  EXPECT_EQ(a.features[1].shape(), (Shape{1, 16, 16, 8}));
  EXPECT_EQ(relative_to_max(b.heatmaps[0], a.heatmaps[0]), 0.0);
  EXPECT_EQ(relative_to_max(c.heatmaps[0], a.heatmaps[0]), 0.0);
  EXPECT_GT(relative_to_max(b.heatmaps[1], a.heatmaps[1]), 1e-3);
  EXPECT_GT(relative_to_max(c.heatmaps[1], a.heatmaps[1]), 1e-3);
  // Tock: P_2 = decoder_2(...) + P_1, so the difference is exactly P_1.
  EXPECT_LE(relative_to_max(ops::add(b.features[1], a.features[0]), a.features[1]), 1e-6);
}

// ---- growth ----

TEST(ModelGrowth, KeepsTheFirstStagesOutputs) {
  ModelOptions o;
  o.width = 0.0625;
  o.decoder_channels = 8;
  o.input_h = o.input_w = 64;
  Generator gen(6);
  const ModelSpec spec = parse_model_spec("multistage:r18,r18,r18", o);
  auto three = build_model(spec, gen);
  // Non-trivial running statistics: one training forward.
  Generator data(7);
  const Tensor x = testing::random_tensor({2, 64, 64, 3}, data, DType::F32);
  {
    NoGradGuard no_grad;
    three->forward_heatmaps(x);
  }
  auto four = grow_model(spec, three->state_dict(), gen);
  ASSERT_EQ(four->num_stages(), 4);
  EXPECT_EQ(four->spec().name(), "multistage:r18,r18,r18,r18");
  three->eval();
  four->eval();
  NoGradGuard no_grad;
  const auto before = three->forward_heatmaps(x);
  const auto after = four->forward_heatmaps(x);
  ASSERT_EQ(after.size(), 4u);
  for (size_t s = 0; s < 3; ++s) EXPECT_EQ(relative_to_max(after[s], before[s]), 0.0) << "stage " << s;
  // Without ImageNet weights the new stage starts as a copy of the last one.
  const auto state = four->state_dict();
  for (const char* k : {"encoder.layer2.0.conv1.weight", "decoder.deconv2.weight", "head.bias", "tick.weight",
                        "encoder.layer4.1.bn2.running_mean"})
    EXPECT_EQ(relative_to_max(state.at(std::string("stages.3.") + k), state.at(std::string("stages.2.") + k)), 0.0) << k;
}

TEST(ModelGrowth, FromSingleStageAndFromImageNet) {
  ModelOptions o;
  o.width = 0.0625;
  o.input_h = o.input_w = 64;
  Generator gen(8);
  const ModelSpec single = parse_model_spec("hourglass:r18", o);
  auto one = build_model(single, gen);
  // "ImageNet" weights with torchvision names at this width, and an fc.
  ResNetEncoder imagenet_net(50, 0.0625, true, gen);
  ImageNetWeights imagenet{"resnet50.safetensors", imagenet_net.state_dict()};
  imagenet.state.emplace("fc.weight", Tensor::zeros({10, 128}));
  auto two = grow_model(single, one->state_dict(), gen, &imagenet, 50);
  EXPECT_EQ(two->spec().name(), "multistage:r18,r50");
  const auto state = two->state_dict();
  const auto one_state = one->state_dict();
  EXPECT_EQ(relative_to_max(state.at("stages.0.decoder.lateral2.weight"), one_state.at("decoder.lateral2.weight")), 0.0);
  EXPECT_EQ(relative_to_max(state.at("stages.1.encoder.layer3.2.conv3.weight"), imagenet.state.at("layer3.2.conv3.weight")),
            0.0);
  // A new stage of another depth cannot copy the last one.
  EXPECT_THROW(grow_model(single, one->state_dict(), gen, nullptr, 50), InputError);
  // A checkpoint of another model is refused with the offending names.
  auto bad = one->state_dict();
  bad.emplace("stages.7.head.bias", Tensor::zeros({16}));
  try {
    grow_model(single, bad, gen, nullptr, 0, "run/ckpt.safetensors");
    FAIL() << "expected an InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("stages.7.head.bias"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("run/ckpt.safetensors"), std::string::npos) << e.what();
  }
  EXPECT_THROW(grow_model(parse_model_spec("simplebaseline:r18", o), {}, gen), InputError);
}

// ---- ImageNet weights with torchvision's names ----

// torchvision's state dict names and shapes (tests/fixtures/
// torchvision_resnet_keys.json, written by make_fixtures.py).
nlohmann::json torchvision_keys() {
  std::ifstream in(fixture("torchvision_resnet_keys.json"));
  EXPECT_TRUE(in.good());
  return nlohmann::json::parse(in);
}

// A checkpoint with exactly torchvision's entries (random values), with
// num_batches_tracked as I64 as torchvision saves it.
std::map<std::string, Tensor> synthesize(const nlohmann::json& keys, std::map<std::string, safetensors::RawTensor>* raw,
                                         Generator& gen) {
  std::map<std::string, Tensor> out;
  for (auto it = keys.begin(); it != keys.end(); ++it) {
    const std::string& name = it.key();
    const nlohmann::json& entry = it.value();
    Shape shape = entry.at("shape").get<Shape>();
    if (entry.at("dtype") == "I64") {
      (*raw)[name] = safetensors::RawTensor{"I64", shape, std::vector<uint8_t>(8, 0)};
      continue;
    }
    out[name] = testing::random_tensor(shape, gen, DType::F32);
  }
  return out;
}

// The same at a reduced width: a torchvision-named state dict taken from our
// own encoder (whose names are torchvision's, see the test below), plus an fc
// and the I64 counters. Small, so the error paths are cheap to test.
std::map<std::string, Tensor> narrow_checkpoint(int depth, double width, std::map<std::string, safetensors::RawTensor>* raw,
                                                Generator& gen) {
  ResNetEncoder source(depth, width, true, gen);
  std::map<std::string, Tensor> out;
  for (const auto& [k, v] : source.state_dict()) {
    if (k.find("num_batches_tracked") != std::string::npos) continue;
    out[k] = testing::random_tensor(v.shape(), gen, DType::F32, 0.5, 1.5);
    if (k.find("running_var") != std::string::npos)
      (*raw)[k.substr(0, k.size() - 11) + "num_batches_tracked"] = safetensors::RawTensor{"I64", {}, std::vector<uint8_t>(8, 0)};
  }
  out["fc.weight"] = Tensor::zeros({10, source.out_channels()[3]});
  out["fc.bias"] = Tensor::zeros({10});
  return out;
}

TEST(PretrainedWeights, EncoderNamesAndShapesAreTorchvisions) {
  const nlohmann::json keys = torchvision_keys();
  auto torchvision = [&](int depth) {
    std::map<std::string, Shape> out;
    const nlohmann::json& tv = keys.at("resnet" + std::to_string(depth));
    for (auto it = tv.begin(); it != tv.end(); ++it)
      if (it.key().rfind("fc.", 0) != 0 && it.key().find("num_batches_tracked") == std::string::npos)
        out[it.key()] = it.value().at("shape").get<Shape>();
    return out;
  };
  Generator gen(9);
  // ResNet-18 at full width: names and shapes; ResNet-50 (23 M parameters
  // take long to draw) at width 1/8: names, and shapes checked via the
  // parameter count of the shape tables in ModelInfo tests.
  ResNetEncoder r18(18, 1.0, true, gen);
  std::map<std::string, Shape> ours;
  for (const auto& [k, v] : r18.state_dict())
    if (k.find("num_batches_tracked") == std::string::npos) ours[k] = v.shape();
  EXPECT_EQ(ours, torchvision(18));
  EXPECT_EQ(count_params(r18), keys.at("params_without_fc").at("resnet18").get<int64_t>());

  ResNetEncoder r50(50, 0.125, true, gen);
  std::vector<std::string> ours50, theirs50;
  for (const auto& [k, v] : r50.state_dict())
    if (k.find("num_batches_tracked") == std::string::npos) ours50.push_back(k);
  for (const auto& [k, v] : torchvision(50)) theirs50.push_back(k);
  EXPECT_EQ(ours50, theirs50);
  EXPECT_EQ(encoder_param_count(50), keys.at("params_without_fc").at("resnet50").get<int64_t>());
}

TEST(PretrainedWeights, LoadsAFullSizeTorchvisionCheckpoint) {
  const nlohmann::json keys = torchvision_keys();
  Generator gen(10);
  std::map<std::string, safetensors::RawTensor> raw;
  const auto weights = synthesize(keys.at("resnet18"), &raw, gen);
  const auto path = testing::temp_dir("models_pretrained") / "resnet18.safetensors";
  safetensors::save(path, weights, {}, raw);
  ModelOptions o;
  o.input_h = o.input_w = 64;
  o.decoder_channels = 16;
  auto model = build_model(parse_model_spec("simplebaseline:r18", o), gen);
  const LoadReport report = load_pretrained(*model, path);
  EXPECT_TRUE(report.ok()) << report.str();
  const auto state = model->state_dict();
  for (const char* k : {"conv1.weight", "bn1.running_var", "layer2.0.downsample.0.weight", "layer4.1.conv2.weight"})
    EXPECT_EQ(relative_to_max(state.at(std::string("encoder.") + k), weights.at(k)), 0.0) << k;
}

TEST(PretrainedWeights, LoadsIntoEveryEncoderOfAMultiStageModel) {
  Generator gen(12);
  std::map<std::string, safetensors::RawTensor> raw;
  const auto weights = narrow_checkpoint(18, 0.0625, &raw, gen);
  const auto path = testing::temp_dir("models_pretrained_multi") / "narrow.safetensors";
  safetensors::save(path, weights, {}, raw);
  ModelOptions o;
  o.width = 0.0625;
  o.input_h = o.input_w = 64;
  auto model = build_model(parse_model_spec("multistage:r18,r18,r18", o), gen);
  const LoadReport report = load_pretrained(*model, path);
  EXPECT_TRUE(report.ok()) << report.str();
  const auto state = model->state_dict();
  EXPECT_EQ(relative_to_max(state.at("stages.0.encoder.conv1.weight"), weights.at("conv1.weight")), 0.0);
  for (int s = 0; s < 3; ++s)
    for (const char* k : {"layer1.0.conv1.weight", "layer3.1.bn1.running_mean", "layer4.0.downsample.1.bias"})
      EXPECT_EQ(relative_to_max(state.at("stages." + std::to_string(s) + ".encoder." + k), weights.at(k)), 0.0)
          << s << " " << k;
}

std::string load_error(PoseModel& model, const std::filesystem::path& path) {
  try {
    load_pretrained(model, path);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

TEST(PretrainedWeights, NamesMissingUnexpectedAndMisshapenKeys) {
  Generator gen(11);
  std::map<std::string, safetensors::RawTensor> raw;
  const auto weights = narrow_checkpoint(18, 0.0625, &raw, gen);
  ModelOptions o;
  o.width = 0.0625;
  o.input_h = o.input_w = 64;
  auto model = build_model(parse_model_spec("hourglass:r18", o), gen);
  const auto dir = testing::temp_dir("models_pretrained_errors");

  auto misshapen = weights;
  misshapen["layer2.0.conv1.weight"] = Tensor::zeros({8, 4, 1, 1});
  safetensors::save(dir / "misshapen.safetensors", misshapen, {}, raw);
  std::string err = load_error(*model, dir / "misshapen.safetensors");
  EXPECT_NE(err.find("layer2.0.conv1.weight"), std::string::npos) << err;
  EXPECT_NE(err.find("misshapen.safetensors"), std::string::npos) << err;

  auto incomplete = weights;
  incomplete.erase("layer3.1.bn2.running_var");
  incomplete["layer5.0.conv1.weight"] = Tensor::zeros({1});
  safetensors::save(dir / "incomplete.safetensors", incomplete, {}, raw);
  err = load_error(*model, dir / "incomplete.safetensors");
  EXPECT_NE(err.find("layer3.1.bn2.running_var"), std::string::npos) << err;
  EXPECT_NE(err.find("layer5.0.conv1.weight"), std::string::npos) << err;

  // Lenient: loads what matches, reports the rest by name.
  const LoadReport report = load_pretrained(*model, dir / "incomplete.safetensors", /*lenient=*/true);
  EXPECT_FALSE(report.ok());
  EXPECT_EQ(report.missing, std::vector<std::string>{"encoder.layer3.1.bn2.running_var"});
  EXPECT_EQ(report.unexpected, std::vector<std::string>{"layer5.0.conv1.weight"});
  EXPECT_EQ(relative_to_max(model->state_dict().at("encoder.layer1.0.conv2.weight"), weights.at("layer1.0.conv2.weight")),
            0.0);

  // Weights of another width do not fit: the convolutions are named.
  auto wider = build_model(parse_model_spec("tiny"), gen);
  safetensors::save(dir / "narrow.safetensors", weights, {}, raw);
  err = load_error(*wider, dir / "narrow.safetensors");
  EXPECT_NE(err.find("conv1.weight"), std::string::npos) << err;
}

// ---- one file per ResNet depth ----

// Every parameter's and buffer's values, copied: a refused load must leave
// all of them as they were.
std::map<std::string, std::vector<double>> snapshot(const Module& module) {
  std::map<std::string, std::vector<double>> out;
  for (const auto& [k, v] : module.state_dict()) out[k] = v.to_vector();
  return out;
}

// The paper's mix of depths, multistage:r101,r50,r50, at 1/16 of the widths
// on 64x64 inputs, with a ResNet-101 and a ResNet-50 file of the same width
// written to `dir` (r101.safetensors, r50.safetensors).
struct MixedDepthCase {
  std::shared_ptr<PoseModel> model;
  std::map<std::string, Tensor> r101, r50;
  std::map<std::string, safetensors::RawTensor> r101_counters, r50_counters;
  std::filesystem::path dir;
  std::filesystem::path r101_file() const { return dir / "r101.safetensors"; }
  std::filesystem::path r50_file() const { return dir / "r50.safetensors"; }
  PretrainedFiles both_files() const { return {{101, r101_file()}, {50, r50_file()}}; }
};

MixedDepthCase mixed_depth_case(const std::string& name, uint64_t seed) {
  Generator gen(seed);
  MixedDepthCase c;
  ModelOptions o;
  o.width = 0.0625;
  o.input_h = o.input_w = 64;
  c.model = build_model(parse_model_spec("multistage:r101,r50,r50", o), gen);
  c.r101 = narrow_checkpoint(101, 0.0625, &c.r101_counters, gen);
  c.r50 = narrow_checkpoint(50, 0.0625, &c.r50_counters, gen);
  c.dir = testing::temp_dir(name);
  safetensors::save(c.r101_file(), c.r101, {}, c.r101_counters);
  safetensors::save(c.r50_file(), c.r50, {}, c.r50_counters);
  return c;
}

template <typename Load>
std::string input_error_of(Load&& load) {
  try {
    load();
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

TEST(PretrainedWeights, EachEncoderLoadsTheFileOfItsDepth) {
  MixedDepthCase c = mixed_depth_case("pretrained_per_depth", 21);
  const PretrainedFiles files = parse_pretrained_files(
      "r101=" + c.r101_file().string() + ",r50=" + c.r50_file().string(), c.model->spec());
  ASSERT_EQ(files, c.both_files());
  const PretrainedReport report = load_pretrained(*c.model, files);
  EXPECT_TRUE(report.ok()) << report.str();
  EXPECT_TRUE(report.without_weights.empty());
  const auto state = c.model->state_dict();
  for (const char* k : {"conv1.weight", "bn1.running_mean", "layer3.22.conv2.weight", "layer4.2.bn3.bias"})
    EXPECT_EQ(relative_to_max(state.at(std::string("stages.0.encoder.") + k), c.r101.at(k)), 0.0) << k;
  for (const std::string stage : {"stages.1.encoder.", "stages.2.encoder."})
    for (const char* k : {"layer1.0.downsample.0.weight", "layer3.5.conv1.weight", "layer4.2.bn3.running_var"})
      EXPECT_EQ(relative_to_max(state.at(stage + k), c.r50.at(k)), 0.0) << stage << k;
  EXPECT_EQ(state.count("stages.1.encoder.conv1.weight"), 0u);  // later stages have no stem
}

TEST(PretrainedWeights, ADepthWithoutAFileIsNamedAndNothingIsLoaded) {
  MixedDepthCase c = mixed_depth_case("pretrained_missing_depth", 22);
  const auto before = snapshot(*c.model);
  const std::string err = input_error_of([&] { load_pretrained(*c.model, PretrainedFiles{{101, c.r101_file()}}); });
  EXPECT_TRUE(contains(err, "no file for ResNet-50 (stages.1.encoder., stages.2.encoder.)")) << err;
  EXPECT_TRUE(contains(err, "r50=PATH")) << err;
  EXPECT_EQ(snapshot(*c.model), before) << "stage 0 must not take the ResNet-101 weights alone";
}

TEST(PretrainedWeights, LenientLeavesEncodersWithoutAFileAtTheirInitialisation) {
  MixedDepthCase c = mixed_depth_case("pretrained_lenient_depth", 23);
  const auto before = snapshot(*c.model);
  const PretrainedReport report = load_pretrained(*c.model, PretrainedFiles{{101, c.r101_file()}}, /*lenient=*/true);
  EXPECT_FALSE(report.ok());
  EXPECT_EQ(report.without_weights, (std::vector<std::string>{"stages.1.encoder.", "stages.2.encoder."}));
  EXPECT_NE(std::find(report.missing.begin(), report.missing.end(), "stages.2.encoder.layer3.5.conv1.weight"),
            report.missing.end());
  const auto after = snapshot(*c.model);
  EXPECT_EQ(after.at("stages.0.encoder.layer3.22.conv2.weight"), c.r101.at("layer3.22.conv2.weight").to_vector());
  for (const auto& [k, v] : after)
    if (k.rfind("stages.0.encoder.", 0) != 0) {
      EXPECT_EQ(v, before.at(k)) << k;
    }
}

TEST(PretrainedWeights, AFileForADepthTheModelLacksIsRefused) {
  MixedDepthCase c = mixed_depth_case("pretrained_extra_depth", 24);
  const auto before = snapshot(*c.model);
  const std::string value =
      "r101=" + c.r101_file().string() + ",r50=" + c.r50_file().string() + ",r18=" + c.r50_file().string();
  std::string err = input_error_of([&] { parse_pretrained_files(value, c.model->spec()); });
  EXPECT_TRUE(contains(err, "a ResNet-18 file is given, but multistage:r101,r50,r50 has no ResNet-18 encoder")) << err;
  EXPECT_TRUE(contains(err, "its depths: r101, r50")) << err;
  // The same through the loader, which is handed the files directly.
  PretrainedFiles files = c.both_files();
  files.emplace(18, c.r50_file());
  err = input_error_of([&] { load_pretrained(*c.model, files); });
  EXPECT_TRUE(contains(err, "no ResNet-18 encoder")) << err;
  EXPECT_TRUE(contains(err, c.r50_file().string())) << err;
  EXPECT_EQ(snapshot(*c.model), before);
}

TEST(PretrainedWeights, APlainPathOnAMixedDepthModelIsRefused) {
  MixedDepthCase c = mixed_depth_case("pretrained_plain_mixed", 25);
  const auto before = snapshot(*c.model);
  std::string err = input_error_of([&] { parse_pretrained_files(c.r101_file().string(), c.model->spec()); });
  EXPECT_TRUE(contains(err, "multistage:r101,r50,r50 has r101, r50 encoders")) << err;
  EXPECT_TRUE(contains(err, "r101=PATH,r50=PATH")) << err;
  err = input_error_of([&] { load_pretrained(*c.model, c.r101_file()); });
  EXPECT_TRUE(contains(err, "r101=PATH,r50=PATH")) << err;
  EXPECT_EQ(snapshot(*c.model), before);
  // One depth throughout: a plain path still names that depth's file.
  ModelOptions o;
  o.width = 0.0625;
  EXPECT_EQ(parse_pretrained_files("weights/r18.safetensors", parse_model_spec("multistage:r18,r18", o)),
            (PretrainedFiles{{18, "weights/r18.safetensors"}}));
}

TEST(PretrainedWeights, AShapeMismatchInTheSecondFileChangesNothing) {
  MixedDepthCase c = mixed_depth_case("pretrained_second_mismatch", 26);
  auto misshapen = c.r50;
  misshapen["layer3.5.conv1.weight"] = Tensor::zeros({4, 8, 1, 1});
  safetensors::save(c.r50_file(), misshapen, {}, c.r50_counters);
  const auto before = snapshot(*c.model);
  const std::string err = input_error_of([&] { load_pretrained(*c.model, c.both_files()); });
  EXPECT_TRUE(contains(err, c.r50_file().string())) << err;
  EXPECT_FALSE(contains(err, c.r101_file().string())) << "the ResNet-101 file fits: " << err;
  EXPECT_TRUE(contains(err, "stages.1.encoder.layer3.5.conv1.weight: expected [")) << err;
  EXPECT_TRUE(contains(err, "stages.2.encoder.layer3.5.conv1.weight: expected [")) << err;
  EXPECT_TRUE(contains(err, "nothing was loaded")) << err;
  EXPECT_EQ(snapshot(*c.model), before) << "stage 0's ResNet-101 weights fit, but must not be loaded alone";
}

TEST(PretrainedWeights, AFileOfAnotherDepthIsNamedAsSuch) {
  // The ResNet-101 file given for the ResNet-50 stages (the old one-file
  // behaviour): its extra layer3 blocks are named with the file's depth.
  MixedDepthCase c = mixed_depth_case("pretrained_wrong_depth", 27);
  const auto before = snapshot(*c.model);
  const std::string err =
      input_error_of([&] { load_pretrained(*c.model, PretrainedFiles{{101, c.r101_file()}, {50, c.r101_file()}}); });
  EXPECT_TRUE(contains(err, c.r101_file().string() + " (for the ResNet-50 encoders): it holds ResNet-101 weights"))
      << err;
  EXPECT_TRUE(contains(err, "layer3.6.conv1.weight")) << err;
  EXPECT_EQ(snapshot(*c.model), before);
}

TEST(PretrainedWeights, MalformedPretrainedValuesAreNamed) {
  ModelOptions o;
  o.width = 0.0625;
  const ModelSpec spec = parse_model_spec("multistage:r101,r50,r50", o);
  auto err = [&](const std::string& value) { return input_error_of([&] { parse_pretrained_files(value, spec); }); };
  EXPECT_TRUE(parse_pretrained_files("", spec).empty());
  EXPECT_TRUE(contains(err("r101=a.safetensors,b.safetensors"), "'b.safetensors' is not rD=PATH")) << err("r101=a,b");
  EXPECT_TRUE(contains(err("r101=a,r101=b"), "r101 is given twice")) << err("r101=a,r101=b");
  EXPECT_TRUE(contains(err("r101=a,r51=b"), "unsupported ResNet depth 51")) << err("r101=a,r51=b");
  EXPECT_TRUE(contains(err("r101=,r50=b"), "no file after 'r101='")) << err("r101=,r50=b");
}

}  // namespace
}  // namespace posenet::models
