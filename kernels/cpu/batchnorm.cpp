#include "kernels/batchnorm_kernels.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <vector>

#include "kernels/cpu/chunks.h"
#include "kernels/dispatch.h"
#include "kernels/cpu/via_float.h"

namespace posenet::kernels::cpu {

namespace {

constexpr int64_t kMinRowsPerChunk = 16;
constexpr int64_t kMaxChunks = 256;

int64_t channels_of(const Tensor& x) { return x.dim(-1); }

// 0 where y <= 0, else g (torch's threshold_backward: a NaN output passes
// the gradient), written as a bit mask so that it vectorises (a conditional
// load compiles to a branch, and the ReLU mask is unpredictable). Same result
// as the select, NaN and infinite gradients included.
template <typename T>
inline T relu_mask(T y, T g) {
  using Bits = std::conditional_t<sizeof(T) == 4, uint32_t, uint64_t>;
  Bits gb;
  std::memcpy(&gb, &g, sizeof(T));
  const Bits keep = y <= T(0) ? Bits(0) : ~Bits(0);
  gb &= keep;
  T out;
  std::memcpy(&out, &gb, sizeof(T));
  return out;
}

// Per-thread scratch row of C elements (reused across calls).
template <typename T>
T* row_buffer(int64_t C) {
  thread_local std::vector<T> buffer;
  if (buffer.size() < size_t(C)) buffer.resize(size_t(C));
  return buffer.data();
}

// Per-chunk partial sums row_fn(row, acc) into `width` double accumulators
// per chunk, then combined in chunk order into out[0, width): deterministic
// for any thread count.
template <typename RowFn>
void channel_reduce(int64_t rows, int64_t width, std::vector<double>& out, RowFn&& row_fn) {
  FixedChunks chunks(rows, kMinRowsPerChunk, kMaxChunks);
  std::vector<double> partials(size_t(chunks.count * width), 0.0);
#pragma omp parallel for schedule(static) if (rows * width > 32768)
  for (int64_t k = 0; k < chunks.count; ++k) {
    double* acc = partials.data() + k * width;
    for (int64_t r = chunks.begin(k); r < chunks.end(k); ++r) row_fn(r, acc);
  }
  out.assign(size_t(width), 0.0);
  for (int64_t k = 0; k < chunks.count; ++k)
    for (int64_t i = 0; i < width; ++i) out[size_t(i)] += partials[size_t(k * width + i)];
}

}  // namespace

void batch_norm_train_stats(const Tensor& x, double eps, double momentum, Tensor& mean, Tensor& invstd,
                            Tensor& running_mean, Tensor& running_var) {
  if (uses_bf16(x)) return run_via_float(&batch_norm_train_stats, x, eps, momentum, mean, invstd, running_mean, running_var);
  const int64_t C = channels_of(x);
  const int64_t rows = x.numel() / C;
  dispatch_float(x.dtype(), "batch_norm", [&](auto tag) {
    using T = decltype(tag);
    const T* px = x.data<T>();
    // One pass over x: sums of (x - K) and (x - K)^2 in double, shifted by
    // K = the channel's first value. K lies within a few standard deviations
    // of the mean, so sq - s^2/n does not cancel even for channels whose mean
    // is large against their spread.
    std::vector<double> shift(static_cast<size_t>(C));
    for (int64_t c = 0; c < C; ++c) shift[size_t(c)] = double(px[c]);
    const double* pk = shift.data();
    std::vector<double> sums;
    channel_reduce(rows, 2 * C, sums, [&](int64_t r, double* acc) {
      const T* row = px + r * C;
      double* acc_sq = acc + C;
#pragma omp simd
      for (int64_t c = 0; c < C; ++c) {
        const double d = double(row[c]) - pk[c];
        acc[c] += d;
        acc_sq[c] += d * d;
      }
    });
    std::vector<double> mu(static_cast<size_t>(C)), sq(static_cast<size_t>(C));
    for (int64_t c = 0; c < C; ++c) {
      const double s1 = sums[size_t(c)], s2 = sums[size_t(C + c)];
      mu[size_t(c)] = pk[c] + s1 / double(rows);
      // Sum of squared deviations, rounding below 0 clamped; NaN (a NaN or
      // infinite input) is kept, so the outputs and running_var turn NaN as in torch.
      const double deviations = s2 - s1 * s1 / double(rows);
      sq[size_t(c)] = deviations < 0.0 ? 0.0 : deviations;
    }
    T* pm = mean.data<T>();
    T* pi = invstd.data<T>();
    T* prm = running_mean.data<T>();
    T* prv = running_var.data<T>();
    for (int64_t c = 0; c < C; ++c) {
      const double var = sq[size_t(c)] / double(rows);
      const double unbiased = sq[size_t(c)] / double(rows - 1);
      pm[c] = T(mu[size_t(c)]);
      pi[c] = T(1.0 / std::sqrt(var + eps));
      prm[c] = T((1.0 - momentum) * double(prm[c]) + momentum * mu[size_t(c)]);
      prv[c] = T((1.0 - momentum) * double(prv[c]) + momentum * unbiased);
    }
  });
}

void batch_norm_eval_stats(const Tensor& running_mean, const Tensor& running_var, double eps, Tensor& mean,
                           Tensor& invstd) {
  const int64_t C = running_mean.numel();
  dispatch_float(running_mean.dtype(), "batch_norm", [&](auto tag) {
    using T = decltype(tag);
    const T* prm = running_mean.data<T>();
    const T* prv = running_var.data<T>();
    T* pm = mean.data<T>();
    T* pi = invstd.data<T>();
    for (int64_t c = 0; c < C; ++c) {
      pm[c] = prm[c];
      pi[c] = T(1.0 / std::sqrt(double(prv[c]) + eps));
    }
  });
}

void batch_norm_apply(const Tensor& x, const Tensor& mean, const Tensor& invstd, const Tensor& weight,
                      const Tensor& bias, const Tensor& residual, bool relu, Tensor& y) {
  if (uses_bf16(x)) return run_via_float(&batch_norm_apply, x, mean, invstd, weight, bias, residual, relu, y);
  const int64_t C = channels_of(x);
  const int64_t rows = x.numel() / C;
  dispatch_float(x.dtype(), "batch_norm", [&](auto tag) {
    using T = decltype(tag);
    // y = (x - mean) * scale + bias per channel. Not x * scale + shift: that
    // cancels catastrophically in float when the mean is large against the spread.
    std::vector<T> scale(static_cast<size_t>(C));
    const T* pm = mean.data<T>();
    const T* pi = invstd.data<T>();
    const T* pw = weight.data<T>();
    const T* pb = bias.data<T>();
    for (int64_t c = 0; c < C; ++c) scale[size_t(c)] = pw[c] * pi[c];
    const T* px = x.data<T>();
    const T* pr = residual.defined() ? residual.data<T>() : nullptr;
    T* py = y.data<T>();
    const T* ps = scale.data();
#pragma omp parallel for schedule(static) if (rows * C > 32768)
    for (int64_t r = 0; r < rows; ++r) {
      const T* xr = px + r * C;
      T* yr = py + r * C;
      if (pr) {
        const T* rr = pr + r * C;
#pragma omp simd
        for (int64_t c = 0; c < C; ++c) yr[c] = (xr[c] - pm[c]) * ps[c] + pb[c] + rr[c];
      } else {
#pragma omp simd
        for (int64_t c = 0; c < C; ++c) yr[c] = (xr[c] - pm[c]) * ps[c] + pb[c];
      }
      if (relu) {
#pragma omp simd
        for (int64_t c = 0; c < C; ++c) yr[c] = yr[c] <= T(0) ? T(0) : yr[c];  // NaN stays NaN, as torch.relu
      }
    }
  });
}

void batch_norm_backward(const Tensor& x, const Tensor& y, const Tensor& dy, const Tensor& mean,
                         const Tensor& invstd, const Tensor& weight, bool relu, bool training, Tensor& dx,
                         Tensor& dweight, Tensor& dbias, Tensor& dresidual) {
  if (uses_bf16(x))
    return run_via_float(&batch_norm_backward, x, y, dy, mean, invstd, weight, relu, training, dx, dweight, dbias,
                         dresidual);
  const int64_t C = channels_of(x);
  const int64_t rows = x.numel() / C;
  dispatch_float(x.dtype(), "batch_norm_backward", [&](auto tag) {
    using T = decltype(tag);
    const T* px = x.data<T>();
    const T* py = relu ? y.data<T>() : nullptr;
    const T* pdy = dy.data<T>();
    const T* pm = mean.data<T>();
    const T* pi = invstd.data<T>();
    const T* pw = weight.data<T>();
    const bool need_sums = dweight.defined() || dbias.defined() || (dx.defined() && training);

    // Per-channel sums of g and g * (x - mean) (the invstd factor is applied after).
    std::vector<double> sum_g(size_t(C), 0.0), sum_gxm(size_t(C), 0.0);
    if (need_sums) {
      FixedChunks chunks(rows, kMinRowsPerChunk, kMaxChunks);
      std::vector<double> partials(size_t(chunks.count * 2 * C), 0.0);
#pragma omp parallel for schedule(static) if (rows * C > 32768)
      for (int64_t k = 0; k < chunks.count; ++k) {
        double* ag = partials.data() + k * 2 * C;
        double* ax = ag + C;
        T* masked = py ? row_buffer<T>(C) : nullptr;
        for (int64_t r = chunks.begin(k); r < chunks.end(k); ++r) {
          const T* xr = px + r * C;
          const T* gr = pdy + r * C;
          const T* g = gr;
          if (py) {
            // Mask into a scratch row first, so both loops vectorise.
            const T* yr = py + r * C;
#pragma omp simd
            for (int64_t c = 0; c < C; ++c) masked[c] = relu_mask(yr[c], gr[c]);
            g = masked;
          }
#pragma omp simd
          for (int64_t c = 0; c < C; ++c) {
            const double gd = double(g[c]);
            ag[c] += gd;
            ax[c] += gd * (double(xr[c]) - double(pm[c]));
          }
        }
      }
      for (int64_t k = 0; k < chunks.count; ++k)
        for (int64_t c = 0; c < C; ++c) {
          sum_g[size_t(c)] += partials[size_t(k * 2 * C + c)];
          sum_gxm[size_t(c)] += partials[size_t(k * 2 * C + C + c)];
        }
    }
    if (dbias.defined()) {
      T* p = dbias.data<T>();
      for (int64_t c = 0; c < C; ++c) p[c] = T(sum_g[size_t(c)]);
    }
    if (dweight.defined()) {
      T* p = dweight.data<T>();
      for (int64_t c = 0; c < C; ++c) p[c] = T(sum_gxm[size_t(c)] * double(pi[c]));
    }
    if (!dx.defined() && !dresidual.defined()) return;

    // dx = k1 * g + k2 * (x - mean) + k3 per channel: k1 = w * invstd and, in
    // training only, k2 = -k1 * invstd^2 * mean(g (x - mean)), k3 = -k1 * mean(g).
    std::vector<T> k1(static_cast<size_t>(C)), k2(static_cast<size_t>(C)), k3(static_cast<size_t>(C));
    for (int64_t c = 0; c < C; ++c) {
      const double a = double(pw[c]) * double(pi[c]);
      const double inv = double(pi[c]);
      k1[size_t(c)] = T(a);
      k2[size_t(c)] = training ? T(-a * inv * inv * sum_gxm[size_t(c)] / double(rows)) : T(0);
      k3[size_t(c)] = training ? T(-a * sum_g[size_t(c)] / double(rows)) : T(0);
    }
    T* pdx = dx.defined() ? dx.data<T>() : nullptr;
    T* pdr = dresidual.defined() ? dresidual.data<T>() : nullptr;
    const T *q1 = k1.data(), *q2 = k2.data(), *q3 = k3.data();
#pragma omp parallel for schedule(static) if (rows * C > 32768)
    for (int64_t r = 0; r < rows; ++r) {
      const T* xr = px + r * C;
      const T* gr = pdy + r * C;
      const T* g = gr;
      if (py) {
        // The masked gradient goes straight into dresidual (or a row buffer).
        T* masked = pdr ? pdr + r * C : row_buffer<T>(C);
        const T* yr = py + r * C;
#pragma omp simd
        for (int64_t c = 0; c < C; ++c) masked[c] = relu_mask(yr[c], gr[c]);
        g = masked;
      } else if (pdr) {
        T* drr = pdr + r * C;
#pragma omp simd
        for (int64_t c = 0; c < C; ++c) drr[c] = gr[c];
      }
      if (pdx) {
        T* dxr = pdx + r * C;
#pragma omp simd
        for (int64_t c = 0; c < C; ++c) dxr[c] = q1[c] * g[c] + q2[c] * (xr[c] - pm[c]) + q3[c];
      }
    }
  });
}

}  // namespace posenet::kernels::cpu
