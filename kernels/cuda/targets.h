// Gaussian-target CUDA kernels: one thread per output element; parity with kernels/cpu/targets.h.
// joints [B, J, 2], weight [B, J]; maps and pred [B, H, W, J].
#pragma once
#include "core/tensor.h"
#include "kernels/targets.h"

namespace posenet::kernels::cuda {
// maps (zeroed here) and weights_out [B, J] as the rule in kernels/gaussian_rule.h.
void gaussian_targets(const Tensor& joints, const Tensor& weight, const ops::GaussianTargetSpec& spec, Tensor& maps,
                      Tensor& weights_out);
// out (one element) = 0.5 * mean((w * pred - w * target)^2), target and w from the rule.
void gaussian_weighted_mse_forward(const Tensor& pred, const Tensor& joints, const Tensor& weight,
                                   const ops::GaussianTargetSpec& spec, Tensor& out);
// dpred = grad * w * (w * pred - w * target) / numel.
void gaussian_weighted_mse_backward(const Tensor& pred, const Tensor& joints, const Tensor& weight,
                                    const ops::GaussianTargetSpec& spec, const Tensor& grad, Tensor& dpred);
}  // namespace posenet::kernels::cuda
