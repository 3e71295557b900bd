// NaN and infinity propagate through every op as in PyTorch, on every
// backend: a non-finite weight or activation must never turn silently into
// a finite number (a NaN weight would otherwise train on unseen).
//
// Each check runs once on the CPU and once on CUDA (the *Cuda tests skip,
// with the reason, where no CUDA device is present).
#include <cmath>
#include <limits>
#include <vector>

#include "core/safetensors.h"
#include "kernels/batchnorm.h"
#include "kernels/conv.h"
#include "kernels/loss.h"
#include "kernels/optim.h"
#include "kernels/pool.h"
#include "test_util.h"

namespace posenet {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

Tensor on(const Device& device, const Shape& shape, const std::vector<double>& values, bool grad = false) {
  Tensor t = Tensor::from_data(shape, values, DType::F32).to(device);
  if (grad) t.set_requires_grad(true);
  return t;
}

std::vector<double> host(const Tensor& t) { return t.to(Device::cpu()).to_vector(); }

// Equal element by element, NaN equal to NaN.
void expect_same(const std::vector<double>& got, const std::vector<double>& want, const char* what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < got.size(); ++i) {
    if (std::isnan(want[i])) EXPECT_TRUE(std::isnan(got[i])) << what << "[" << i << "] = " << got[i] << ", want NaN";
    else EXPECT_EQ(got[i], want[i]) << what << "[" << i << "]";
  }
}

// torch.relu keeps NaN; its backward, threshold_backward(dy, y, 0), gives 0
// where y <= 0 and dy elsewhere, so the gradient passes where y is NaN.
void relu_keeps_nan(const Device& device) {
  Tensor x = on(device, {6}, {kNaN, -kInf, kInf, -1, 0, 2}, true);
  Tensor y = ops::relu(x);
  expect_same(host(y), {kNaN, 0, kInf, 0, 0, 2}, "relu");
  ops::sum(ops::mul(y, on(device, {6}, {3, 3, 3, 3, 3, 3}))).backward();
  expect_same(host(x.grad()), {3, 0, 3, 0, 0, 3}, "relu gradient");
}

// torch.max_pool2d: NaN wins its window and takes the gradient.
void max_pool_nan_wins(const Device& device) {
  Tensor x = on(device, {1, 2, 4, 1}, {0, kNaN, 5, 1, 7, 2, -kInf, -kInf}, true);
  Tensor y = ops::max_pool2d(x, ops::MaxPool2dParams::square(2, 2, 0));
  expect_same(host(y), {kNaN, 5}, "max_pool2d");
  ops::sum(y).backward();
  expect_same(host(x.grad()), {0, 1, 1, 0, 0, 0, 0, 0}, "max_pool2d gradient");
}

// Additions, products and convolutions (through BLAS / cuDNN) carry NaN to
// exactly the outputs that depend on it.
void add_mul_conv_propagate(const Device& device) {
  Tensor a = on(device, {3}, {kNaN, 1, kInf});
  Tensor b = on(device, {3}, {1, 2, 0});
  expect_same(host(ops::add(a, b)), {kNaN, 3, kInf}, "add");
  expect_same(host(ops::mul(a, b)), {kNaN, 2, kNaN}, "mul");  // inf * 0 = NaN
  // 1x1 kernel: only the NaN pixel's output is NaN.
  Tensor x = on(device, {1, 1, 3, 2}, {1, 2, kNaN, 4, 5, 6});
  Tensor w = on(device, {1, 1, 1, 2}, {1, 1});
  expect_same(host(ops::conv2d(x, w, Tensor(), {})), {3, kNaN, 11}, "conv2d");
  // A zero weight does not hide a NaN input: NaN * 0 = NaN.
  Tensor w0 = on(device, {1, 1, 1, 2}, {0, 0});
  expect_same(host(ops::conv2d(x, w0, Tensor(), {})), {0, kNaN, 0}, "conv2d, zero weight");
}

