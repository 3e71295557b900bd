#include "kernels/conv_epilogue_kernels.h"
#include "kernels/dispatch.h"

namespace posenet::kernels::cpu {

void conv_bias_residual_relu(Tensor& y, const Tensor& bias, const Tensor& residual, bool relu) {
  const int64_t C = bias.numel(), rows = y.numel() / C;
  dispatch_float(y.dtype(), "conv_bias_residual_relu", [&](auto tag) {
    using T = decltype(tag);
    T* py = y.data<T>();
    const T* pb = bias.data<T>();
    const T* pr = residual.defined() ? residual.data<T>() : nullptr;
#pragma omp parallel for if (rows * C > 32768)
    for (int64_t m = 0; m < rows; ++m)
      for (int64_t c = 0; c < C; ++c) {
        const int64_t i = m * C + c;
        T v = py[i] + pb[c];
        if (pr != nullptr) v += pr[i];
        // As torch.relu: NaN stays NaN.
        py[i] = relu && v <= T(0) ? T(0) : v;
      }
  });
}

}  // namespace posenet::kernels::cpu
