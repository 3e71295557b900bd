// Weighted-MSE CUDA kernels. The forward sum is deterministic: a fixed
// number of blocks (independent of the device) each reduce a fixed
// grid-stride subset in double, then one block adds the partials in order.
#include "kernels/cuda/storage.cuh"
#include "kernels/loss_kernels.h"

namespace posenet::kernels::cuda {
namespace {

constexpr int kPartialBlocks = 256;

template <typename T>
__global__ void weighted_mse_partial_kernel(const T* pred, const T* target, const T* weight, int64_t n, int64_t HW,
                                            int64_t J, double* partials) {
  double acc = 0.0;
  for (int64_t i = blockIdx.x * int64_t(kThreads) + threadIdx.x; i < n; i += int64_t(kPartialBlocks) * kThreads) {
    const acc_t<T> w = ld(weight[(i / (HW * J)) * J + i % J]);
    const acc_t<T> d = w * ld(pred[i]) - w * ld(target[i]);
    acc += double(d) * double(d);
  }
  const double total = block_sum<kThreads>(acc);
  if (threadIdx.x == 0) partials[blockIdx.x] = total;
}

template <typename T>
__global__ void weighted_mse_backward_kernel(const T* pred, const T* target, const T* weight, const T* grad,
                                             int64_t n, int64_t HW, int64_t J, T* dpred) {
  const acc_t<T> scale = acc_t<T>(double(ld(grad[0])) / double(n));
  PN_GRID_STRIDE(i, n) {
    const acc_t<T> w = ld(weight[(i / (HW * J)) * J + i % J]);
    dpred[i] = st<T>(scale * w * (w * ld(pred[i]) - w * ld(target[i])));
  }
}

}  // namespace

void weighted_mse_forward(const Tensor& pred, const Tensor& target, const Tensor& weight, Tensor& out) {
  const int64_t n = pred.numel();
  const int64_t HW = pred.dim(1) * pred.dim(2), J = pred.dim(3);
  Tensor partials = Tensor::empty({kPartialBlocks}, DType::F64, pred.device());
  dispatch_storage(pred.dtype(), "weighted_mse", [&](auto tag) {
    using T = decltype(tag);
    weighted_mse_partial_kernel<T><<<kPartialBlocks, kThreads, 0, current_stream()>>>(
        static_cast<const T*>(pred.raw_data()), static_cast<const T*>(target.raw_data()),
        static_cast<const T*>(weight.raw_data()), n, HW, J, static_cast<double*>(partials.raw_data()));
    PN_CUDA_CHECK_LAUNCH();
    half_mean_of_partials_kernel<T, kPartialBlocks><<<1, kPartialBlocks, 0, current_stream()>>>(
        static_cast<const double*>(partials.raw_data()), n, static_cast<T*>(out.raw_data()));
    PN_CUDA_CHECK_LAUNCH();
  });
}

void weighted_mse_backward(const Tensor& pred, const Tensor& target, const Tensor& weight, const Tensor& grad,
                           Tensor& dpred) {
  const int64_t n = pred.numel();
  const int64_t HW = pred.dim(1) * pred.dim(2), J = pred.dim(3);
  dispatch_storage(pred.dtype(), "weighted_mse_backward", [&](auto tag) {
    using T = decltype(tag);
    weighted_mse_backward_kernel<T><<<blocks_for(n), kThreads, 0, current_stream()>>>(
        static_cast<const T*>(pred.raw_data()), static_cast<const T*>(target.raw_data()),
        static_cast<const T*>(weight.raw_data()), static_cast<const T*>(grad.raw_data()), n, HW, J,
        static_cast<T*>(dpred.raw_data()));
  });
  PN_CUDA_CHECK_LAUNCH();
}

}  // namespace posenet::kernels::cuda
