// Heatmap-loss CPU kernels. pred/target [N, H, W, J], weight [N, J].
#pragma once
#include "core/tensor.h"

namespace posenet::kernels::cpu {
// out (one element) = 0.5 * mean((w * pred - w * target)^2).
void weighted_mse_forward(const Tensor& pred, const Tensor& target, const Tensor& weight, Tensor& out);
// dpred = grad * w * (w * pred - w * target) / numel; grad is the one-element upstream gradient.
void weighted_mse_backward(const Tensor& pred, const Tensor& target, const Tensor& weight, const Tensor& grad,
                           Tensor& dpred);
}  // namespace posenet::kernels::cpu
