// Gaussian-target CUDA kernels: one thread per map element, each computing its
// joint's centre from the joints directly (a division and a trunc: cheaper
// than a second launch). The loss sum is deterministic as in loss.cu: a fixed
// number of blocks reduce fixed grid-stride subsets in double, then one block
// adds the partials in order.
#include "kernels/cuda/storage.cuh"
#include "kernels/targets_kernels.h"
#include "kernels/gaussian_rule.h"

namespace posenet::kernels::cuda {
namespace {

constexpr int kPartialBlocks = 256;

struct RuleArgs {
  double stride_x, stride_y, inv_two_sigma2;
  int cutoff_r, r, width, height;
  int64_t J;
};

RuleArgs rule_args(const ops::GaussianTargetSpec& s, int64_t J) {
  return {s.stride_x, s.stride_y, 1.0 / (2 * s.sigma * s.sigma), gaussian_radius(s.cutoff()), gaussian_radius(s.sigma),
          s.width, s.height, J};
}

template <typename T>
__device__ GaussianCentre centre_of(const T* joints, const T* weight, int64_t bj, const RuleArgs& a) {
  return gaussian_centre(double(ld(joints[2 * bj])), double(ld(joints[2 * bj + 1])), double(ld(weight[bj])), a.stride_x,
                         a.stride_y, a.cutoff_r, a.width, a.height);
}

// Element i of a [B, H, W, J] map: its (b, j) index, its weight and target.
template <typename T>
__device__ void target_at(const T* joints, const T* weight, int64_t i, const RuleArgs& a, acc_t<T>& w, acc_t<T>& t) {
  const int64_t j = i % a.J;
  const int64_t pixel = i / a.J;
  const int x = int(pixel % a.width);
  const int64_t by = pixel / a.width;
  const int y = int(by % a.height);
  const int64_t b = by / a.height;
  const GaussianCentre c = centre_of(joints, weight, b * a.J + j, a);
  w = acc_t<T>(c.visible ? 1 : 0);
  t = acc_t<T>(gaussian_value(x, y, c, a.r, a.inv_two_sigma2));
}

template <typename T>
__global__ void targets_kernel(const T* joints, const T* weight, int64_t n, RuleArgs a, T* maps) {
  PN_GRID_STRIDE(i, n) {
    acc_t<T> w, t;
    target_at(joints, weight, i, a, w, t);
    maps[i] = st<T>(t);
  }
}

template <typename T>
__global__ void target_weights_kernel(const T* joints, const T* weight, int64_t n, RuleArgs a, T* out) {
  PN_GRID_STRIDE(i, n) out[i] = st<T>(acc_t<T>(centre_of(joints, weight, i, a).visible ? 1 : 0));
}

template <typename T>
__global__ void mse_partial_kernel(const T* pred, const T* joints, const T* weight, int64_t n, RuleArgs a,
                                   double* partials) {
  double acc = 0.0;
  for (int64_t i = blockIdx.x * int64_t(kThreads) + threadIdx.x; i < n; i += int64_t(kPartialBlocks) * kThreads) {
    acc_t<T> w, t;
    target_at(joints, weight, i, a, w, t);
    const acc_t<T> d = w * ld(pred[i]) - w * t;
    acc += double(d) * double(d);
  }
  const double total = block_sum<kThreads>(acc);
  if (threadIdx.x == 0) partials[blockIdx.x] = total;
}

template <typename T>
__global__ void mse_backward_kernel(const T* pred, const T* joints, const T* weight, const T* grad, int64_t n,
                                    RuleArgs a, T* dpred) {
  const acc_t<T> scale = acc_t<T>(double(ld(grad[0])) / double(n));
  PN_GRID_STRIDE(i, n) {
    acc_t<T> w, t;
    target_at(joints, weight, i, a, w, t);
    dpred[i] = st<T>(scale * w * (w * ld(pred[i]) - w * t));
  }
}

template <typename T>
const T* cptr(const Tensor& t) {
  return static_cast<const T*>(t.raw_data());
}

}  // namespace

void gaussian_targets(const Tensor& joints, const Tensor& weight, const ops::GaussianTargetSpec& spec, Tensor& maps,
                      Tensor& weights_out) {
  const RuleArgs a = rule_args(spec, joints.dim(1));
  const int64_t n = maps.numel(), nj = weights_out.numel();
  dispatch_storage(maps.dtype(), "gaussian_targets", [&](auto tag) {
    using T = decltype(tag);
    targets_kernel<T><<<blocks_for(n), kThreads, 0, current_stream()>>>(cptr<T>(joints), cptr<T>(weight), n, a,
                                                                         static_cast<T*>(maps.raw_data()));
    PN_CUDA_CHECK_LAUNCH();
    target_weights_kernel<T><<<blocks_for(nj), kThreads, 0, current_stream()>>>(
        cptr<T>(joints), cptr<T>(weight), nj, a, static_cast<T*>(weights_out.raw_data()));
    PN_CUDA_CHECK_LAUNCH();
  });
}

void gaussian_weighted_mse_forward(const Tensor& pred, const Tensor& joints, const Tensor& weight,
                                   const ops::GaussianTargetSpec& spec, Tensor& out) {
  const RuleArgs a = rule_args(spec, joints.dim(1));
  const int64_t n = pred.numel();
  Tensor partials = Tensor::empty({kPartialBlocks}, DType::F64, pred.device());
  dispatch_storage(pred.dtype(), "gaussian_weighted_mse", [&](auto tag) {
    using T = decltype(tag);
    mse_partial_kernel<T><<<kPartialBlocks, kThreads, 0, current_stream()>>>(
        cptr<T>(pred), cptr<T>(joints), cptr<T>(weight), n, a, static_cast<double*>(partials.raw_data()));
    PN_CUDA_CHECK_LAUNCH();
    half_mean_of_partials_kernel<T, kPartialBlocks><<<1, kPartialBlocks, 0, current_stream()>>>(cptr<double>(partials), n,
                                                                    static_cast<T*>(out.raw_data()));
    PN_CUDA_CHECK_LAUNCH();
  });
}

void gaussian_weighted_mse_backward(const Tensor& pred, const Tensor& joints, const Tensor& weight,
                                    const ops::GaussianTargetSpec& spec, const Tensor& grad, Tensor& dpred) {
  const RuleArgs a = rule_args(spec, joints.dim(1));
  const int64_t n = pred.numel();
  dispatch_storage(pred.dtype(), "gaussian_weighted_mse_backward", [&](auto tag) {
    using T = decltype(tag);
    mse_backward_kernel<T><<<blocks_for(n), kThreads, 0, current_stream()>>>(
        cptr<T>(pred), cptr<T>(joints), cptr<T>(weight), cptr<T>(grad), n, a, static_cast<T*>(dpred.raw_data()));
    PN_CUDA_CHECK_LAUNCH();
  });
}

}  // namespace posenet::kernels::cuda
