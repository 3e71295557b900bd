// Heatmap losses, differentiable in the prediction.
//
// weighted_mse: pred and target [N, H, W, J] (NHWC heatmaps), weight [N, J]
// (per sample, per joint; 0 for joints without a label):
//   L = 0.5 * mean over (n, h, w, j) of (w_nj * pred - w_nj * target)^2
// which is Simple Baselines' JointsMSELoss(use_target_weight=True). The
// target and weight get no gradient.
#pragma once
#include "core/tensor.h"

namespace posenet::ops {

Tensor weighted_mse(const Tensor& pred, const Tensor& target, const Tensor& weight);

}  // namespace posenet::ops
