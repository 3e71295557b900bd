// The batched Gaussian-target op and the fused Gaussian weighted-MSE loss:
// exactly the trainer's per-sample targets, the loss equal to weighted_mse on
// stored targets, bad input. Reference, finite differences and CUDA parity
// are rows of the op table (tests/op_table/cases_loss.cpp).
#include <cmath>

#include "kernels/loss.h"
#include "kernels/targets.h"
#include "test_util.h"
#include "train/targets.h"

namespace posenet {
namespace {

using testing::gradcheck;
using testing::random_tensor;

constexpr int J = train::kNumJoints;

struct Batch {
  std::vector<train::Joints> joints;
  std::vector<train::JointWeights> weights;
  Tensor joint_tensor, weight_tensor;  // F64 [B, J, 2], [B, J]
};

// Joints over and around the input image: inside, on the borders, just off
// the map (window still overlapping or not), unlabelled, non-finite.
Batch make_batch(int B, int input_w, int input_h, uint64_t seed) {
  Generator gen(seed);
  Batch b;
  std::vector<double> jv, wv;
  for (int n = 0; n < B; ++n) {
    train::Joints joints{};
    train::JointWeights w{};
    for (int j = 0; j < J; ++j) {
      double x = gen.uniform(-40.0, input_w + 40.0), y = gen.uniform(-40.0, input_h + 40.0);
      if (j == 0) x = -0.5;                     // rounds to centre 0
      if (j == 1) y = input_h - 1.0;            // bottom row
      if (j == 2 && n == 0) x = std::nan("");  // no centre at all
      // Float-representable, so that F32 joint tensors hold the same values.
      x = double(float(x));
      y = double(float(y));
      w[size_t(j)] = gen.bernoulli(0.85) ? 1.0f : 0.0f;
      joints[size_t(j)] = {x, y};
      jv.push_back(x);
      jv.push_back(y);
      wv.push_back(w[size_t(j)]);
    }
    b.joints.push_back(joints);
    b.weights.push_back(w);
  }
  b.joint_tensor = Tensor::from_data({B, J, 2}, jv);
  b.weight_tensor = Tensor::from_data({B, J}, wv);
  return b;
}

// The trainer's maps for sigma (visibility by cutoff) stacked to [B, H, W, J].
void trainer_maps(const Batch& b, const train::HeatmapGeometry& g, double sigma, double cutoff,
                  std::vector<float>& maps, std::vector<float>& weights) {
  const size_t per = size_t(g.heatmap_width) * size_t(g.heatmap_height) * J;
  maps.assign(per * b.joints.size(), 0.0f);
  weights.assign(size_t(J) * b.joints.size(), 0.0f);
  for (size_t n = 0; n < b.joints.size(); ++n) {
    std::vector<float> unused(per);
    std::vector<double> sigmas{sigma};
    std::vector<float*> out{maps.data() + n * per};
    if (cutoff != sigma) {  // a second, smaller sigma decides visibility
      sigmas.push_back(cutoff);
      out.push_back(unused.data());
    }
    train::gaussian_targets(b.joints[n], b.weights[n], sigmas, g, out, weights.data() + n * J);
  }
}

ops::GaussianTargetSpec spec_for(const train::HeatmapGeometry& g, double sigma, double cutoff) {
  ops::GaussianTargetSpec s;
  s.height = g.heatmap_height;
  s.width = g.heatmap_width;
  s.stride_x = double(g.input_width) / g.heatmap_width;
  s.stride_y = double(g.input_height) / g.heatmap_height;
  s.sigma = sigma;
  s.cutoff_sigma = cutoff;
  return s;
}

TEST(GaussianTargets, EqualTrainerTargetsExactly) {
  const std::vector<train::HeatmapGeometry> geometries{{256, 256, 64, 64}, {192, 256, 48, 64}, {64, 48, 32, 24}};
  uint64_t seed = 1;
  for (const auto& g : geometries)
    for (auto [sigma, cutoff] : std::vector<std::pair<double, double>>{{2, 2}, {2.5, 2.5}, {3, 2}, {1.2, 1.2}}) {
      const Batch b = make_batch(3, g.input_width, g.input_height, seed++);
      std::vector<float> want_maps, want_weights;
      trainer_maps(b, g, sigma, cutoff, want_maps, want_weights);
      for (DType dtype : {DType::F32, DType::F64}) {
        const auto t = ops::gaussian_targets(b.joint_tensor.to(dtype), b.weight_tensor.to(dtype),
                                             spec_for(g, sigma, cutoff));
        ASSERT_EQ(t.maps.shape(), (Shape{3, g.heatmap_height, g.heatmap_width, J}));
        const auto maps = t.maps.to_vector(), weights = t.weights.to_vector();
        size_t mismatches = 0;
        for (size_t i = 0; i < want_maps.size(); ++i) mismatches += float(maps[i]) != want_maps[i];
        EXPECT_EQ(mismatches, 0u) << "sigma " << sigma << " cutoff " << cutoff << " map " << g.heatmap_width;
        for (size_t i = 0; i < want_weights.size(); ++i) EXPECT_EQ(float(weights[i]), want_weights[i]) << i;
      }
    }
}

TEST(GaussianTargets, HandValues) {
  // One joint at input (10, 6), stride 4: centre trunc(3.0), trunc(2.0) = (3, 2); sigma 1: radius 3.
  ops::GaussianTargetSpec s;
  s.height = 8;
  s.width = 8;
  s.sigma = 1.0;
  const auto t = ops::gaussian_targets(Tensor::from_data({1, 1, 2}, std::vector<double>{10, 6}),
                                       Tensor::from_data({1, 1}, std::vector<double>{1}), s);
  const auto m = t.maps.to_vector();
  EXPECT_EQ(m[2 * 8 + 3], 1.0);
  EXPECT_EQ(m[2 * 8 + 4], std::exp(-0.5));
  EXPECT_EQ(m[5 * 8 + 6], std::exp(-9.0));  // corner of the window
  EXPECT_EQ(m[6 * 8 + 3], 0.0);             // 4 rows down: outside
  EXPECT_EQ(t.weights.to_vector()[0], 1.0);
}

TEST(GaussianWeightedMse, EqualsWeightedMseOnStoredTargets) {
  const train::HeatmapGeometry g{256, 256, 64, 64};
  const Batch b = make_batch(2, 256, 256, 7);
  const auto spec = spec_for(g, 2.0, 2.0);
  Generator gen(8);
  for (DType dtype : {DType::F64, DType::F32}) {
    Tensor joints = b.joint_tensor.to(dtype), weight = b.weight_tensor.to(dtype);
    Tensor pred = random_tensor({2, 64, 64, J}, gen, dtype, 0.0, 1.0);
    const auto t = ops::gaussian_targets(joints, weight, spec);
    Tensor p1 = pred.clone().set_requires_grad(true), p2 = pred.clone().set_requires_grad(true);
    Tensor stored = ops::weighted_mse(p1, t.maps, t.weights);
    Tensor fused = ops::gaussian_weighted_mse(p2, joints, weight, spec);
    const double tol = dtype == DType::F64 ? 1e-13 : 1e-6;
    EXPECT_NEAR(fused.item(), stored.item(), tol * stored.item());
    stored.backward();
    fused.backward();
    // Same expression element by element: identical gradients.
    EXPECT_EQ(p2.grad().to_vector(), p1.grad().to_vector());
  }
}

TEST(GaussianTargets, BadInputIsRejected) {
  Tensor joints = Tensor::zeros({2, 3, 2}, DType::F64), weight = Tensor::zeros({2, 3}, DType::F64);
  ops::GaussianTargetSpec s;
  EXPECT_NO_THROW(ops::gaussian_targets(joints, weight, s));
  EXPECT_THROW(ops::gaussian_targets(Tensor::zeros({2, 3, 3}, DType::F64), weight, s), Error);
  EXPECT_THROW(ops::gaussian_targets(joints, Tensor::zeros({2, 4}, DType::F64), s), Error);
  EXPECT_THROW(ops::gaussian_targets(joints, weight.to(DType::F32), s), Error);
  for (auto bad : {&ops::GaussianTargetSpec::sigma, &ops::GaussianTargetSpec::stride_x}) {
    ops::GaussianTargetSpec b = s;
    b.*bad = 0.0;
    EXPECT_THROW(ops::gaussian_targets(joints, weight, b), Error);
  }
  ops::GaussianTargetSpec small = s;
  small.height = 0;
  EXPECT_THROW(ops::gaussian_targets(joints, weight, small), Error);
  EXPECT_THROW(ops::gaussian_weighted_mse(Tensor::zeros({2, 64, 63, 3}, DType::F64), joints, weight, s), Error);
  EXPECT_THROW(ops::gaussian_weighted_mse(Tensor::zeros({2, 64, 64, 3}, DType::F32), joints, weight, s), Error);
}

}  // namespace
}  // namespace posenet
