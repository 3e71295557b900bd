#include "kernels/pool_kernels.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "kernels/dispatch.h"
#include "kernels/cpu/via_float.h"

namespace posenet::kernels::cpu {

void max_pool2d_forward(const Tensor& x, const ops::MaxPool2dParams& p, Tensor& y, int32_t* argmax) {
  if (uses_bf16(x)) return run_via_float(&max_pool2d_forward, x, p, y, argmax);
  const int64_t N = x.dim(0), H = x.dim(1), W = x.dim(2), C = x.dim(3);
  const int64_t P = y.dim(1), Q = y.dim(2);
  dispatch_float(x.dtype(), "max_pool2d", [&](auto tag) {
    using T = decltype(tag);
    const T* px = x.data<T>();
    T* py = y.data<T>();
#pragma omp parallel for schedule(static) if (N * P * Q * C > 32768)
    for (int64_t npq = 0; npq < N * P * Q; ++npq) {
      const int64_t n = npq / (P * Q), oh = (npq / Q) % P, ow = npq % Q;
      const int64_t h0 = oh * p.stride_h - p.pad_h, w0 = ow * p.stride_w - p.pad_w;
      const int64_t hs = std::max<int64_t>(h0, 0), he = std::min<int64_t>(h0 + p.kernel_h, H);
      const int64_t ws = std::max<int64_t>(w0, 0), we = std::min<int64_t>(w0 + p.kernel_w, W);
      T* yo = py + npq * C;
      // Without argmax (no gradient needed) the indices go to a scratch row.
      thread_local std::vector<int32_t> scratch;
      if (!argmax && scratch.size() < size_t(C)) scratch.resize(size_t(C));
      int32_t* io = argmax ? argmax + npq * C : scratch.data();
      // Padding never wins: start from -inf at the first real position.
      for (int64_t c = 0; c < C; ++c) {
        yo[c] = -std::numeric_limits<T>::infinity();
        io[c] = int32_t(hs * W + ws);
      }
      for (int64_t h = hs; h < he; ++h)
        for (int64_t w = ws; w < we; ++w) {
          const T* xi = px + ((n * H + h) * W + w) * C;
          const int32_t here = int32_t(h * W + w);
          for (int64_t c = 0; c < C; ++c) {
            // Strictly greater keeps the first maximum; NaN wins (as PyTorch).
            if (xi[c] > yo[c] || std::isnan(xi[c])) {
              yo[c] = xi[c];
              io[c] = here;
            }
          }
        }
    }
  });
}

void max_pool2d_backward(const Tensor& dy, const int32_t* argmax, const ops::MaxPool2dParams& p, Tensor& dx) {
  if (uses_bf16(dx)) return run_via_float(&max_pool2d_backward, dy, argmax, p, dx);
  const int64_t N = dx.dim(0), H = dx.dim(1), W = dx.dim(2), C = dx.dim(3);
  const int64_t PQ = dy.dim(1) * dy.dim(2);
  dispatch_float(dx.dtype(), "max_pool2d_backward", [&](auto tag) {
    using T = decltype(tag);
    const T* pdy = dy.data<T>();
    T* pdx = dx.data<T>();
    std::fill(pdx, pdx + dx.numel(), T(0));
    // One image per iteration: overlapping windows add into the same input
    // in a fixed order whatever the thread count.
#pragma omp parallel for schedule(static) if (N * PQ * C > 32768)
    for (int64_t n = 0; n < N; ++n) {
      T* dxn = pdx + n * H * W * C;
      for (int64_t o = 0; o < PQ; ++o) {
        const T* g = pdy + (n * PQ + o) * C;
        const int32_t* idx = argmax + (n * PQ + o) * C;
        for (int64_t c = 0; c < C; ++c) dxn[int64_t(idx[c]) * C + c] += g[c];
      }
    }
  });
}

}  // namespace posenet::kernels::cpu
