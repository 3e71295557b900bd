// Shared helpers for posenet's CUDA kernels: launch geometry and dtype dispatch.
#pragma once
#include <cuda_runtime.h>

#include "core/cuda_check.h"
#include "core/tensor.h"
#include "kernels/dispatch.h"

namespace posenet::kernels::cuda {

constexpr int kThreads = 256;

inline unsigned blocks_for(int64_t n, int threads = kThreads) {
  int64_t b = (n + threads - 1) / threads;
  if (b < 1) b = 1;
  if (b > 65535LL * 16) b = 65535LL * 16;  // grid-stride loops cover the rest
  return unsigned(b);
}

#define PN_GRID_STRIDE(i, n) \
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < (n); i += int64_t(gridDim.x) * blockDim.x)

// Fixed-order sum of one double per thread over a block of kBlock threads;
// the result is valid in thread 0. The same tree every launch: deterministic.
template <int kBlock>
__device__ inline double block_sum(double v) {
  __shared__ double s[kBlock];
  s[threadIdx.x] = v;
  __syncthreads();
  for (int step = kBlock / 2; step > 0; step >>= 1) {
    if (int(threadIdx.x) < step) s[threadIdx.x] += s[threadIdx.x + step];
    __syncthreads();
  }
  return s[0];
}

}  // namespace posenet::kernels::cuda
