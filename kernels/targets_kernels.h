// Gaussian-target kernels: the signatures every backend implements
// (kernels/op_registry.h). joints [B, J, 2], weight [B, J]; maps and pred
// [B, H, W, J]; the rule is kernels/gaussian_rule.h.
#pragma once
#include "core/tensor.h"
#include "kernels/op_registry.h"
#include "kernels/targets.h"

// gaussian_targets: maps (zeroed here) and weights_out [B, J] as the rule.
// gaussian_weighted_mse_forward: out (one element) = 0.5 * mean((w * pred -
//   w * target)^2), target and w from the rule.
// gaussian_weighted_mse_backward: dpred = grad * w * (w * pred - w * target) / numel.
#define PN_TARGETS_KERNELS(X)                                                                          \
  X(gaussian_targets, (const Tensor& joints, const Tensor& weight, const ops::GaussianTargetSpec& spec, \
                       Tensor& maps, Tensor& weights_out))                                             \
  X(gaussian_weighted_mse_forward, (const Tensor& pred, const Tensor& joints, const Tensor& weight,     \
                                    const ops::GaussianTargetSpec& spec, Tensor& out))                 \
  X(gaussian_weighted_mse_backward, (const Tensor& pred, const Tensor& joints, const Tensor& weight,    \
                                     const ops::GaussianTargetSpec& spec, const Tensor& grad, Tensor& dpred))

PN_DECLARE_KERNELS(PN_TARGETS_KERNELS)
