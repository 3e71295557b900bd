#include <cmath>

#include "core/safetensors.h"
#include "kernels/loss.h"
#include "kernels/optim.h"
#include "layers/batchnorm2d.h"
#include "layers/conv2d.h"
#include "layers/conv_transpose2d.h"
#include "layers/init.h"
#include "layers/max_pool2d.h"
#include "layers/relu.h"
#include "layers/resnet_blocks.h"
#include "layers/sequential.h"
#include "test_util.h"

namespace posenet {
namespace {

namespace fs = std::filesystem;
using testing::random_tensor;

std::vector<std::string> names_of(const NamedTensors& named) {
  std::vector<std::string> out;
  for (const auto& [name, t] : named) out.push_back(name);
  return out;
}

std::map<std::string, Shape> shapes_of(const std::map<std::string, Tensor>& state) {
  std::map<std::string, Shape> out;
  for (const auto& [name, t] : state) out[name] = t.shape();
  return out;
}

// torchvision.models.resnet.BasicBlock(64, 128, stride=2, downsample=...)
// as built by ResNet._make_layer: list(block.named_parameters()) and
// block.state_dict() (num_batches_tracked, which posenet does not keep,
// left out of the buffers).
TEST(Layers, BasicBlockNamesMatchTorchvision) {
  Generator gen(1);
  BasicBlock block(64, 128, 2, gen);
  EXPECT_EQ(names_of(block.named_parameters()),
            (std::vector<std::string>{"conv1.weight", "bn1.weight", "bn1.bias", "conv2.weight", "bn2.weight",
                                      "bn2.bias", "downsample.0.weight", "downsample.1.weight",
                                      "downsample.1.bias"}));
  EXPECT_EQ(names_of(block.named_buffers()),
            (std::vector<std::string>{"bn1.running_mean", "bn1.running_var", "bn2.running_mean", "bn2.running_var",
                                      "downsample.1.running_mean", "downsample.1.running_var"}));
  std::map<std::string, Shape> expected = {
      {"conv1.weight", {128, 64, 3, 3}},     {"bn1.weight", {128}},           {"bn1.bias", {128}},
      {"bn1.running_mean", {128}},           {"bn1.running_var", {128}},      {"conv2.weight", {128, 128, 3, 3}},
      {"bn2.weight", {128}},                 {"bn2.bias", {128}},             {"bn2.running_mean", {128}},
      {"bn2.running_var", {128}},            {"downsample.0.weight", {128, 64, 1, 1}},
      {"downsample.1.weight", {128}},        {"downsample.1.bias", {128}},    {"downsample.1.running_mean", {128}},
      {"downsample.1.running_var", {128}}};
  EXPECT_EQ(shapes_of(block.state_dict()), expected);
  EXPECT_EQ(block.parameters().size(), 9u);

  // Same width and stride 1: no downsample branch (as torchvision).
  BasicBlock plain(64, 64, 1, gen);
  EXPECT_EQ(plain.downsample, nullptr);
  EXPECT_EQ(names_of(plain.named_parameters()),
            (std::vector<std::string>{"conv1.weight", "bn1.weight", "bn1.bias", "conv2.weight", "bn2.weight",
                                      "bn2.bias"}));
}

// torchvision.models.resnet.Bottleneck(256, 128, stride=2) (v1.5: the stride
// is on conv2) with its downsample, and Bottleneck(512, 128) without.
TEST(Layers, BottleneckNamesMatchTorchvision) {
  Generator gen(2);
  Bottleneck block(256, 128, 2, gen);
  EXPECT_EQ(names_of(block.named_parameters()),
            (std::vector<std::string>{"conv1.weight", "bn1.weight", "bn1.bias", "conv2.weight", "bn2.weight",
                                      "bn2.bias", "conv3.weight", "bn3.weight", "bn3.bias", "downsample.0.weight",
                                      "downsample.1.weight", "downsample.1.bias"}));
  auto shapes = shapes_of(block.state_dict());
  EXPECT_EQ(shapes.at("conv1.weight"), (Shape{128, 256, 1, 1}));
  EXPECT_EQ(shapes.at("conv2.weight"), (Shape{128, 128, 3, 3}));
  EXPECT_EQ(shapes.at("conv3.weight"), (Shape{512, 128, 1, 1}));
  EXPECT_EQ(shapes.at("downsample.0.weight"), (Shape{512, 256, 1, 1}));
  EXPECT_EQ(shapes.at("bn3.running_var"), (Shape{512}));
  EXPECT_EQ(shapes.size(), 12u + 8u);  // 12 parameters, 4 BNs x 2 running stats
  EXPECT_EQ(block.conv1->options().stride, 1);
  EXPECT_EQ(block.conv2->options().stride, 2);
  EXPECT_EQ(block.downsample->size(), 2u);
  EXPECT_EQ(block.out_channels(), 512);

  Bottleneck inner(512, 128, 1, gen);
  EXPECT_EQ(inner.downsample, nullptr);
  EXPECT_EQ(inner.named_parameters().size(), 9u);
  // The first block of layer1 (64 -> 256 channels, stride 1) has one.
  Bottleneck first(64, 64, 1, gen);
  ASSERT_NE(first.downsample, nullptr);
  EXPECT_EQ(first.downsample->named_parameters().front().second.shape(), (Shape{256, 1, 1, 64}));
}

// The keys of a saved block are exactly torchvision's state_dict keys,
// num_batches_tracked (I64 scalars) included.
TEST(Layers, SavedBlockHasTorchvisionStateDictKeys) {
  Generator gen(15);
  BasicBlock block(4, 8, 2, gen);
  auto dir = testing::temp_dir("layers_keys");
  block.save(dir / "block.safetensors");
  auto file = safetensors::File::read(dir / "block.safetensors");
  std::vector<std::string> keys;
  for (const auto& e : file.entries()) keys.push_back(e.name);
  std::vector<std::string> torchvision = {
      "conv1.weight", "bn1.weight", "bn1.bias", "bn1.running_mean", "bn1.running_var", "bn1.num_batches_tracked",
      "conv2.weight", "bn2.weight", "bn2.bias", "bn2.running_mean", "bn2.running_var", "bn2.num_batches_tracked",
      "downsample.0.weight", "downsample.1.weight", "downsample.1.bias", "downsample.1.running_mean",
      "downsample.1.running_var", "downsample.1.num_batches_tracked"};
  std::sort(torchvision.begin(), torchvision.end());
  EXPECT_EQ(keys, torchvision);
  EXPECT_EQ(file.entry("bn2.num_batches_tracked").dtype, "I64");
  EXPECT_EQ(file.entry("bn2.num_batches_tracked").shape, Shape{});
  EXPECT_EQ(file.entry("conv1.weight").dtype, "F32");
  fs::remove_all(dir);
}

TEST(Layers, NestedSequentialNamesAreDotted) {
  Generator gen(3);
  auto layer1 = std::make_shared<Sequential>();
  layer1->push_back(std::make_shared<BasicBlock>(8, 8, 1, gen));
  layer1->push_back(std::make_shared<BasicBlock>(8, 8, 1, gen));
  Sequential net;
  net.push_back(std::make_shared<ReLU>());
  net.push_back(layer1);
  auto names = names_of(net.named_parameters());
  ASSERT_EQ(names.size(), 12u);
  EXPECT_EQ(names.front(), "1.0.conv1.weight");
  EXPECT_EQ(names.back(), "1.1.bn2.bias");
  EXPECT_EQ(names_of(net.named_buffers()).front(), "1.0.bn1.running_mean");
}

TEST(Layers, RegistrationRefusesBadNames) {
  Module m("Test");
  m.register_parameter("w", Tensor::zeros({2}));
  EXPECT_THROW(m.register_parameter("w", Tensor::zeros({2})), Error);
  EXPECT_THROW(m.register_buffer("w", Tensor::zeros({2})), Error);
  EXPECT_THROW(m.register_parameter("a.b", Tensor::zeros({2})), Error);
  EXPECT_THROW(m.register_parameter("", Tensor::zeros({2})), Error);
  EXPECT_THROW(m.register_parameter("c", Tensor::zeros({2}), TorchLayout::ChannelsLastToSecond), Error);
  EXPECT_THROW(m.forward(Tensor::zeros({1})), Error);
}

TEST(Layers, StateDictConvertsKRSCToOIHWAndBack) {
  Generator gen(4);
  Conv2d conv({.in_channels = 3, .out_channels = 5, .kernel_size = 3, .bias = true}, gen);
  const Tensor& w = conv.weight();
  ASSERT_EQ(w.shape(), (Shape{5, 3, 3, 3}));
  auto sd = conv.state_dict();
  Tensor oihw = sd.at("weight");
  ASSERT_EQ(oihw.shape(), (Shape{5, 3, 3, 3}));
  auto krsc = w.to_vector(), torch = oihw.to_vector();
  for (int k = 0; k < 5; ++k)
    for (int r = 0; r < 3; ++r)
      for (int s = 0; s < 3; ++s)
        for (int c = 0; c < 3; ++c)
          ASSERT_EQ(torch[size_t(((k * 3 + c) * 3 + r) * 3 + s)], krsc[size_t(((k * 3 + r) * 3 + s) * 3 + c)]);

  // Non-square channel counts make a wrong permutation visible in shapes.
  ConvTranspose2d deconv({.in_channels = 6, .out_channels = 2, .kernel_size = 4, .stride = 2, .padding = 1}, gen);
  ASSERT_EQ(deconv.weight().shape(), (Shape{6, 4, 4, 2}));
  Tensor torch_deconv = deconv.state_dict().at("weight");
  ASSERT_EQ(torch_deconv.shape(), (Shape{6, 2, 4, 4}));
  auto stored = deconv.weight().to_vector(), exported = torch_deconv.to_vector();
  for (int i = 0; i < 6; ++i)
    for (int o = 0; o < 2; ++o)
      for (int r = 0; r < 4; ++r)
        for (int s = 0; s < 4; ++s)
          ASSERT_EQ(exported[size_t(((i * 2 + o) * 4 + r) * 4 + s)], stored[size_t(((i * 4 + r) * 4 + s) * 2 + o)]);

  // Load into differently seeded modules: the stored weights come back.
  Generator other(99);
  Conv2d conv2({.in_channels = 3, .out_channels = 5, .kernel_size = 3, .bias = true}, other);
  ASSERT_NE(conv2.weight().to_vector(), krsc);
  auto report = conv2.load_state_dict(sd);
  EXPECT_TRUE(report.ok());
  EXPECT_EQ(report.loaded, (std::vector<std::string>{"weight", "bias"}));
  EXPECT_EQ(conv2.weight().to_vector(), krsc);

  // And through a safetensors file.
  auto dir = testing::temp_dir("layers_roundtrip");
  deconv.save(dir / "deconv.safetensors");
  auto file = safetensors::File::read(dir / "deconv.safetensors");
  EXPECT_EQ(file.entry("weight").shape, (Shape{6, 2, 4, 4}));
  EXPECT_EQ(file.metadata().at("format"), "pt");
  ConvTranspose2d deconv2({.in_channels = 6, .out_channels = 2, .kernel_size = 4, .stride = 2, .padding = 1}, other);
  deconv2.load(dir / "deconv.safetensors");
  EXPECT_EQ(deconv2.weight().to_vector(), stored);
  fs::remove_all(dir);
}

TEST(Layers, LoadConvertsCheckpointDtypes) {
  Generator gen(17);
  Conv2d conv({.in_channels = 2, .out_channels = 3, .kernel_size = 3}, gen);
  std::map<std::string, Tensor> half;
  for (const auto& [name, t] : conv.state_dict()) half[name] = t.to(DType::BF16);
  Conv2d other({.in_channels = 2, .out_channels = 3, .kernel_size = 3}, gen);
  EXPECT_TRUE(other.load_state_dict(half).ok());
  EXPECT_EQ(other.weight().dtype(), DType::F32);
  EXPECT_EQ(other.state_dict().at("weight").to_vector(), half.at("weight").to_vector());
}

TEST(Layers, StrictLoadListsEveryProblemByName) {
  Generator gen(5);
  BasicBlock block(4, 8, 2, gen);
  auto sd = block.state_dict();
  sd.erase("bn2.running_var");                         // missing
  sd["fc.weight"] = Tensor::zeros({3});                // unexpected
  sd["conv2.weight"] = Tensor::zeros({8, 8, 1, 1});    // wrong shape
  sd["bn1.num_batches_tracked"] = Tensor::scalar(7);   // torchvision's: ignored
  const auto before = block.conv1->weight().to_vector();
  Generator other(6);
  BasicBlock target(4, 8, 2, other);
  const auto target_before = target.conv1->weight().to_vector();
  try {
    target.load_state_dict(sd, true, "ckpt.safetensors");
    FAIL() << "strict load accepted a mismatching state";
  } catch (const InputError& e) {
    std::string msg = e.what();
    for (const char* needle : {"ckpt.safetensors", "bn2.running_var", "fc.weight", "conv2.weight", "[8, 8, 3, 3]",
                               "[8, 8, 1, 1]"})
      EXPECT_NE(msg.find(needle), std::string::npos) << needle << " not in: " << msg;
    EXPECT_EQ(msg.find("num_batches_tracked"), std::string::npos) << msg;
  }
  EXPECT_EQ(target.conv1->weight().to_vector(), target_before) << "strict failure must modify nothing";

  // Lenient: loads what matches, reports the rest.
  auto report = target.load_state_dict(sd, false);
  EXPECT_EQ(report.missing, std::vector<std::string>{"bn2.running_var"});
  EXPECT_EQ(report.unexpected, std::vector<std::string>{"fc.weight"});
  ASSERT_EQ(report.mismatched.size(), 1u);
  EXPECT_NE(report.mismatched[0].find("conv2.weight"), std::string::npos);
  EXPECT_EQ(target.conv1->weight().to_vector(), before);
  EXPECT_FALSE(report.ok());
  EXPECT_NE(report.str().find("fc.weight"), std::string::npos);
}

TEST(Layers, LoadsTorchvisionStyleFileWithInt64Counters) {
  Generator gen(7);
  BatchNorm2d bn(3);
  auto dir = testing::temp_dir("layers_tv");
  auto sd = bn.state_dict();
  sd["weight"] = Tensor::from_data({3}, std::vector<float>{1, 2, 3});
  safetensors::RawTensor counter{"I64", {}, {5, 1, 0, 0, 0, 0, 0, 0}};  // 261
  safetensors::save(dir / "bn.safetensors", sd, {}, {{"num_batches_tracked", counter}});
  BatchNorm2d loaded(3);
  EXPECT_TRUE(loaded.load(dir / "bn.safetensors").ok());
  EXPECT_EQ(loaded.weight().to_vector(), (std::vector<double>{1, 2, 3}));
  EXPECT_EQ(loaded.num_batches_tracked(), 261);

  // Another integer entry is an error naming the file and the entry.
  safetensors::save(dir / "bad.safetensors", sd, {}, {{"weight_int", counter}});
  try {
    loaded.load(dir / "bad.safetensors");
    FAIL() << "an I64 parameter was accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("bad.safetensors"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("weight_int"), std::string::npos) << e.what();
  }
  fs::remove_all(dir);
}

TEST(Layers, TrainEvalIsRecursive) {
  Generator gen(8);
  Bottleneck block(8, 4, 1, gen);
  EXPECT_TRUE(block.is_training());
  EXPECT_TRUE(block.downsample->is_training());
  block.eval();
  EXPECT_FALSE(block.is_training());
  EXPECT_FALSE(block.bn3->is_training());
  EXPECT_FALSE(std::dynamic_pointer_cast<BatchNorm2d>((*block.downsample)[1])->is_training());
  block.train();
  EXPECT_TRUE(block.bn1->is_training());
  // A child registered into an eval-mode parent takes its mode.
  Sequential seq;
  seq.eval();
  auto bn = seq.push_back(std::make_shared<BatchNorm2d>(2));
  EXPECT_FALSE(bn->is_training());
}

TEST(Layers, BatchNormTrainAndEvalModes) {
  Generator gen(9);
  BatchNorm2d bn(3);
  Tensor x = random_tensor({2, 4, 4, 3}, gen, DType::F32, 1.0, 3.0);  // mean ~2
  Tensor y = bn.forward(x);
  EXPECT_EQ(bn.num_batches_tracked(), 1);
  // Training: batch statistics (output ~ zero mean) and updated running stats.
  auto yv = y.to_vector();
  for (int c = 0; c < 3; ++c) {
    double mean = 0;
    for (size_t i = size_t(c); i < yv.size(); i += 3) mean += yv[i];
    EXPECT_NEAR(mean / 32.0, 0.0, 1e-4);
  }
  auto rm = bn.running_mean().to_vector();
  for (double v : rm) EXPECT_NEAR(v, 0.2, 0.03);  // 0.9 * 0 + 0.1 * ~2
  // Eval: running statistics, nothing updated.
  bn.eval();
  Tensor ye = bn.forward(x);
  EXPECT_EQ(bn.num_batches_tracked(), 1);
  EXPECT_EQ(bn.running_mean().to_vector(), rm);
  auto rv = bn.running_var().to_vector();
  auto xv = x.to_vector(), yev = ye.to_vector();
  for (size_t i = 0; i < xv.size(); ++i)
    EXPECT_NEAR(yev[i], (xv[i] - rm[i % 3]) / std::sqrt(rv[i % 3] + 1e-5), 1e-4);
}

TEST(Layers, Conv2dInitMatchesKaimingFanOut) {
  Generator gen(10);
  Conv2d conv({.in_channels = 64, .out_channels = 128, .kernel_size = 3, .bias = false}, gen);
  EXPECT_FALSE(conv.bias().defined());
  auto v = conv.weight().to_vector();
  double mean = 0, sq = 0;
  for (double x : v) mean += x;
  mean /= double(v.size());
  for (double x : v) sq += (x - mean) * (x - mean);
  const double stddev = std::sqrt(sq / double(v.size() - 1));
  const double expected = std::sqrt(2.0 / (128.0 * 9.0));  // fan_out = out * kh * kw
  EXPECT_NEAR(stddev, expected, 0.02 * expected);  // 73728 samples: ~0.3% noise
  EXPECT_NEAR(mean, 0.0, 0.02 * expected);
  // Biases start at zero.
  Conv2d with_bias({.in_channels = 2, .out_channels = 3, .kernel_size = 1}, gen);
  EXPECT_EQ(with_bias.bias().to_vector(), (std::vector<double>{0, 0, 0}));
}

TEST(Layers, SameSeedGivesIdenticalWeights) {
  auto weights = [](uint64_t seed) {
    Generator gen(seed);
    Bottleneck block(16, 8, 2, gen);
    std::vector<double> all;
    for (const auto& [name, t] : block.state_dict()) {
      auto v = t.to_vector();
      all.insert(all.end(), v.begin(), v.end());
    }
    return all;
  };
  EXPECT_EQ(weights(42), weights(42));
  EXPECT_NE(weights(42), weights(43));
}

TEST(Layers, ToDtypeKeepsHandlesAndZeroGradDropsGrads) {
  Generator gen(11);
  BasicBlock block(3, 4, 1, gen);
  auto params = block.parameters();
  params[0].set_grad(Tensor::zeros(params[0].shape()));
  const auto before = params[0].to_vector();
  block.to(DType::F64);
  EXPECT_EQ(params[0].dtype(), DType::F64);  // the handle held before sees it
  EXPECT_EQ(block.conv1->weight().dtype(), DType::F64);
  EXPECT_EQ(block.bn1->running_var().dtype(), DType::F64);
  EXPECT_EQ(params[0].grad().dtype(), DType::F64);
  EXPECT_EQ(params[0].to_vector(), before);
  EXPECT_TRUE(params[0].requires_grad());
  block.zero_grad();
  EXPECT_FALSE(params[0].grad().defined());
  block.to(Device::cpu());  // a no-op on the same device
  EXPECT_EQ(params[0].to_vector(), before);
}

TEST(Layers, ToCudaAndBackKeepsValues) {
  PN_REQUIRE_CUDA();
  Generator gen(12);
  BasicBlock block(3, 4, 2, gen);
  auto params = block.parameters();
  auto before = block.state_dict();
  std::map<std::string, std::vector<double>> values;
  for (auto& [n, t] : before) values[n] = t.to_vector();
  block.to(Device::cuda(0));
  EXPECT_FALSE(params[0].is_cpu());
  EXPECT_FALSE(block.bn1->running_mean().is_cpu());
  for (auto& [n, t] : block.state_dict()) EXPECT_EQ(t.to_vector(), values[n]) << n;
  block.to(Device::cpu());
  EXPECT_TRUE(params[0].is_cpu());
  for (auto& [n, t] : block.state_dict()) EXPECT_EQ(t.to_vector(), values[n]) << n;
}

// The layers hand their options to the ops: output extents follow PyTorch's
// formulas, and a layer equals the op called with its own weights.
TEST(Layers, ForwardPassesOptionsToTheOps) {
  Generator gen(16);
  Conv2d conv({.in_channels = 3, .out_channels = 4, .kernel_size = 3, .stride = 2, .padding = 2, .dilation = 2}, gen);
  Tensor x = random_tensor({1, 9, 9, 3}, gen, DType::F32);
  Tensor y = conv.forward(x);
  EXPECT_EQ(y.shape(), (Shape{1, 5, 5, 4}));  // (9 + 4 - 4 - 1) / 2 + 1
  EXPECT_TENSOR_NEAR(y, ops::conv2d(x, conv.weight(), conv.bias(), ops::Conv2dParams::square(2, 2, 2)), 1e-6, 0);

  ConvTranspose2d deconv({.in_channels = 3, .out_channels = 2, .kernel_size = 4, .stride = 2, .padding = 1}, gen);
  Tensor z = deconv.forward(random_tensor({1, 5, 5, 3}, gen, DType::F32));
  EXPECT_EQ(z.shape(), (Shape{1, 10, 10, 2}));  // (5 - 1) * 2 - 2 + 3 + 1
  ConvTranspose2d odd({.in_channels = 3, .out_channels = 2, .kernel_size = 3, .stride = 2, .padding = 1,
                       .output_padding = 1},
                      gen);
  EXPECT_EQ(odd.forward(random_tensor({1, 5, 5, 3}, gen, DType::F32)).shape(), (Shape{1, 10, 10, 2}));
  EXPECT_THROW(ConvTranspose2d({.in_channels = 3, .out_channels = 2, .kernel_size = 3, .stride = 2,
                                .output_padding = 2},
                               gen),
               Error);

  MaxPool2d pool(3, 2, 1);
  EXPECT_EQ(pool.forward(random_tensor({2, 8, 8, 5}, gen, DType::F32)).shape(), (Shape{2, 4, 4, 5}));
  EXPECT_THROW(MaxPool2d(2, 2, 2), Error);

  // A Bottleneck with stride 2 halves the extent and expands the channels.
  Bottleneck block(8, 4, 2, gen);
  EXPECT_EQ(block.forward(random_tensor({2, 6, 6, 8}, gen, DType::F32)).shape(), (Shape{2, 3, 3, 16}));
}

TEST(Layers, SmallConvNetLearnsUnderAdam) {
  Generator gen(13);
  Sequential net;
  net.push_back(std::make_shared<Conv2d>(
      Conv2dOptions{.in_channels = 3, .out_channels = 16, .kernel_size = 3, .padding = 1, .bias = false}, gen));
  net.push_back(std::make_shared<BatchNorm2d>(16));
  net.push_back(std::make_shared<ReLU>());
  net.push_back(std::make_shared<MaxPool2d>(2, 2));
  net.push_back(std::make_shared<Conv2d>(
      Conv2dOptions{.in_channels = 16, .out_channels = 2, .kernel_size = 3, .padding = 1}, gen));
  Tensor x = random_tensor({2, 16, 16, 3}, gen, DType::F32);
  Tensor target = random_tensor({2, 8, 8, 2}, gen, DType::F32, -0.5, 0.5);
  Tensor joint_weight = Tensor::full({2, 2}, 1.0);

  Adam adam(net.parameters(), AdamOptions{.lr = 0.02});
  double first = 0, last = 0;
  for (int step = 0; step < 50; ++step) {
    adam.zero_grad();
    Tensor loss = ops::weighted_mse(net.forward(x), target, joint_weight);
    if (step == 0) first = loss.item();
    last = loss.item();
    loss.backward();
    adam.step();
  }
  EXPECT_LT(last, first / 5.0) << "loss " << first << " -> " << last;
  EXPECT_TRUE(std::isfinite(last));
}

// A residual block's float64 gradient check through its input (2x5x5x3)
// and every parameter, with non-trivial BN affine parameters so that their
// gradients are exercised. Returns how many tensors were checked.
size_t gradcheck_block(Module& block, Generator& gen, const Shape& expected_output) {
  block.to(DType::F64);
  block.train();
  for (auto& [name, t] : block.named_parameters())
    if (name.find("bn") != std::string::npos || name.find("downsample.1") != std::string::npos) {
      Tensor v = random_tensor(t.shape(), gen, DType::F64, 0.5, 1.5);
      t.copy_(v);
    }
  std::vector<Tensor> inputs = {random_tensor({2, 5, 5, 3}, gen)};
  for (const Tensor& p : block.parameters()) inputs.push_back(p);
  block.zero_grad();
  EXPECT_EQ(block.forward(inputs[0]).shape(), expected_output);
  auto result = testing::gradcheck([&](const std::vector<Tensor>& in) { return block.forward(in[0]); }, inputs);
  EXPECT_GRADCHECK(result, 1e-5);
  return inputs.size();
}

TEST(Layers, BasicBlockGradcheckThroughAllParameters) {
  Generator gen(14);
  BasicBlock block(3, 4, 2, gen);  // with the downsample branch
  EXPECT_EQ(gradcheck_block(block, gen, Shape{2, 3, 3, 4}), 1u + 9u);
}

// The same check for the Bottleneck: stride 2 on the 3x3 conv, an odd input
// extent (5 -> 3) and the downsample branch (inplanes != planes * 4), so
// conv1..3, bn1..3 and downsample.0/.1 all take part.
TEST(Layers, BottleneckGradcheckThroughAllParameters) {
  Generator gen(15);
  Bottleneck block(3, 2, 2, gen);
  ASSERT_TRUE(block.downsample);
  // 3 convs, 3 BNs (2 each), downsample conv + BN (2)
  EXPECT_EQ(gradcheck_block(block, gen, Shape{2, 3, 3, 8}), 1u + 12u);
}

}  // namespace
}  // namespace posenet
