// Gaussian heatmap targets (Simple Baselines' generate_target), one set per
// sigma so that multi-stage targets with per-stage sigmas come from one call,
// and the per-stage sigma schedule of the paper (an arithmetic series ending
// at 2, optionally decreasing with the epoch).
#pragma once
#include <vector>

#include "kernels/targets.h"
#include "train/dataset.h"

namespace posenet::train {

struct HeatmapGeometry {
  int input_width = 256, input_height = 256;
  int heatmap_width = 64, heatmap_height = 64;
  int joints = kNumJoints;  // K: the first K of a sample's joints (its keypoint set's count)
};

// Writes one [heatmap_height, heatmap_width, K] map per sigma into out[s]
// (each of heatmap_height*heatmap_width*K floats) and the joint weights into
// weight_out (K floats), K = geometry.joints.
//
// joints are in input pixels. For joint j with weight > 0:
//   mu = trunc(joint / stride + 0.5) (stride = input / heatmap size, per axis),
//   r = floor(3 sigma), window [mu - r, mu + r]^2 (6 sigma + 1 wide for integer sigma),
//   value exp(-((x - mu_x)^2 + (y - mu_y)^2) / (2 sigma^2)), peak 1 at mu.
// A joint whose window is entirely off the heatmap gets weight 0 and an
// empty map. With several sigmas the smallest window decides (a joint is
// supervised in every stage or in none). For integer sigma this is SB's
// target exactly, except that SB keeps weight 1 for a window ending exactly
// one pixel left of/above the map (its exclusive bound), where it pastes
// nothing.
void gaussian_targets(const Joints& joints, const JointWeights& weight, const std::vector<double>& sigmas,
                      const HeatmapGeometry& geometry, const std::vector<float*>& out, float* weight_out);

// The fused loss's description of stage `stage`'s targets
// (ops::gaussian_weighted_mse), the same rule as gaussian_targets above: the
// stage's sigma, the smallest of `sigmas` deciding visibility.
ops::GaussianTargetSpec stage_target_spec(const HeatmapGeometry& geometry, const std::vector<double>& sigmas,
                                          size_t stage);

// Per-stage sigmas, optionally decreasing linearly with the epoch:
//   sigma_s(e) = start_s + (end_s - start_s) * min(e, epochs - 1) / (epochs - 1)
// (constant start_s when end is empty or epochs <= 1).
struct SigmaSchedule {
  std::vector<double> start;  // per stage, at epoch 0
  std::vector<double> end;    // per stage, at the last epoch; empty = constant
  int epochs = 0;

  size_t stages() const { return start.size(); }
  std::vector<double> at_epoch(int epoch) const;
  void validate() const;  // throws Error on empty, non-positive or mismatched lists

  // One sigma for every stage (the single-kernel baseline).
  static SigmaSchedule constant(int stages, double sigma);
  // Arithmetic series from first down to last over the stages (paper Table 2:
  // 3 stages, first 3 -> 3, 2.5, 2).
  static SigmaSchedule arithmetic(int stages, double first, double last = 2.0);
};

}  // namespace posenet::train