// Training batch norm: a NaN or infinite value makes its channel's statistics
// NaN, so the whole channel's output and running_var are NaN; the other
// channels are untouched.
void batch_norm_training_propagates(const Device& device) {
  // 4 rows x 3 channels: channel 0 finite, channel 1 holds a NaN, channel 2 an inf.
  Tensor x = on(device, {1, 2, 2, 3}, {1, 2, 3, 2, kNaN, 4, 3, 5, kInf, 4, 6, 7});
  Tensor weight = on(device, {3}, {1, 1, 1}), bias = on(device, {3}, {0, 0, 0});
  Tensor rm = on(device, {3}, {0, 0, 0}), rv = on(device, {3}, {1, 1, 1});
  Tensor y = ops::batch_norm(x, weight, bias, rm, rv, {});
  const auto yv = host(y);
  for (size_t r = 0; r < 4; ++r) {
    EXPECT_TRUE(std::isfinite(yv[r * 3])) << "row " << r;
    EXPECT_TRUE(std::isnan(yv[r * 3 + 1])) << "row " << r;
    EXPECT_TRUE(std::isnan(yv[r * 3 + 2])) << "row " << r;
  }
  const auto rmv = host(rm), rvv = host(rv);
  EXPECT_TRUE(std::isfinite(rmv[0]) && std::isfinite(rvv[0]));
  EXPECT_TRUE(std::isnan(rmv[1]));
  EXPECT_TRUE(std::isnan(rvv[1]));
  EXPECT_FALSE(std::isfinite(rmv[2]));  // inf (a sum) or NaN (Welford), as torch's CPU and CUDA kernels
  EXPECT_TRUE(std::isnan(rvv[2]));
}

// Eval batch norm: a NaN running_var or running_mean (a poisoned checkpoint)
// makes its channel NaN; a negative running_var gives sqrt(<0) = NaN too.
void batch_norm_eval_propagates(const Device& device) {
  Tensor x = on(device, {1, 1, 2, 4}, {1, 2, 3, 4, 5, 6, 7, 8});
  Tensor weight = on(device, {4}, {1, 1, 1, 1}), bias = on(device, {4}, {0, 0, 0, 0});
  Tensor rm = on(device, {4}, {0, kNaN, 0, 0}), rv = on(device, {4}, {1, 1, kNaN, -2});
  ops::BatchNormParams p;
  p.training = false;
  const auto yv = host(ops::batch_norm(x, weight, bias, rm, rv, p));
  for (size_t r = 0; r < 2; ++r) {
    EXPECT_TRUE(std::isfinite(yv[r * 4])) << "row " << r;
    for (size_t c = 1; c < 4; ++c) EXPECT_TRUE(std::isnan(yv[r * 4 + c])) << "row " << r << ", channel " << c;
  }
}

// The fused BN + residual + ReLU is bn, add, relu in torch: a NaN residual
// gives a NaN output (not 0), and its gradient passes the ReLU there.
void fused_batch_norm_add_relu_propagates(const Device& device) {
  Tensor x = on(device, {1, 2, 2, 1}, {1, 2, 3, 4}, true);
  Tensor residual = on(device, {1, 2, 2, 1}, {0, kNaN, -100, 0}, true);
  Tensor weight = on(device, {1}, {1}, true), bias = on(device, {1}, {0}, true);
  Tensor rm = on(device, {1}, {0}), rv = on(device, {1}, {1});
  Tensor y = ops::batch_norm_add_relu(x, weight, bias, rm, rv, {}, residual, true);
  const auto yv = host(y);
  EXPECT_TRUE(std::isnan(yv[1]));
  EXPECT_EQ(yv[2], 0.0);
  EXPECT_GT(yv[3], 0.0);
  ops::sum(ops::mul(y, on(device, {1, 2, 2, 1}, {1, 2, 3, 4}))).backward();
  // dresidual is the ReLU-masked gradient: 0 where y <= 0, dy elsewhere (NaN included).
  expect_same(host(residual.grad()), {0, 2, 0, 4}, "residual gradient");
}

// torch's JointsMSELoss: 0.5 * mean((w * pred - w * target)^2): NaN and inf
// reach the loss and the gradient, even where the weight is 0 (0 * inf = NaN).
void loss_propagates(const Device& device) {
  Tensor target = on(device, {1, 1, 2, 2}, {0, 0, 0, 0});
  Tensor weight = on(device, {1, 2}, {1, 0});
  Tensor pred = on(device, {1, 1, 2, 2}, {kNaN, 0, 0, 0}, true);
  Tensor loss = ops::weighted_mse(pred, target, weight);
  EXPECT_TRUE(std::isnan(loss.to(Device::cpu()).item()));
  loss.backward();
  EXPECT_TRUE(std::isnan(host(pred.grad())[0]));

  Tensor pred_inf = on(device, {1, 1, 2, 2}, {kInf, 0, 0, 0});
  EXPECT_EQ(ops::weighted_mse(pred_inf, target, weight).to(Device::cpu()).item(), kInf);
  Tensor pred_inf_unweighted = on(device, {1, 1, 2, 2}, {0, kInf, 0, 0});
  EXPECT_TRUE(std::isnan(ops::weighted_mse(pred_inf_unweighted, target, weight).to(Device::cpu()).item()));
}

