// Helpers shared by the test units: random tensors, comparisons, the
// central finite-difference gradient check, and the CUDA skip.
#pragma once
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "core/autograd.h"
#include "core/rng.h"
#include "core/tensor.h"
#include "kernels/elementwise.h"

namespace posenet::testing {

inline Tensor random_tensor(const Shape& shape, Generator& gen, DType dtype = DType::F64, double lo = -1.0,
                            double hi = 1.0) {
  std::vector<double> v(size_t(shape_numel(shape)));
  for (auto& x : v) x = gen.uniform(lo, hi);
  return Tensor::from_data(shape, v, dtype);
}

// Largest |a - b| / (atol + rtol * |b|) over all elements: <= 1 passes.
inline double max_scaled_error(const Tensor& a, const Tensor& b, double atol, double rtol) {
  auto va = a.to_vector(), vb = b.to_vector();
  EXPECT_EQ(va.size(), vb.size());
  double worst = 0.0;
  for (size_t i = 0; i < va.size() && i < vb.size(); ++i) {
    double e = std::abs(va[i] - vb[i]) / (atol + rtol * std::abs(vb[i]));
    if (!(e <= worst)) worst = std::isnan(e) ? INFINITY : e;
  }
  return worst;
}

#define EXPECT_TENSOR_NEAR(a, b, atol, rtol)                                                   \
  do {                                                                                         \
    ASSERT_EQ((a).shape(), (b).shape());                                                       \
    double pn_err_ = ::posenet::testing::max_scaled_error((a), (b), (atol), (rtol));           \
    EXPECT_LE(pn_err_, 1.0) << "max |a-b|/(atol+rtol|b|) = " << pn_err_ << " for " #a " vs " #b; \
  } while (0)

// Central finite differences in float64 against autograd.
//
// f maps the inputs (float64, requires_grad) to an output tensor; the check
// differentiates the scalar L = sum(f(x) * R) with a fixed random R, so every
// output element contributes with a different weight. Returns the worst
// relative error |analytic - numeric| / max(1e-6... ) over all checked input
// elements, using the relative error of the whole gradient vector per input:
// ||g_a - g_n|| / max(||g_a||, ||g_n||, tiny).
struct GradCheckResult {
  double worst_relative_error = 0.0;
  std::string where;
};

inline GradCheckResult gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& f,
                                 std::vector<Tensor> inputs, double eps = 1e-6, uint64_t seed = 99) {
  for (auto& x : inputs) x.set_requires_grad(true);
  Tensor out = f(inputs);
  Generator gen(seed);
  Tensor weights = random_tensor(out.shape(), gen, out.dtype());
  Tensor loss = ops::sum(ops::mul(out, weights));
  loss.backward();
  GradCheckResult result;
  for (size_t k = 0; k < inputs.size(); ++k) {
    Tensor analytic = inputs[k].grad();
    std::vector<double> ga = analytic.defined() ? analytic.to_vector() : std::vector<double>(size_t(inputs[k].numel()), 0.0);
    std::vector<double> gn(ga.size());
    double* px = inputs[k].data<double>();
    for (size_t i = 0; i < gn.size(); ++i) {
      NoGradGuard no_grad;
      const double saved = px[i];
      px[i] = saved + eps;
      double lp = ops::sum(ops::mul(f(inputs), weights)).item();
      px[i] = saved - eps;
      double lm = ops::sum(ops::mul(f(inputs), weights)).item();
      px[i] = saved;
      gn[i] = (lp - lm) / (2 * eps);
    }
    double diff = 0, na = 0, nn = 0;
    for (size_t i = 0; i < gn.size(); ++i) {
      diff += (ga[i] - gn[i]) * (ga[i] - gn[i]);
      na += ga[i] * ga[i];
      nn += gn[i] * gn[i];
    }
    double rel = std::sqrt(diff) / std::max({std::sqrt(na), std::sqrt(nn), 1e-12});
    if (rel > result.worst_relative_error || std::isnan(rel)) {
      result.worst_relative_error = std::isnan(rel) ? INFINITY : rel;
      result.where = "input " + std::to_string(k);
    }
  }
  return result;
}

#define EXPECT_GRADCHECK(result, tol) \
  EXPECT_LE((result).worst_relative_error, (tol)) << "gradient mismatch at " << (result).where

// CUDA tests call this first: they skip, with the reason, where no GPU is.
#define PN_REQUIRE_CUDA()                                                                       \
  do {                                                                                          \
    if (!::posenet::cuda_available())                                                           \
      GTEST_SKIP() << "CUDA parity not run: " << ::posenet::cuda_unavailable_reason();          \
  } while (0)

inline std::filesystem::path shared_data_dir() { return std::filesystem::path(POSENET_SHARED_DATA_DIR); }
inline std::filesystem::path source_dir() { return std::filesystem::path(POSENET_SOURCE_DIR); }

// A fresh empty directory under the build tree's temp area.
inline std::filesystem::path temp_dir(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() / ("posenet_test_" + name + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

}  // namespace posenet::testing
