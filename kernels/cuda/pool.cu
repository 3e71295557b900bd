// Max-pool CUDA kernels (NHWC): one thread per output element forward; the
// backward gathers, one thread per input element, the gradients of the
// windows whose argmax it is (fixed order, no atomics: deterministic).
#include "kernels/cuda/storage.cuh"
#include "kernels/pool_kernels.h"

namespace posenet::kernels::cuda {
namespace {

struct Geometry {
  int64_t N, H, W, C, P, Q;
  int kh, kw, sh, sw, ph, pw;
};

template <typename T>
__global__ void max_pool_forward_kernel(const T* x, Geometry g, T* y, int32_t* argmax, int64_t total) {
  PN_GRID_STRIDE(i, total) {
    const int64_t c = i % g.C;
    const int64_t ow = (i / g.C) % g.Q;
    const int64_t oh = (i / (g.C * g.Q)) % g.P;
    const int64_t n = i / (g.C * g.Q * g.P);
    const int64_t h0 = oh * g.sh - g.ph, w0 = ow * g.sw - g.pw;
    const int64_t hs = max(h0, int64_t(0)), he = min(h0 + g.kh, g.H);
    const int64_t ws = max(w0, int64_t(0)), we = min(w0 + g.kw, g.W);
    acc_t<T> best = -INFINITY;
    int32_t best_idx = int32_t(hs * g.W + ws);
    for (int64_t h = hs; h < he; ++h)
      for (int64_t w = ws; w < we; ++w) {
        const acc_t<T> v = ld(x[((n * g.H + h) * g.W + w) * g.C + c]);
        if (v > best || isnan(v)) {
          best = v;
          best_idx = int32_t(h * g.W + w);
        }
      }
    y[i] = st<T>(best);
    if (argmax) argmax[i] = best_idx;
  }
}

template <typename T>
__global__ void max_pool_backward_kernel(const T* dy, const int32_t* argmax, Geometry g, T* dx, int64_t total) {
  PN_GRID_STRIDE(i, total) {
    const int64_t c = i % g.C;
    const int64_t w = (i / g.C) % g.W;
    const int64_t h = (i / (g.C * g.W)) % g.H;
    const int64_t n = i / (g.C * g.W * g.H);
    // Output rows whose window covers h: oh * sh - ph <= h < oh * sh - ph + kh.
    const int64_t oh0 = max(int64_t(0), (h + g.ph - g.kh + g.sh) / g.sh);
    const int64_t oh1 = min(g.P - 1, (h + g.ph) / g.sh);
    const int64_t ow0 = max(int64_t(0), (w + g.pw - g.kw + g.sw) / g.sw);
    const int64_t ow1 = min(g.Q - 1, (w + g.pw) / g.sw);
    const int32_t here = int32_t(h * g.W + w);
    acc_t<T> acc = 0;
    for (int64_t oh = oh0; oh <= oh1; ++oh)
      for (int64_t ow = ow0; ow <= ow1; ++ow) {
        const int64_t o = ((n * g.P + oh) * g.Q + ow) * g.C + c;
        if (argmax[o] == here) acc += ld(dy[o]);
      }
    dx[i] = st<T>(acc);
  }
}

Geometry geometry(const Tensor& in, const Tensor& out, const ops::MaxPool2dParams& p) {
  return {in.dim(0), in.dim(1),  in.dim(2),  in.dim(3),  out.dim(1), out.dim(2),
          p.kernel_h, p.kernel_w, p.stride_h, p.stride_w, p.pad_h,    p.pad_w};
}

}  // namespace

void max_pool2d_forward(const Tensor& x, const ops::MaxPool2dParams& p, Tensor& y, int32_t* argmax) {
  const Geometry g = geometry(x, y, p);
  const int64_t total = y.numel();
  dispatch_storage(x.dtype(), "max_pool2d", [&](auto tag) {
    using T = decltype(tag);
    max_pool_forward_kernel<T><<<blocks_for(total), kThreads, 0, current_stream()>>>(
        static_cast<const T*>(x.raw_data()), g, static_cast<T*>(y.raw_data()), argmax, total);
  });
  PN_CUDA_CHECK_LAUNCH();
}

void max_pool2d_backward(const Tensor& dy, const int32_t* argmax, const ops::MaxPool2dParams& p, Tensor& dx) {
  const Geometry g = geometry(dx, dy, p);
  const int64_t total = dx.numel();
  dispatch_storage(dx.dtype(), "max_pool2d_backward", [&](auto tag) {
    using T = decltype(tag);
    max_pool_backward_kernel<T><<<blocks_for(total), kThreads, 0, current_stream()>>>(
        static_cast<const T*>(dy.raw_data()), argmax, g, static_cast<T*>(dx.raw_data()), total);
  });
  PN_CUDA_CHECK_LAUNCH();
}

}  // namespace posenet::kernels::cuda
