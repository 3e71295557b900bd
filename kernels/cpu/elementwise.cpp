#include "kernels/elementwise_kernels.h"

#include "kernels/dispatch.h"
#include "kernels/cpu/via_float.h"

namespace posenet::kernels::cpu {

void add_forward(const Tensor& a, const Tensor& b, Tensor& out) {
  if (uses_bf16(a)) return run_via_float(&add_forward, a, b, out);
  const int64_t n = a.numel();
  dispatch_float(a.dtype(), "add", [&](auto tag) {
    using scalar_t = decltype(tag);
    const scalar_t* pa = a.data<scalar_t>();
    const scalar_t* pb = b.data<scalar_t>();
    scalar_t* po = out.data<scalar_t>();
#pragma omp parallel for simd if (n > 32768)
    for (int64_t i = 0; i < n; ++i) po[i] = pa[i] + pb[i];
  });
}

void mul_forward(const Tensor& a, const Tensor& b, Tensor& out) {
  if (uses_bf16(a)) return run_via_float(&mul_forward, a, b, out);
  const int64_t n = a.numel();
  dispatch_float(a.dtype(), "mul", [&](auto tag) {
    using scalar_t = decltype(tag);
    const scalar_t* pa = a.data<scalar_t>();
    const scalar_t* pb = b.data<scalar_t>();
    scalar_t* po = out.data<scalar_t>();
#pragma omp parallel for simd if (n > 32768)
    for (int64_t i = 0; i < n; ++i) po[i] = pa[i] * pb[i];
  });
}

void relu_forward(const Tensor& x, Tensor& y) {
  if (uses_bf16(x)) return run_via_float(&relu_forward, x, y);
  const int64_t n = x.numel();
  dispatch_float(x.dtype(), "relu", [&](auto tag) {
    using scalar_t = decltype(tag);
    const scalar_t* px = x.data<scalar_t>();
    scalar_t* py = y.data<scalar_t>();
    // As torch.relu: NaN stays NaN (only values <= 0 become 0).
#pragma omp parallel for simd if (n > 32768)
    for (int64_t i = 0; i < n; ++i) py[i] = px[i] <= scalar_t(0) ? scalar_t(0) : px[i];
  });
}

void relu_backward(const Tensor& y, const Tensor& dy, Tensor& dx) {
  if (uses_bf16(y)) return run_via_float(&relu_backward, y, dy, dx);
  const int64_t n = y.numel();
  dispatch_float(y.dtype(), "relu_backward", [&](auto tag) {
    using scalar_t = decltype(tag);
    const scalar_t* py = y.data<scalar_t>();
    const scalar_t* pdy = dy.data<scalar_t>();
    scalar_t* pdx = dx.data<scalar_t>();
    // torch's threshold_backward(dy, y, 0): 0 where y <= 0, else dy, so the
    // gradient passes where the output is NaN.
#pragma omp parallel for simd if (n > 32768)
    for (int64_t i = 0; i < n; ++i) pdx[i] = py[i] <= scalar_t(0) ? scalar_t(0) : pdy[i];
  });
}

void scale_forward(const Tensor& x, double factor, Tensor& y) {
  if (uses_bf16(x)) return run_via_float(&scale_forward, x, factor, y);
  const int64_t n = x.numel();
  dispatch_float(x.dtype(), "scale", [&](auto tag) {
    using scalar_t = decltype(tag);
    const scalar_t* px = x.data<scalar_t>();
    scalar_t* py = y.data<scalar_t>();
    const scalar_t f = scalar_t(factor);
#pragma omp parallel for simd if (n > 32768)
    for (int64_t i = 0; i < n; ++i) py[i] = px[i] * f;
  });
}

void sum_forward(const Tensor& x, Tensor& out) {
  if (uses_bf16(x)) return run_via_float(&sum_forward, x, out);
  const int64_t n = x.numel();
  dispatch_float(x.dtype(), "sum", [&](auto tag) {
    using scalar_t = decltype(tag);
    const scalar_t* px = x.data<scalar_t>();
    // Accumulate in double, in a fixed order, so the result does not depend
    // on the thread count.
    double total = 0.0;
    for (int64_t i = 0; i < n; ++i) total += double(px[i]);
    out.data<scalar_t>()[0] = scalar_t(total);
  });
}

void fill_like_scalar(const Tensor& scalar, Tensor& out) {
  if (uses_bf16(out)) return run_via_float(&fill_like_scalar, scalar, out);
  dispatch_float(out.dtype(), "fill", [&](auto tag) {
    using scalar_t = decltype(tag);
    const scalar_t v = scalar.data<scalar_t>()[0];
    scalar_t* po = out.data<scalar_t>();
    const int64_t n = out.numel();
    for (int64_t i = 0; i < n; ++i) po[i] = v;
  });
}

}  // namespace posenet::kernels::cpu
