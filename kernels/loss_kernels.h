// Heatmap-loss kernels: the signatures every backend implements
// (kernels/op_registry.h). pred/target [N, H, W, J], weight [N, J].
#pragma once
#include "core/tensor.h"
#include "kernels/op_registry.h"

// weighted_mse_forward: out (one element) = 0.5 * mean((w * pred - w * target)^2).
// weighted_mse_backward: dpred = grad * w * (w * pred - w * target) / numel;
//   grad is the one-element upstream gradient.
#define PN_LOSS_KERNELS(X)                                                                            \
  X(weighted_mse_forward, (const Tensor& pred, const Tensor& target, const Tensor& weight, Tensor& out)) \
  X(weighted_mse_backward, (const Tensor& pred, const Tensor& target, const Tensor& weight,            \
                            const Tensor& grad, Tensor& dpred))

PN_DECLARE_KERNELS(PN_LOSS_KERNELS)
