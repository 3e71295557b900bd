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

}  // namespace posenet::kernels::cuda
