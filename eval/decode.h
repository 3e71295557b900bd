// Heatmap decoding: per-joint argmax, Simple Baselines' quarter-pixel
// refinement, the multi-stage "second maximum" rule for intermediate stages,
// mapping back to the original image, and flip-test helpers.
// Heatmaps are CPU tensors [N, H, W, J] (NHWC); other dtypes/devices are
// copied to CPU float32 first.
#pragma once
#include <array>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"
#include "eval/geometry.h"
#include "eval/mat_io.h"

namespace posenet::eval {

// Decoded joints: coords[n * joints + j] in heatmap pixels (or, after
// to_image_coordinates, 0-based original-image pixels), with the peak value.
struct DecodedJoints {
  int64_t batch = 0;
  int64_t joints = 0;
  std::vector<Point2> coords;
  std::vector<float> maxvals;

  Point2& at(int64_t n, int64_t j) { return coords[size_t(n * joints + j)]; }
  const Point2& at(int64_t n, int64_t j) const { return coords[size_t(n * joints + j)]; }
  float maxval(int64_t n, int64_t j) const { return maxvals[size_t(n * joints + j)]; }
};

// SB get_max_preds: the first maximum in row-major order, x = column, y = row;
// coordinates are (0, 0) where the peak value is <= 0.
DecodedJoints argmax_joints(const Tensor& heatmaps);

// SB get_final_preds (POST_PROCESS): argmax, then, when 1 < px < W-1 and
// 1 < py < H-1 (strict, px/py the rounded peak), each coordinate moves 0.25
// towards its higher neighbour: x += 0.25 * sign(hm[py][px+1] - hm[py][px-1]),
// y likewise with the rows. Used for the last stage.
DecodedJoints decode_quarter_offset(const Tensor& heatmaps);

// Intermediate stages: the paper mixes the maximum with the "secondary
// maximum". We follow MSPN's get_results (the multi-stage codebase the paper
// builds on): each map is zero-padded by `border` px and Gaussian-blurred
// (OpenCV GaussianBlur(k, k), sigma from k); the maximum m1 is found, that
// single pixel is zeroed and the maximum m2 of the rest is the second
// maximum (so it is usually a neighbour of m1 on smooth maps).
//   kQuarterTowardsSecond (MSPN, default): p = m1 + 0.25 * (m2 - m1) / |m2 - m1|
//   kPaperMix (the paper's formula read literally): p = 0.25 * m1 + 0.75 * m2
// then p is clamped to [0, W-1] x [0, H-1]. maxval is the raw (unblurred)
// value at the rounded position.
enum class SecondMaxRule { kQuarterTowardsSecond, kPaperMix };
struct SecondMaxOptions {
  SecondMaxRule rule = SecondMaxRule::kQuarterTowardsSecond;
  int blur_kernel = 9;  // odd; MSPN's MPII TEST.GAUSSIAN_KERNEL. 0 or 1: no blur
  int border = 10;
};
DecodedJoints decode_second_max(const Tensor& heatmaps, const SecondMaxOptions& options = {});
// The rules' command-line names: "mspn" (kQuarterTowardsSecond) and "paper"
// (kPaperMix). parse_second_max_rule throws InputError for any other name.
SecondMaxRule parse_second_max_rule(const std::string& name);
const char* second_max_rule_name(SecondMaxRule rule);

// The 1-D kernel of OpenCV's getGaussianKernel(k, sigma <= 0) (exposed for tests).
std::vector<double> opencv_gaussian_kernel(int k);

// SB transform_preds: heatmap coordinates back to 0-based original-image
// pixels through the inverse crop transform (rotation 0, output size = the
// heatmap size). centers/scales per person; scales in 200-px units, already
// including the 1.25 enlargement.
void to_image_coordinates(DecodedJoints& decoded, const std::vector<Point2>& centers,
                          const std::vector<Point2>& scales, int heatmap_w, int heatmap_h);

// 0-based image coordinates (after to_image_coordinates) as MPII predictions:
// 1-based pixels, the pred.mat layout. Requires 16 joints.
Predictions to_mpii_predictions(const DecodedJoints& decoded);

// MPII's flip pairs (eval/keypoint_set.h); other sets pass their own.
const std::vector<std::pair<int, int>>& mpii_flip_pairs();

// SB flip_back: mirror along W and swap the channels of each flip pair.
Tensor flip_heatmaps(const Tensor& heatmaps, const std::vector<std::pair<int, int>>& pairs = mpii_flip_pairs());

// SB SHIFT_HEATMAP: out[:, x] = in[:, x-1] for x >= 1, column 0 unchanged.
Tensor shift_heatmaps_right(const Tensor& heatmaps);

// Flip test: (heatmaps + flip_back(heatmaps_of_flipped_input) [shifted right
// by one pixel when `shift`, as SB/HRNet; MSPN does not shift]) / 2.
Tensor flip_test_average(const Tensor& heatmaps, const Tensor& heatmaps_of_flipped_input, bool shift = true,
                         const std::vector<std::pair<int, int>>& pairs = mpii_flip_pairs());

}  // namespace posenet::eval
