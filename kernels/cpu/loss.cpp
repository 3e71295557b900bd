#include "kernels/loss_kernels.h"

#include <vector>

#include "kernels/cpu/chunks.h"
#include "kernels/dispatch.h"
#include "kernels/cpu/via_float.h"

namespace posenet::kernels::cpu {

void weighted_mse_forward(const Tensor& pred, const Tensor& target, const Tensor& weight, Tensor& out) {
  if (uses_bf16(pred)) return run_via_float(&weighted_mse_forward, pred, target, weight, out);
  const int64_t N = pred.dim(0), J = pred.dim(3);
  const int64_t HW = pred.dim(1) * pred.dim(2);
  const int64_t rows = N * HW;  // one row = the J joints of one pixel
  dispatch_float(pred.dtype(), "weighted_mse", [&](auto tag) {
    using T = decltype(tag);
    const T* pp = pred.data<T>();
    const T* pt = target.data<T>();
    const T* pw = weight.data<T>();
    FixedChunks chunks(rows, 64, 256);
    std::vector<double> partials(size_t(chunks.count), 0.0);
#pragma omp parallel for schedule(static) if (rows * J > 32768)
    for (int64_t k = 0; k < chunks.count; ++k) {
      double acc = 0.0;
      for (int64_t r = chunks.begin(k); r < chunks.end(k); ++r) {
        const T* wn = pw + (r / HW) * J;
        for (int64_t j = 0; j < J; ++j) {
          // (w * pred - w * target) as PyTorch's JointsMSELoss: NaN in pred
          // propagates even where w = 0.
          const T d = wn[j] * pp[r * J + j] - wn[j] * pt[r * J + j];
          acc += double(d) * double(d);
        }
      }
      partials[size_t(k)] = acc;
    }
    double total = 0.0;
    for (double v : partials) total += v;
    out.data<T>()[0] = T(0.5 * total / double(pred.numel()));
  });
}

void weighted_mse_backward(const Tensor& pred, const Tensor& target, const Tensor& weight, const Tensor& grad,
                           Tensor& dpred) {
  if (uses_bf16(pred)) return run_via_float(&weighted_mse_backward, pred, target, weight, grad, dpred);
  const int64_t J = pred.dim(3);
  const int64_t HW = pred.dim(1) * pred.dim(2);
  const int64_t n = pred.numel();
  dispatch_float(pred.dtype(), "weighted_mse_backward", [&](auto tag) {
    using T = decltype(tag);
    const T* pp = pred.data<T>();
    const T* pt = target.data<T>();
    const T* pw = weight.data<T>();
    T* pd = dpred.data<T>();
    const T scale = T(double(grad.data<T>()[0]) / double(n));
#pragma omp parallel for schedule(static) if (n > 32768)
    for (int64_t i = 0; i < n; ++i) {
      const T w = pw[(i / (HW * J)) * J + i % J];
      pd[i] = scale * w * (w * pp[i] - w * pt[i]);
    }
  });
}

}  // namespace posenet::kernels::cpu
