#include "kernels/targets_kernels.h"

#include <vector>

#include "kernels/dispatch.h"
#include "kernels/cpu/via_float.h"
#include "kernels/gaussian_rule.h"

namespace posenet::kernels::cpu {

namespace {

// Centres of all B * J joints (the rule's visibility included).
template <typename T>
std::vector<GaussianCentre> centres(const Tensor& joints, const Tensor& weight, const ops::GaussianTargetSpec& s) {
  const int64_t n = weight.numel();
  const T* pj = joints.data<T>();
  const T* pw = weight.data<T>();
  const int cutoff_r = gaussian_radius(s.cutoff());
  std::vector<GaussianCentre> c(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    c[size_t(i)] = gaussian_centre(double(pj[2 * i]), double(pj[2 * i + 1]), double(pw[i]), s.stride_x, s.stride_y,
                                   cutoff_r, s.width, s.height);
  return c;
}

// Calls fn(index, w, target) for every element of a [B, H, W, J] map.
template <typename T, typename Fn>
void for_each_target(const std::vector<GaussianCentre>& c, const ops::GaussianTargetSpec& s, int64_t B, int64_t J,
                     Fn&& fn) {
  const int r = gaussian_radius(s.sigma);
  const double inv = 1.0 / (2 * s.sigma * s.sigma);
  const int64_t rows = B * s.height;
#pragma omp parallel for schedule(static) if (rows * s.width * J > 32768)
  for (int64_t row = 0; row < rows; ++row) {
    const int64_t b = row / s.height;
    const int y = int(row % s.height);
    for (int x = 0; x < s.width; ++x)
      for (int64_t j = 0; j < J; ++j) {
        const GaussianCentre& cj = c[size_t(b * J + j)];
        fn(row, (row * s.width + x) * J + j, T(cj.visible ? 1 : 0), T(gaussian_value(x, y, cj, r, inv)));
      }
  }
}

}  // namespace

void gaussian_targets(const Tensor& joints, const Tensor& weight, const ops::GaussianTargetSpec& spec, Tensor& maps,
                      Tensor& weights_out) {
  if (uses_bf16(maps)) return run_via_float(&gaussian_targets, joints, weight, spec, maps, weights_out);
  const int64_t B = joints.dim(0), J = joints.dim(1);
  dispatch_float(joints.dtype(), "gaussian_targets", [&](auto tag) {
    using T = decltype(tag);
    const auto c = centres<T>(joints, weight, spec);
    T* pm = maps.data<T>();
    T* pw = weights_out.data<T>();
    for (size_t i = 0; i < c.size(); ++i) pw[i] = T(c[i].visible ? 1 : 0);
    for_each_target<T>(c, spec, B, J, [&](int64_t, int64_t i, T, T t) { pm[i] = t; });
  });
}

void gaussian_weighted_mse_forward(const Tensor& pred, const Tensor& joints, const Tensor& weight,
                                   const ops::GaussianTargetSpec& spec, Tensor& out) {
  if (uses_bf16(pred)) return run_via_float(&gaussian_weighted_mse_forward, pred, joints, weight, spec, out);
  const int64_t B = joints.dim(0), J = joints.dim(1);
  dispatch_float(pred.dtype(), "gaussian_weighted_mse", [&](auto tag) {
    using T = decltype(tag);
    const auto c = centres<T>(joints, weight, spec);
    const T* pp = pred.data<T>();
    // One partial per map row, added in order: the same sum on any thread count.
    std::vector<double> partials(size_t(B * spec.height), 0.0);
    for_each_target<T>(c, spec, B, J, [&](int64_t row, int64_t i, T w, T t) {
      const T d = w * pp[i] - w * t;  // as weighted_mse: NaN in pred propagates where w = 0
      partials[size_t(row)] += double(d) * double(d);
    });
    double total = 0.0;
    for (double v : partials) total += v;
    out.data<T>()[0] = T(0.5 * total / double(pred.numel()));
  });
}

void gaussian_weighted_mse_backward(const Tensor& pred, const Tensor& joints, const Tensor& weight,
                                    const ops::GaussianTargetSpec& spec, const Tensor& grad, Tensor& dpred) {
  if (uses_bf16(pred)) return run_via_float(&gaussian_weighted_mse_backward, pred, joints, weight, spec, grad, dpred);
  const int64_t B = joints.dim(0), J = joints.dim(1);
  dispatch_float(pred.dtype(), "gaussian_weighted_mse_backward", [&](auto tag) {
    using T = decltype(tag);
    const auto c = centres<T>(joints, weight, spec);
    const T* pp = pred.data<T>();
    T* pd = dpred.data<T>();
    const T scale = T(double(grad.data<T>()[0]) / double(pred.numel()));
    for_each_target<T>(c, spec, B, J, [&](int64_t, int64_t i, T w, T t) { pd[i] = scale * w * (w * pp[i] - w * t); });
  });
}

}  // namespace posenet::kernels::cpu
