#include <omp.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "kernels/pool.h"
#include "test_util.h"

namespace posenet {
namespace {

using testing::gradcheck;
using testing::random_tensor;

// Distinct values (a shuffled ramp with gaps of `gap`), so windows have no ties.
Tensor distinct_tensor(const Shape& shape, Generator& gen, DType dtype = DType::F64, double gap = 0.01,
                       double offset = -1.0) {
  const size_t n = size_t(shape_numel(shape));
  std::vector<double> v(n, 0.0);
  std::iota(v.begin(), v.end(), 0.0);
  for (size_t i = n; i > 1; --i) std::swap(v[i - 1], v[size_t(gen.randint(0, int64_t(i)))]);
  for (auto& x : v) x = offset + x * gap;
  return Tensor::from_data(shape, v, dtype);
}

// Naive max pool: returns y and, for dy, the gradient to the first maximum.
std::vector<double> naive_max_pool(const Tensor& x, const ops::MaxPool2dParams& p, int64_t* P_out, int64_t* Q_out,
                                   const std::vector<double>* dy = nullptr, std::vector<double>* dx = nullptr) {
  const int64_t N = x.dim(0), H = x.dim(1), W = x.dim(2), C = x.dim(3);
  const int64_t P = (H + 2 * p.pad_h - p.kernel_h) / p.stride_h + 1, Q = (W + 2 * p.pad_w - p.kernel_w) / p.stride_w + 1;
  *P_out = P;
  *Q_out = Q;
  const auto xv = x.to_vector();
  std::vector<double> y(static_cast<size_t>(N * P * Q * C));
  if (dx) dx->assign(xv.size(), 0.0);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t oh = 0; oh < P; ++oh)
      for (int64_t ow = 0; ow < Q; ++ow)
        for (int64_t c = 0; c < C; ++c) {
          double best = -std::numeric_limits<double>::infinity();
          int64_t where = -1;
          for (int64_t i = 0; i < p.kernel_h; ++i)
            for (int64_t j = 0; j < p.kernel_w; ++j) {
              const int64_t h = oh * p.stride_h - p.pad_h + i, w = ow * p.stride_w - p.pad_w + j;
              if (h < 0 || h >= H || w < 0 || w >= W) continue;
              const int64_t idx = ((n * H + h) * W + w) * C + c;
              if (where < 0 || xv[size_t(idx)] > best) {
                best = xv[size_t(idx)];
                where = idx;
              }
            }
          const size_t o = size_t(((n * P + oh) * Q + ow) * C + c);
          y[o] = best;
          if (dx) (*dx)[size_t(where)] += (*dy)[o];
        }
  return y;
}

const ops::MaxPool2dParams kConfigs[] = {
    ops::MaxPool2dParams::square(3, 2, 1),
    ops::MaxPool2dParams::square(2, 2, 0),
    ops::MaxPool2dParams::square(3, 1, 1),
    {3, 2, 1, 2, 1, 0},  // rectangular kernel, different strides
    {5, 3, 2, 2, 2, 1},
};

TEST(MaxPool, ForwardAndBackwardMatchNaive) {
  Generator gen(11);
  for (const auto& p : kConfigs) {
    for (int trial = 0; trial < 3; ++trial) {
      const Shape shape{gen.randint(1, 3), gen.randint(5, 12), gen.randint(5, 12), gen.randint(1, 5)};
      for (DType dtype : {DType::F64, DType::F32}) {
        Tensor x = distinct_tensor(shape, gen, dtype).set_requires_grad(true);
        Tensor y = ops::max_pool2d(x, p);
        int64_t P = 0, Q = 0;
        const auto dy = random_tensor(y.shape(), gen, DType::F64).to_vector();
        std::vector<double> want_dx;
        const auto want = naive_max_pool(x, p, &P, &Q, &dy, &want_dx);
        ASSERT_EQ(y.shape(), (Shape{shape[0], P, Q, shape[3]}));
        EXPECT_EQ(y.to_vector(), want);
        ops::sum(ops::mul(y, Tensor::from_data(y.shape(), dy, dtype))).backward();
        const auto got_dx = x.grad().to_vector();
        for (size_t i = 0; i < want_dx.size(); ++i) ASSERT_NEAR(got_dx[i], want_dx[i], 1e-6) << i;
      }
    }
  }
}

TEST(MaxPool, PaddingNeverWinsOverNegativeValues) {
  Generator gen(12);
  Tensor x = random_tensor({1, 4, 4, 2}, gen, DType::F64, -3.0, -1.0);
  Tensor y = ops::max_pool2d(x, ops::MaxPool2dParams::square(3, 2, 1));
  for (double v : y.to_vector()) EXPECT_LT(v, -0.5);
  int64_t P = 0, Q = 0;
  EXPECT_EQ(y.to_vector(), naive_max_pool(x, ops::MaxPool2dParams::square(3, 2, 1), &P, &Q));
}

TEST(MaxPool, TiesSendTheGradientToTheFirstMaximum) {
  // All equal: every window's first real position (row-major) wins.
  Tensor x = Tensor::full({1, 3, 3, 1}, 1.0, DType::F64).set_requires_grad(true);
  Tensor y = ops::max_pool2d(x, ops::MaxPool2dParams::square(3, 2, 1));
  ASSERT_EQ(y.shape(), (Shape{1, 2, 2, 1}));
  ops::sum(y).backward();
  // Windows start at (0,0), (0,1), (1,0), (1,1) after clipping the padding.
  EXPECT_EQ(x.grad().to_vector(), (std::vector<double>{1, 1, 0, 1, 1, 0, 0, 0, 0}));

  // A tie at two positions of one window, the maximum at both: the first in scan order.
  Tensor z = Tensor::from_data({1, 2, 2, 1}, std::vector<double>{0, 5, 5, 1}).set_requires_grad(true);
  ops::sum(ops::max_pool2d(z, ops::MaxPool2dParams::square(2, 2, 0))).backward();
  EXPECT_EQ(z.grad().to_vector(), (std::vector<double>{0, 1, 0, 0}));
}

TEST(MaxPool, NaNPropagates) {
  Tensor x = Tensor::from_data({1, 2, 2, 1}, std::vector<double>{0, std::nan(""), 5, 1});
  EXPECT_TRUE(std::isnan(ops::max_pool2d(x, ops::MaxPool2dParams::square(2, 2, 0)).item()));
}

TEST(MaxPool, BadParametersAreRejected) {
  Tensor x = Tensor::zeros({1, 4, 4, 1}, DType::F64);
  EXPECT_THROW(ops::max_pool2d(x, ops::MaxPool2dParams::square(3, 2, 2)), Error);  // pad > kernel / 2
  EXPECT_THROW(ops::max_pool2d(x, ops::MaxPool2dParams::square(3, 0, 1)), Error);
  EXPECT_THROW(ops::max_pool2d(x, ops::MaxPool2dParams::square(7, 1, 0)), Error);  // larger than the input
  EXPECT_THROW(ops::max_pool2d(Tensor::zeros({4, 4, 1}, DType::F64), {}), Error);
}

TEST(MaxPool, DeterministicAcrossThreadCounts) {
  Generator gen(14);
  Tensor x = random_tensor({3, 40, 40, 16}, gen, DType::F32);
  Tensor dy;
  std::vector<std::vector<float>> outs;
  const int saved = omp_get_max_threads();
  for (int threads : {1, 3}) {
    omp_set_num_threads(threads);
    Tensor xr = x.clone().set_requires_grad(true);
    Tensor y = ops::max_pool2d(xr, ops::MaxPool2dParams::square(3, 1, 1));
    if (!dy.defined()) dy = random_tensor(y.shape(), gen, DType::F32);
    ops::sum(ops::mul(y, dy)).backward();
    outs.push_back(xr.grad().to_float_vector());
  }
  omp_set_num_threads(saved);
  EXPECT_EQ(outs[0], outs[1]);
}

}  // namespace
}  // namespace posenet
