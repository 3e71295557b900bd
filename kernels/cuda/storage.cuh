// Storage types of the hand-written CUDA kernels: float, double and
// __nv_bfloat16. A kernel loads its storage type with ld() into acc_t<T>
// (float for float and bfloat16, double for double), computes and
// accumulates there, and stores with st<T>() (round to nearest even for
// bfloat16, as the CPU's float_to_bf16).
#pragma once
#include <cuda_bf16.h>

#include <cstdint>
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

// 16-byte vector access for the streaming kernels: N elements of T moved as
// one load or store (N * sizeof(T) <= 16 bytes), where every pointer is
// aligned to it; the kernels finish the last n % N elements one by one.
template <typename T, int N>
struct alignas(sizeof(T) * N) Pack {
  T v[N];
};
template <typename T>
constexpr int kPackOf = 16 / int(sizeof(T));  // elements of T in 16 bytes

inline bool aligned_to(const void* p, size_t bytes) {
  return p == nullptr || reinterpret_cast<uintptr_t>(p) % bytes == 0;
}
template <typename T, int N, typename... Ptrs>
bool packable(Ptrs... ptrs) {
  return (aligned_to(ptrs, sizeof(T) * N) && ...);
}

template <typename T, int N>
__device__ __forceinline__ Pack<T, N> load_pack(const T* p, int64_t pack) {
  return reinterpret_cast<const Pack<T, N>*>(p)[pack];
}
template <typename T, int N>
__device__ __forceinline__ void store_pack(T* p, int64_t pack, const Pack<T, N>& v) {
  reinterpret_cast<Pack<T, N>*>(p)[pack] = v;
}

// Thread i's first index in a grid-stride loop and the loop's stride.
__device__ __forceinline__ int64_t grid_thread() { return blockIdx.x * int64_t(blockDim.x) + threadIdx.x; }
__device__ __forceinline__ int64_t grid_threads() { return int64_t(gridDim.x) * blockDim.x; }

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
