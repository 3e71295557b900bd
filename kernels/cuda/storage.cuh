// Storage types of the hand-written CUDA kernels: float, double and
// __nv_bfloat16. A kernel loads its storage type with ld() into acc_t<T>
// (float for float and bfloat16, double for double), computes and
// accumulates there, and stores with st<T>() (round to nearest even for
// bfloat16, as the CPU's float_to_bf16).
#pragma once
#include <cuda_bf16.h>

#include <type_traits>

#include "kernels/cuda/common.cuh"

namespace posenet::kernels::cuda {

template <typename T>
using acc_t = std::conditional_t<std::is_same_v<T, double>, double, float>;

__device__ __forceinline__ float ld(float v) { return v; }
__device__ __forceinline__ double ld(double v) { return v; }
__device__ __forceinline__ float ld(__nv_bfloat16 v) { return __bfloat162float(v); }

template <typename T>
__device__ __forceinline__ T st(acc_t<T> v) {
  if constexpr (std::is_same_v<T, __nv_bfloat16>) return __float2bfloat16(v);
  else return v;
}

// Second pass of the two-level losses: one block of kBlocks threads adds the
// per-block partial sums in order and writes 0.5 * sum / n.
template <typename T, int kBlocks>
__global__ void half_mean_of_partials_kernel(const double* partials, int64_t n, T* out) {
  const double total = block_sum<kBlocks>(partials[threadIdx.x]);
  if (threadIdx.x == 0) out[0] = st<T>(acc_t<T>(0.5 * total / double(n)));
}

// Calls fn(T{}) with T the storage type of dtype: dispatch_float plus bfloat16.
template <typename Fn>
void dispatch_storage(DType dtype, const char* op, Fn&& fn) {
  switch (dtype) {
    case DType::F32: fn(float{}); return;
    case DType::F64: fn(double{}); return;
    case DType::BF16: fn(__nv_bfloat16{}); return;
    default: PN_FAIL(op, ": dtype ", dtype_name(dtype), " is not supported by this CUDA kernel");
  }
}

}  // namespace posenet::kernels::cuda
