// Dtype conversion on CUDA: one pass, any pair of storage types
// (storage.cuh); into bfloat16 through float32, as the CPU kernel.
#include "kernels/cast_kernels.h"
#include "kernels/cuda/storage.cuh"

namespace posenet::kernels::cuda {

namespace {

template <typename D, typename S>
__global__ void cast_kernel(const S* src, D* dst, int64_t n) {
  PN_GRID_STRIDE(i, n) dst[i] = st<D>(acc_t<D>(ld(src[i])));
}

}  // namespace

void cast_copy(const Tensor& src, Tensor& dst) {
  const int64_t n = src.numel();
  dispatch_storage(src.dtype(), "cast", [&](auto src_tag) {
    using S = decltype(src_tag);
    dispatch_storage(dst.dtype(), "cast", [&](auto dst_tag) {
      using D = decltype(dst_tag);
      cast_kernel<D, S><<<blocks_for(n), kThreads, 0, current_stream()>>>(static_cast<const S*>(src.raw_data()),
                                                                          static_cast<D*>(dst.raw_data()), n);
    });
  });
  PN_CUDA_CHECK_LAUNCH();
}

}  // namespace posenet::kernels::cuda
