// Dtype conversion on CUDA: one pass in 16-byte packs, any pair of storage
// types (storage.cuh); into bfloat16 through float32, as the CPU kernel.
#include "kernels/cast_kernels.h"
#include "kernels/cuda/storage.cuh"

namespace posenet::kernels::cuda {

namespace {

template <typename D, typename S>
__device__ __forceinline__ D converted(S v) {
  return st<D>(acc_t<D>(ld(v)));
}

// Packs of N elements (16 bytes of the wider type) where both pointers
// allow, then the tail one by one.
template <typename D, typename S, int N>
__global__ void cast_kernel(const S* src, D* dst, int64_t n, bool packed) {
  const int64_t packs = packed ? n / N : 0;
  for (int64_t p = grid_thread(); p < packs; p += grid_threads()) {
    const Pack<S, N> in = load_pack<S, N>(src, p);
    Pack<D, N> out;
    for (int k = 0; k < N; ++k) out.v[k] = converted<D>(in.v[k]);
    store_pack<D, N>(dst, p, out);
  }
  for (int64_t i = packs * N + grid_thread(); i < n; i += grid_threads()) dst[i] = converted<D>(src[i]);
}

}  // namespace

void cast_copy(const Tensor& src, Tensor& dst) {
  const int64_t n = src.numel();
  dispatch_storage(src.dtype(), "cast", [&](auto src_tag) {
    using S = decltype(src_tag);
    dispatch_storage(dst.dtype(), "cast", [&](auto dst_tag) {
      using D = decltype(dst_tag);
      constexpr int N = 16 / int(sizeof(S) > sizeof(D) ? sizeof(S) : sizeof(D));
      const S* ps = static_cast<const S*>(src.raw_data());
      D* pd = static_cast<D*>(dst.raw_data());
      const bool packed = packable<S, N>(ps) && packable<D, N>(pd);
      cast_kernel<D, S, N><<<blocks_for(packed ? n / N + n % N : n), kThreads, 0, current_stream()>>>(ps, pd, n,
                                                                                                     packed);
    });
  });
  PN_CUDA_CHECK_LAUNCH();
}

}  // namespace posenet::kernels::cuda
