// Layout transposes for the convolutions' float64 path (cuDNN has no NHWC
// float64 kernels, see conv.cu); plain copies, so any storage type.
#include "kernels/cuda/storage.cuh"
#include "kernels/cuda/conv_layout.h"

namespace posenet::kernels::cuda {

namespace {

// [n, s, c] (channels last) <-> [n, c, s] (channels first), s the flattened
// spatial extent: NHWC <-> NCHW for activations, KRSC <-> KCRS for filters.
template <typename T>
__global__ void to_channels_first_kernel(const T* src, T* dst, int64_t S, int64_t C, int64_t total) {
  PN_GRID_STRIDE(i, total) {  // i indexes dst [n, c, s]
    const int64_t sp = i % S, c = (i / S) % C, n = i / (S * C);
    dst[i] = src[(n * S + sp) * C + c];
  }
}
template <typename T>
__global__ void to_channels_last_kernel(const T* src, T* dst, int64_t S, int64_t C, int64_t total) {
  PN_GRID_STRIDE(i, total) {  // i indexes dst [n, s, c]
    const int64_t c = i % C, sp = (i / C) % S, n = i / (S * C);
    dst[i] = src[(n * C + c) * S + sp];
  }
}

}  // namespace

void to_channels_first(const Tensor& src, Tensor& dst, int64_t S, int64_t C) {
  const int64_t n = src.numel();
  dispatch_storage(src.dtype(), "conv (CUDA)", [&](auto tag) {
    using T = decltype(tag);
    to_channels_first_kernel<<<blocks_for(n), kThreads, 0, current_stream()>>>(
        static_cast<const T*>(src.raw_data()), static_cast<T*>(dst.raw_data()), S, C, n);
  });
  PN_CUDA_CHECK_LAUNCH();
}

void to_channels_last(const Tensor& src, Tensor& dst, int64_t S, int64_t C) {
  const int64_t n = dst.numel();
  dispatch_storage(dst.dtype(), "conv (CUDA)", [&](auto tag) {
    using T = decltype(tag);
    to_channels_last_kernel<<<blocks_for(n), kThreads, 0, current_stream()>>>(
        static_cast<const T*>(src.raw_data()), static_cast<T*>(dst.raw_data()), S, C, n);
  });
  PN_CUDA_CHECK_LAUNCH();
}

}  // namespace posenet::kernels::cuda
