// The non-finite flag kernel: every thread that meets a NaN or an infinity
// stores 1 into the flag. All stores write the same value, so the result
// does not depend on their order, and no thread ever clears it.
#include "kernels/cuda/common.cuh"
#include "kernels/finite_kernels.h"

namespace posenet::kernels::cuda {
namespace {

// T is the input's storage type, F the flag's (float now).
template <typename T, typename F>
__global__ void flag_non_finite_kernel(const T* x, int64_t n, F* flag) {
  bool bad = false;
  PN_GRID_STRIDE(i, n) bad = bad || !isfinite(x[i]);
  if (bad) flag[0] = F(1);
}

}  // namespace

void flag_non_finite(const Tensor& x, const Tensor& flag) {
  const int64_t n = x.numel();
  dispatch_float(x.dtype(), "flag_non_finite", [&](auto tag) {
    using T = decltype(tag);
    flag_non_finite_kernel<T, float><<<blocks_for(n), kThreads, 0, current_stream()>>>(
        static_cast<const T*>(x.raw_data()), n, static_cast<float*>(flag.raw_data()));
    PN_CUDA_CHECK_LAUNCH();
  });
}

}  // namespace posenet::kernels::cuda
