// The folded convolution's inference epilogue on CUDA (kernels/conv_epilogue_kernels.h):
// bias + optional residual + ReLU in one pass over the convolution's output.
// Templated on the storage type, float arithmetic for 16-bit storage.
#include <type_traits>

#include "kernels/conv_epilogue_kernels.h"
#include "kernels/cuda/common.cuh"

namespace posenet::kernels::cuda {

namespace {

template <typename T>
using Compute = std::conditional_t<std::is_same_v<T, double>, double, float>;

template <typename T>
__global__ void bias_residual_relu_kernel(T* y, const T* bias, const T* residual, int64_t n, int64_t C, bool relu) {
  using A = Compute<T>;
  PN_GRID_STRIDE(i, n) {
    A v = A(y[i]) + A(bias[i % C]);
    if (residual != nullptr) v += A(residual[i]);
    y[i] = T(relu && v <= A(0) ? A(0) : v);  // NaN stays NaN, as torch.relu
  }
}

}  // namespace

void conv_bias_residual_relu(Tensor& y, const Tensor& bias, const Tensor& residual, bool relu) {
  const int64_t n = y.numel(), C = bias.numel();
  dispatch_float(y.dtype(), "conv_bias_residual_relu", [&](auto tag) {
    using T = decltype(tag);
    const T* r = residual.defined() ? static_cast<const T*>(residual.raw_data()) : nullptr;
    bias_residual_relu_kernel<T><<<blocks_for(n), kThreads, 0, current_stream()>>>(
        static_cast<T*>(y.raw_data()), static_cast<const T*>(bias.raw_data()), r, n, C, relu);
  });
  PN_CUDA_CHECK_LAUNCH();
}

}  // namespace posenet::kernels::cuda
