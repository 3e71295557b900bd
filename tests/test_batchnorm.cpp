// Batch norm beyond the op table's rows (tests/op_table/cases_batchnorm.cpp):
// random shapes against naive loops, running-statistics examples, errors,
// the fused residual gradient, float32 against float64, thread counts.
#include <omp.h>

#include <cmath>

#include "kernels/batchnorm.h"
#include "test_util.h"

namespace posenet {
namespace {

using testing::random_tensor;

struct BnReference {
  std::vector<double> y, mean, var_biased;
};

// Straightforward per-channel loops in double.
BnReference naive_batch_norm(const Tensor& x, const Tensor& w, const Tensor& b, const Tensor& residual, bool relu,
                             const std::vector<double>* eval_mean = nullptr,
                             const std::vector<double>* eval_var = nullptr, double eps = 1e-5) {
  const auto xv = x.to_vector(), wv = w.to_vector(), bv = b.to_vector();
  const auto rv = residual.defined() ? residual.to_vector() : std::vector<double>(xv.size(), 0.0);
  const size_t C = size_t(x.dim(-1)), rows = xv.size() / C;
  BnReference ref;
  ref.mean.assign(C, 0.0);
  ref.var_biased.assign(C, 0.0);
  for (size_t c = 0; c < C; ++c) {
    double s = 0;
    for (size_t r = 0; r < rows; ++r) s += xv[r * C + c];
    ref.mean[c] = s / double(rows);
    double q = 0;
    for (size_t r = 0; r < rows; ++r) q += (xv[r * C + c] - ref.mean[c]) * (xv[r * C + c] - ref.mean[c]);
    ref.var_biased[c] = q / double(rows);
  }
  ref.y.resize(xv.size());
  for (size_t r = 0; r < rows; ++r)
    for (size_t c = 0; c < C; ++c) {
      const double m = eval_mean ? (*eval_mean)[c] : ref.mean[c];
      const double v = eval_var ? (*eval_var)[c] : ref.var_biased[c];
      double y = (xv[r * C + c] - m) / std::sqrt(v + eps) * wv[c] + bv[c] + rv[r * C + c];
      ref.y[r * C + c] = relu ? std::max(y, 0.0) : y;
    }
  return ref;
}

void expect_vectors_near(const std::vector<double>& a, const std::vector<double>& b, double tol, const char* what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  for (size_t i = 0; i < a.size(); ++i) ASSERT_NEAR(a[i], b[i], tol * (1 + std::abs(b[i]))) << what << " at " << i;
}

TEST(BatchNorm, TrainingForwardAndRunningStatsMatchNaive) {
  Generator gen(1);
  for (int trial = 0; trial < 6; ++trial) {
    const Shape shape{gen.randint(1, 4), gen.randint(1, 6), gen.randint(2, 7), gen.randint(1, 9)};
    const int64_t C = shape[3];
    for (DType dtype : {DType::F64, DType::F32}) {
      for (int variant = 0; variant < 3; ++variant) {
        const bool with_residual = variant >= 1, relu = variant == 2;
        Tensor x = random_tensor(shape, gen, dtype, -2.0, 3.0);
        Tensor w = random_tensor({C}, gen, dtype, 0.5, 1.5);
        Tensor b = random_tensor({C}, gen, dtype, -0.5, 0.5);
        Tensor res = with_residual ? random_tensor(shape, gen, dtype) : Tensor();
        Tensor rm = random_tensor({C}, gen, dtype), rv = random_tensor({C}, gen, dtype, 0.5, 2.0);
        const auto rm0 = rm.to_vector(), rv0 = rv.to_vector();
        ops::BatchNormParams p;
        p.momentum = 0.3;
        Tensor y = ops::batch_norm_add_relu(x, w, b, rm, rv, p, res, relu);
        BnReference ref = naive_batch_norm(x, w, b, res, relu);
        const double tol = dtype == DType::F64 ? 1e-12 : 2e-5;
        expect_vectors_near(y.to_vector(), ref.y, tol, "y");
        // running = (1 - momentum) running + momentum * stat, unbiased variance.
        const double n = double(x.numel() / C);
        std::vector<double> want_rm(static_cast<size_t>(C)), want_rv(static_cast<size_t>(C));
        for (size_t c = 0; c < size_t(C); ++c) {
          want_rm[c] = 0.7 * rm0[c] + 0.3 * ref.mean[c];
          want_rv[c] = 0.7 * rv0[c] + 0.3 * ref.var_biased[c] * n / (n - 1);
        }
        expect_vectors_near(rm.to_vector(), want_rm, tol, "running_mean");
        expect_vectors_near(rv.to_vector(), want_rv, tol, "running_var");
      }
    }
  }
}

TEST(BatchNorm, RunningStatsHandExample) {
  // One channel, values 1, 2, 3, 6: mean 3, biased var 3.5, unbiased 14/3.
  Tensor x = Tensor::from_data({1, 2, 2, 1}, std::vector<double>{1, 2, 3, 6});
  Tensor w = Tensor::full({1}, 1.0, DType::F64), b = Tensor::zeros({1}, DType::F64);
  Tensor rm = Tensor::zeros({1}, DType::F64), rv = Tensor::full({1}, 1.0, DType::F64);
  Tensor y = ops::batch_norm(x, w, b, rm, rv, {});
  EXPECT_NEAR(rm.item(), 0.1 * 3.0, 1e-15);
  EXPECT_NEAR(rv.item(), 0.9 + 0.1 * 14.0 / 3.0, 1e-15);
  EXPECT_NEAR(y.to_vector()[3], 3.0 / std::sqrt(3.5 + 1e-5), 1e-12);
}

TEST(BatchNorm, LargeMeanSmallSpreadKeepsItsVariance) {
  // Mean 1000, spread 0.01: E[x^2] - mean^2 would lose every digit in float.
  Generator gen(8);
  for (DType dtype : {DType::F64, DType::F32}) {
    Tensor x = random_tensor({4, 8, 8, 3}, gen, dtype, 1000.0 - 0.01, 1000.0 + 0.01);
    Tensor w = Tensor::full({3}, 1.0, dtype), b = Tensor::zeros({3}, dtype);
    Tensor rm = Tensor::zeros({3}, dtype), rv = Tensor::full({3}, 1.0, dtype);
    ops::BatchNormParams p;
    p.eps = 1e-12;
    Tensor y = ops::batch_norm(x, w, b, rm, rv, p);
    BnReference ref = naive_batch_norm(x, w, b, Tensor(), false, nullptr, nullptr, 1e-12);
    // In float the mean itself is stored to ulp(1000) / 2 = 3e-5, i.e. 5e-3
    // after scaling by invstd (~170): y can be no closer than that.
    expect_vectors_near(y.to_vector(), ref.y, dtype == DType::F64 ? 1e-9 : 1e-2, "y");
    for (size_t c = 0; c < 3; ++c)
      EXPECT_NEAR(rv.to_vector()[c], 0.9 + 0.1 * ref.var_biased[c] * 256 / 255, dtype == DType::F64 ? 1e-12 : 1e-7);
  }
}

TEST(BatchNorm, EvalUsesRunningStatsAndLeavesThemAlone) {
  Generator gen(2);
  const Shape shape{2, 3, 4, 5};
  for (bool relu : {false, true}) {
    Tensor x = random_tensor(shape, gen), res = random_tensor(shape, gen);
    Tensor w = random_tensor({5}, gen, DType::F64, 0.5, 1.5), b = random_tensor({5}, gen);
    Tensor rm = random_tensor({5}, gen), rv = random_tensor({5}, gen, DType::F64, 0.5, 2.0);
    const auto rm0 = rm.to_vector(), rv0 = rv.to_vector();
    ops::BatchNormParams p;
    p.training = false;
    Tensor y = ops::batch_norm_add_relu(x, w, b, rm, rv, p, res, relu);
    EXPECT_EQ(rm.to_vector(), rm0);
    EXPECT_EQ(rv.to_vector(), rv0);
    expect_vectors_near(y.to_vector(), naive_batch_norm(x, w, b, res, relu, &rm0, &rv0).y, 1e-12, "eval y");
  }
}

TEST(BatchNorm, SingleValuePerChannelRefusedInTrainingOnly) {
  Tensor x = Tensor::full({1, 1, 1, 3}, 1.0, DType::F64);
  Tensor w = Tensor::full({3}, 1.0, DType::F64), b = Tensor::zeros({3}, DType::F64);
  Tensor rm = Tensor::zeros({3}, DType::F64), rv = Tensor::full({3}, 1.0, DType::F64);
  try {
    ops::batch_norm(x, w, b, rm, rv, {});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("more than 1 value per channel"), std::string::npos) << e.what();
  }
  ops::BatchNormParams eval;
  eval.training = false;
  EXPECT_NO_THROW(ops::batch_norm(x, w, b, rm, rv, eval));
}

TEST(BatchNorm, BadShapesAreRejected) {
  Tensor x = Tensor::zeros({2, 2, 2, 3}, DType::F64);
  Tensor w = Tensor::full({3}, 1.0, DType::F64), b = Tensor::zeros({3}, DType::F64), wrong = Tensor::zeros({4}, DType::F64);
  Tensor rm = Tensor::zeros({3}, DType::F64), rv = Tensor::full({3}, 1.0, DType::F64);
  EXPECT_THROW(ops::batch_norm(x, wrong, b, rm, rv, {}), Error);
  EXPECT_THROW(ops::batch_norm(x, w, b, rm, wrong, {}), Error);
  EXPECT_THROW(ops::batch_norm_add_relu(x, w, b, rm, rv, {}, Tensor::zeros({2, 2, 2, 4}, DType::F64), true), Error);
  EXPECT_THROW(ops::batch_norm(x, w.to(DType::F32), b, rm, rv, {}), Error);
}

TEST(BatchNorm, ResidualGradientIsTheReluMaskedGradient) {
  Generator gen(3);
  const Shape shape{2, 2, 2, 4};
  Tensor x = random_tensor(shape, gen), res = random_tensor(shape, gen).set_requires_grad(true);
  Tensor w = Tensor::full({4}, 1.0, DType::F64), b = Tensor::zeros({4}, DType::F64);
  Tensor rm = Tensor::zeros({4}, DType::F64), rv = Tensor::full({4}, 1.0, DType::F64);
  Tensor y = ops::batch_norm_add_relu(x, w, b, rm, rv, {}, res, true);
  Tensor dy = random_tensor(shape, gen);
  ops::sum(ops::mul(y, dy)).backward();
  const auto yv = y.to_vector(), dyv = dy.to_vector(), gr = res.grad().to_vector();
  for (size_t i = 0; i < yv.size(); ++i) EXPECT_EQ(gr[i], yv[i] > 0 ? dyv[i] : 0.0);
  // Only the residual asked for a gradient.
  EXPECT_FALSE(w.grad().defined());
  EXPECT_FALSE(x.grad().defined());
}

TEST(BatchNorm, Float32BackwardMatchesFloat64) {
  Generator gen(6);
  for (const Shape& shape : {Shape{2, 5, 6, 7}, Shape{12, 33}}) {  // NHWC and a plain [N, C] input
    const int64_t C = shape.back();
    Tensor x = random_tensor(shape, gen, DType::F64, -1.0, 2.0), res = random_tensor(shape, gen);
    Tensor w = random_tensor({C}, gen, DType::F64, 0.5, 1.5), b = random_tensor({C}, gen);
    Tensor dy = random_tensor(shape, gen);
    // Pre-activations away from the ReLU kink so both precisions agree on the mask.
    {
      Tensor rm = Tensor::zeros({C}, DType::F64), rv = Tensor::full({C}, 1.0, DType::F64);
      auto z = ops::batch_norm_add_relu(x, w, b, rm, rv, {}, res, false).to_vector();
      double* pr = res.data<double>();
      for (size_t i = 0; i < z.size(); ++i)
        if (std::abs(z[i]) < 1e-3) pr[i] += 0.01;
    }
    std::vector<Tensor> grads[2];
    for (int k = 0; k < 2; ++k) {
      const DType dt = k ? DType::F32 : DType::F64;
      Tensor xk = x.to(dt).set_requires_grad(true), wk = w.to(dt).set_requires_grad(true);
      Tensor bk = b.to(dt).set_requires_grad(true), rk = res.to(dt).set_requires_grad(true);
      Tensor rm = Tensor::zeros({C}, dt), rv = Tensor::full({C}, 1.0, dt);
      ops::sum(ops::mul(ops::batch_norm_add_relu(xk, wk, bk, rm, rv, {}, rk, true), dy.to(dt))).backward();
      grads[k] = {xk.grad(), wk.grad(), bk.grad(), rk.grad()};
    }
    for (size_t i = 0; i < 4; ++i) EXPECT_TENSOR_NEAR(grads[1][i].to(DType::F64), grads[0][i], 1e-5, 1e-4);
  }
}

TEST(BatchNorm, DeterministicAcrossThreadCounts) {
  Generator gen(4);
  const Shape shape{4, 40, 40, 24};  // large enough to run in parallel
  Tensor x = random_tensor(shape, gen, DType::F32), res = random_tensor(shape, gen, DType::F32);
  Tensor w = random_tensor({24}, gen, DType::F32, 0.5, 1.5), b = random_tensor({24}, gen, DType::F32);
  std::vector<std::vector<float>> outs;
  const int saved = omp_get_max_threads();
  for (int threads : {1, 2, 3}) {
    omp_set_num_threads(threads);
    Tensor xr = x.clone().set_requires_grad(true), wr = w.clone().set_requires_grad(true);
    Tensor rm = Tensor::zeros({24}), rv = Tensor::full({24}, 1.0);
    Tensor y = ops::batch_norm_add_relu(xr, wr, b, rm, rv, {}, res, true);
    ops::sum(ops::mul(y, res)).backward();
    std::vector<float> all = y.to_float_vector();
    for (const Tensor& t : {rm, rv, xr.grad(), wr.grad()})
      for (float v : t.to_float_vector()) all.push_back(v);
    outs.push_back(all);
  }
  omp_set_num_threads(saved);
  EXPECT_EQ(outs[0], outs[1]);
  EXPECT_EQ(outs[0], outs[2]);
}

}  // namespace
}  // namespace posenet
