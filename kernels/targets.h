// Gaussian heatmap targets for a batch, and the weighted-MSE loss against
// them evaluated without storing the targets (the rule: kernels/gaussian_rule.h).
//
// joints [B, J, 2] (x, y in input pixels), weight [B, J] (> 0 = labelled),
// both F32 or F64 and on the same device. The map is [B, height, width, J];
// stride = input size / heatmap size per axis. cutoff_sigma decides which
// joints are visible (pass the smallest sigma of a multi-stage set so that a
// joint is supervised in every stage or in none; 0 means sigma).
#pragma once
#include "core/tensor.h"

namespace posenet::ops {

struct GaussianTargetSpec {
  int height = 64, width = 64;
  double stride_x = 4.0, stride_y = 4.0;
  double sigma = 2.0;
  double cutoff_sigma = 0.0;  // 0 = sigma

  double cutoff() const { return cutoff_sigma > 0 ? cutoff_sigma : sigma; }
  void validate() const;  // throws Error on non-positive sizes, strides or sigmas
};

struct GaussianTargets {
  Tensor maps;     // [B, height, width, J], dtype of joints
  Tensor weights;  // [B, J]: 1 = visible, 0 = not
};

// Targets as train::gaussian_targets writes them, for a whole batch at once.
// Not differentiable (targets are data).
GaussianTargets gaussian_targets(const Tensor& joints, const Tensor& weight, const GaussianTargetSpec& spec);

// weighted_mse(pred, t.maps, t.weights) with t = gaussian_targets(joints,
// weight, spec) (pred [B, height, width, J]), but each target value is
// computed where it is used: no map is stored or read. Differentiable in pred.
Tensor gaussian_weighted_mse(const Tensor& pred, const Tensor& joints, const Tensor& weight,
                             const GaussianTargetSpec& spec);

}  // namespace posenet::ops
