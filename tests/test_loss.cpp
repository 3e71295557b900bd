#include <omp.h>

#include <cmath>

#include "kernels/loss.h"
#include "test_util.h"

namespace posenet {
namespace {

using testing::gradcheck;
using testing::random_tensor;

double naive_weighted_mse(const Tensor& pred, const Tensor& target, const Tensor& weight) {
  const auto p = pred.to_vector(), t = target.to_vector(), w = weight.to_vector();
  const int64_t N = pred.dim(0), HW = pred.dim(1) * pred.dim(2), J = pred.dim(3);
  double total = 0;
  for (int64_t n = 0; n < N; ++n)
    for (int64_t s = 0; s < HW; ++s)
      for (int64_t j = 0; j < J; ++j) {
        const size_t i = size_t((n * HW + s) * J + j);
        const double wj = w[size_t(n * J + j)];
        total += wj * wj * (p[i] - t[i]) * (p[i] - t[i]);
      }
  return 0.5 * total / double(pred.numel());
}

TEST(WeightedMse, ForwardMatchesNaive) {
  Generator gen(21);
  for (int trial = 0; trial < 5; ++trial) {
    const Shape shape{gen.randint(1, 4), gen.randint(1, 9), gen.randint(1, 9), gen.randint(1, 17)};
    for (DType dtype : {DType::F64, DType::F32}) {
      Tensor pred = random_tensor(shape, gen, dtype), target = random_tensor(shape, gen, dtype, 0.0, 1.0);
      Tensor weight = random_tensor({shape[0], shape[3]}, gen, dtype, 0.0, 2.0);
      const double want = naive_weighted_mse(pred, target, weight);
      EXPECT_NEAR(ops::weighted_mse(pred, target, weight).item(), want, (dtype == DType::F64 ? 1e-14 : 1e-6) * want);
    }
  }
}

TEST(WeightedMse, HandExample) {
  // Two joints, one pixel: 0.5 * mean(((2 * (1 - 0))^2, (0 * (5 - 1))^2)) = 0.5 * (4 + 0) / 2 = 1.
  Tensor pred = Tensor::from_data({1, 1, 1, 2}, std::vector<double>{1, 5});
  Tensor target = Tensor::from_data({1, 1, 1, 2}, std::vector<double>{0, 1});
  Tensor weight = Tensor::from_data({1, 2}, std::vector<double>{2, 0});
  EXPECT_DOUBLE_EQ(ops::weighted_mse(pred, target, weight).item(), 1.0);
}

TEST(WeightedMse, ZeroWeightsContributeNothing) {
  Generator gen(22);
  const Shape shape{2, 4, 4, 3};
  Tensor pred = random_tensor(shape, gen).set_requires_grad(true), target = random_tensor(shape, gen);
  Tensor weight = Tensor::from_data({2, 3}, std::vector<double>{1, 0, 1, 0, 0, 1});
  Tensor loss = ops::weighted_mse(pred, target, weight);
  EXPECT_NEAR(loss.item(), naive_weighted_mse(pred, target, weight), 1e-15);
  loss.backward();
  const auto g = pred.grad().to_vector();
  for (int64_t n = 0; n < 2; ++n)
    for (int64_t s = 0; s < 16; ++s)
      for (int64_t j = 0; j < 3; ++j) {
        if (weight.to_vector()[size_t(n * 3 + j)] == 0.0) {
          EXPECT_EQ(g[size_t((n * 16 + s) * 3 + j)], 0.0);
        }
      }
  // All weights zero: the loss and its gradient are exactly zero.
  Tensor p2 = random_tensor(shape, gen).set_requires_grad(true);
  Tensor l2 = ops::weighted_mse(p2, target, Tensor::zeros({2, 3}, DType::F64));
  EXPECT_EQ(l2.item(), 0.0);
  l2.backward();
  for (double v : p2.grad().to_vector()) EXPECT_EQ(v, 0.0);
}

TEST(WeightedMse, NaNInPredictionPropagatesEvenWithZeroWeight) {
  for (double w : {1.0, 0.0}) {
    Tensor pred = Tensor::from_data({1, 1, 2, 1}, std::vector<double>{0.5, std::nan("")});
    Tensor target = Tensor::zeros({1, 1, 2, 1}, DType::F64);
    EXPECT_TRUE(std::isnan(ops::weighted_mse(pred, target, Tensor::full({1, 1}, w, DType::F64)).item())) << w;
  }
}

TEST(WeightedMse, BadShapesAreRejected) {
  Tensor pred = Tensor::zeros({2, 3, 3, 4}, DType::F64);
  EXPECT_THROW(ops::weighted_mse(pred, Tensor::zeros({2, 3, 3, 5}, DType::F64), Tensor::zeros({2, 4}, DType::F64)),
               Error);
  EXPECT_THROW(ops::weighted_mse(pred, pred, Tensor::zeros({2, 5}, DType::F64)), Error);
  EXPECT_THROW(ops::weighted_mse(pred, pred, Tensor::zeros({4}, DType::F64)), Error);
  EXPECT_THROW(ops::weighted_mse(pred, pred.to(DType::F32), Tensor::zeros({2, 4}, DType::F64)), Error);
}

TEST(WeightedMse, DeterministicAcrossThreadCounts) {
  Generator gen(24);
  const Shape shape{8, 64, 48, 17};
  Tensor pred = random_tensor(shape, gen, DType::F32), target = random_tensor(shape, gen, DType::F32);
  Tensor weight = random_tensor({8, 17}, gen, DType::F32, 0.0, 1.0);
  const int saved = omp_get_max_threads();
  std::vector<float> values;
  for (int threads : {1, 2, 3}) {
    omp_set_num_threads(threads);
    values.push_back(float(ops::weighted_mse(pred, target, weight).item()));
  }
  omp_set_num_threads(saved);
  EXPECT_EQ(values[0], values[1]);
  EXPECT_EQ(values[0], values[2]);
}

}  // namespace
}  // namespace posenet
