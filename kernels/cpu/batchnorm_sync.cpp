#include <cmath>
#include <vector>

#include "kernels/batchnorm_sync_kernels.h"
#include "kernels/cpu/chunks.h"
#include "kernels/dispatch.h"

namespace posenet::kernels::cpu {

namespace {

constexpr int64_t kMinRowsPerChunk = 16;
constexpr int64_t kMaxChunks = 256;

// Per-chunk partials of `width` doubles per row function, combined in chunk
// order: the same result for any thread count.
template <typename RowFn>
std::vector<double> chunked_channel_sums(int64_t rows, int64_t width, RowFn&& row_fn) {
  FixedChunks chunks(rows, kMinRowsPerChunk, kMaxChunks);
  std::vector<double> partials(size_t(chunks.count * width), 0.0);
#pragma omp parallel for schedule(static) if (rows * width > 32768)
  for (int64_t k = 0; k < chunks.count; ++k) {
    double* acc = partials.data() + k * width;
    for (int64_t r = chunks.begin(k); r < chunks.end(k); ++r) row_fn(r, acc);
  }
  std::vector<double> out(size_t(width), 0.0);
  for (int64_t k = 0; k < chunks.count; ++k)
    for (int64_t i = 0; i < width; ++i) out[size_t(i)] += partials[size_t(k * width + i)];
  return out;
}

template <typename T>
inline double masked(const T* y, const T* dy, int64_t i, bool relu) {
  return relu && !(y[i] > T(0)) ? 0.0 : double(dy[i]);  // torch's threshold_backward: 0 where y <= 0
}

}  // namespace

void batch_norm_shifted_sums(const Tensor& x, const Tensor& shift, Tensor& sums) {
  const int64_t C = x.dim(-1), rows = x.numel() / C;
  dispatch_float(x.dtype(), "batch_norm", [&](auto tag) {
    using T = decltype(tag);
    const T *px = x.data<T>(), *pk = shift.data<T>();
    const std::vector<double> s = chunked_channel_sums(rows, 2 * C, [&](int64_t r, double* acc) {
      for (int64_t c = 0; c < C; ++c) {
        const double d = double(px[r * C + c]) - double(pk[c]);
        acc[c] += d;
        acc[C + c] += d * d;
      }
    });
    double* out = sums.data<double>();
    for (int64_t i = 0; i < 2 * C; ++i) out[i] = s[size_t(i)];
    out[2 * C] = double(rows);
  });
}

void batch_norm_stats_from_sums(const Tensor& sums, double eps, double momentum, Tensor& mean, Tensor& invstd,
                                Tensor& running_mean, Tensor& running_var) {
  const int64_t C = mean.numel();
  dispatch_float(mean.dtype(), "batch_norm", [&](auto tag) {
    using T = decltype(tag);
    const double* s = sums.data<double>();
    const double n = s[2 * C];
    T *pm = mean.data<T>(), *pi = invstd.data<T>(), *prm = running_mean.data<T>(), *prv = running_var.data<T>();
    for (int64_t c = 0; c < C; ++c) {
      const double s1 = s[c], s2 = s[C + c];
      const double mu = double(prm[c]) + s1 / n;
      const double deviations = s2 - s1 * s1 / n;  // rounding below 0 clamped; NaN kept
      const double sq = deviations < 0.0 ? 0.0 : deviations;
      pm[c] = T(mu);
      pi[c] = T(1.0 / std::sqrt(sq / n + eps));
      prm[c] = T((1.0 - momentum) * double(prm[c]) + momentum * mu);
      prv[c] = T((1.0 - momentum) * double(prv[c]) + momentum * sq / (n - 1.0));
    }
  });
}

void batch_norm_backward_sums(const Tensor& x, const Tensor& y, const Tensor& dy, const Tensor& mean,
                              const Tensor& invstd, bool relu, Tensor& sums, Tensor& dweight, Tensor& dbias) {
  const int64_t C = x.dim(-1), rows = x.numel() / C;
  dispatch_float(x.dtype(), "batch_norm", [&](auto tag) {
    using T = decltype(tag);
    const T *px = x.data<T>(), *pdy = dy.data<T>(), *pm = mean.data<T>(), *pi = invstd.data<T>();
    const T* py = relu ? y.data<T>() : nullptr;
    const std::vector<double> s = chunked_channel_sums(rows, 2 * C, [&](int64_t r, double* acc) {
      for (int64_t c = 0; c < C; ++c) {
        const int64_t i = r * C + c;
        const double g = masked(py, pdy, i, relu);
        acc[c] += g;
        acc[C + c] += g * (double(px[i]) - double(pm[c])) * double(pi[c]);
      }
    });
    double* out = sums.data<double>();
    for (int64_t i = 0; i < 2 * C; ++i) out[i] = s[size_t(i)];
    out[2 * C] = double(rows);
    if (dbias.defined())
      for (int64_t c = 0; c < C; ++c) dbias.data<T>()[c] = T(s[size_t(c)]);
    if (dweight.defined())
      for (int64_t c = 0; c < C; ++c) dweight.data<T>()[c] = T(s[size_t(C + c)]);
  });
}

void batch_norm_backward_from_sums(const Tensor& x, const Tensor& y, const Tensor& dy, const Tensor& mean,
                                   const Tensor& invstd, const Tensor& weight, const Tensor& sums, bool relu,
                                   Tensor& dx, Tensor& dresidual) {
  const int64_t C = x.dim(-1), n = x.numel();
  dispatch_float(x.dtype(), "batch_norm", [&](auto tag) {
    using T = decltype(tag);
    const T *px = x.data<T>(), *pdy = dy.data<T>(), *pm = mean.data<T>(), *pi = invstd.data<T>();
    const T* pw = weight.data<T>();
    const T* py = relu ? y.data<T>() : nullptr;
    const double* s = sums.data<double>();
    const double count = s[2 * C];
    T* pdx = dx.defined() ? dx.data<T>() : nullptr;
    T* pdr = dresidual.defined() ? dresidual.data<T>() : nullptr;
#pragma omp parallel for schedule(static) if (n > 32768)
    for (int64_t i = 0; i < n; ++i) {
      const int64_t c = i % C;
      const double g = masked(py, pdy, i, relu);
      if (pdr) pdr[i] = T(g);
      if (pdx) {
        const double xhat = (double(px[i]) - double(pm[c])) * double(pi[c]);
        pdx[i] = T(double(pw[c]) * double(pi[c]) * (g - s[c] / count - xhat * s[C + c] / count));
      }
    }
  });
}

}  // namespace posenet::kernels::cpu