// torch.optim: a NaN gradient makes the parameter and the state NaN; an
// infinite one gives Adam inf / inf = NaN. Nothing is skipped or clamped.
void optimizers_propagate(const Device& device) {
  {
    Tensor p = on(device, {3}, {1, 1, 1}, true);
    Adam adam({p}, {0.1, 0.9, 0.999, 1e-8, 0.0});
    p.set_grad(on(device, {3}, {kNaN, kInf, 0.5}));
    adam.step();
    const auto pv = host(p);
    EXPECT_TRUE(std::isnan(pv[0]));
    EXPECT_TRUE(std::isnan(pv[1]));
    EXPECT_TRUE(std::isfinite(pv[2]));
    EXPECT_TRUE(std::isnan(host(adam.state().at("exp_avg.0"))[0]));
    EXPECT_TRUE(std::isnan(host(adam.state().at("exp_avg_sq.0"))[0]));
  }
  {
    Tensor p = on(device, {3}, {1, kNaN, 1}, true);
    SGD sgd({p}, {0.1, 0.9, 0.1, false});
    p.set_grad(on(device, {3}, {kNaN, 0, kInf}));
    sgd.step();
    const auto pv = host(p);
    EXPECT_TRUE(std::isnan(pv[0]));
    EXPECT_TRUE(std::isnan(pv[1]));  // a NaN weight stays NaN through weight decay
    EXPECT_EQ(pv[2], -kInf);
  }
}

// Reading weights refuses NaN and infinity in every float dtype, by bit
// pattern; the largest finite values and integers with those bits pass.
TEST(NonFinite, SafetensorsReadRefusesNonFiniteFloatsOfEveryDtype) {
  const auto dir = testing::temp_dir("non_finite_dtypes");
  struct Case {
    const char* dtype;
    std::vector<uint8_t> bad, good;  // one element each, little-endian
    const char* kind;
  };
  const std::vector<Case> cases = {
      {"F32", {0x00, 0x00, 0x80, 0xFF}, {0xFF, 0xFF, 0x7F, 0x7F}, "-inf"},
      {"F64", {0, 0, 0, 0, 0, 0, 0xF8, 0x7F}, {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xEF, 0x7F}, "NaN"},
      {"F16", {0x00, 0x7C}, {0xFF, 0x7B}, "at element 1"},
      {"BF16", {0xC1, 0x7F}, {0x7F, 0x7F}, "at element 1"},
      {"F8_E5M2", {0x7C}, {0x7B}, "at element 1"},
      {"F8_E4M3", {0xFF}, {0x7E}, "at element 1"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.dtype);
    auto two = [&](const std::vector<uint8_t>& second) {
      std::vector<uint8_t> bytes = c.good;
      bytes.insert(bytes.end(), second.begin(), second.end());
      return safetensors::RawTensor{c.dtype, {2}, bytes};
    };
    const auto path = dir / (std::string(c.dtype) + ".safetensors");
    safetensors::save(path, {}, {}, {{"w", two(c.good)}, {"i", {"I32", {1}, {0xFF, 0xFF, 0x80, 0x7F}}}});
    EXPECT_NO_THROW(safetensors::File::read(path));
    safetensors::save(path, {}, {}, {{"w", two(c.bad)}});
    try {
      safetensors::File::read(path);
      ADD_FAILURE() << "accepted";
    } catch (const InputError& e) {
      const std::string msg = e.what();
      for (const std::string& part : std::vector<std::string>{path.string(), "tensor 'w'", c.kind})
        EXPECT_NE(msg.find(part), std::string::npos) << part << " not in " << msg;
    }
  }
}

#define PN_NON_FINITE_TESTS(name, check)      \
  TEST(NonFinite, name) { check(Device::cpu()); } \
  TEST(NonFiniteCuda, name) {                 \
    PN_REQUIRE_CUDA();                        \
    check(Device::cuda());                    \
  }

PN_NON_FINITE_TESTS(ReluKeepsNaNAndPassesItsGradient, relu_keeps_nan)
PN_NON_FINITE_TESTS(MaxPoolNaNWinsAndTakesTheGradient, max_pool_nan_wins)
PN_NON_FINITE_TESTS(AddMulAndConvPropagate, add_mul_conv_propagate)
PN_NON_FINITE_TESTS(BatchNormTrainingMakesTheChannelNaN, batch_norm_training_propagates)
PN_NON_FINITE_TESTS(BatchNormEvalWithNaNRunningStatsMakesTheChannelNaN, batch_norm_eval_propagates)
PN_NON_FINITE_TESTS(FusedBatchNormAddReluKeepsNaN, fused_batch_norm_add_relu_propagates)
PN_NON_FINITE_TESTS(LossPropagates, loss_propagates)
PN_NON_FINITE_TESTS(OptimizersPropagate, optimizers_propagate)

}  // namespace
}  // namespace posenet
