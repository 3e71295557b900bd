// Object keypoint similarity (OKS), COCO's keypoint analogue of box IoU,
// computed as the official evaluation (pycocotools' COCOeval.computeOks)
// computes it, bit for bit where the order of float operations matters.
#pragma once
#include <array>
#include <cstddef>
#include <span>

namespace posenet::eval {

inline constexpr int kCocoKeypointCount = 17;

// Per-keypoint OKS sigmas of COCO's 17 person keypoints (nose, eyes, ears,
// shoulders, elbows, wrists, hips, knees, ankles). The official evaluation
// writes them as tenths divided by 10, which is not always the same double as
// the decimal literal (.26 / 10 != .026), so they are computed the same way.
inline constexpr std::array<double, kCocoKeypointCount> kCocoOksSigmas = [] {
  constexpr std::array<double, kCocoKeypointCount> tenths = {.26, .25, .25, .35, .35, .79, .79, .72, .72,
                                                             .62, .62, 1.07, 1.07, .87, .87, .89, .89};
  std::array<double, kCocoKeypointCount> s{};
  for (int i = 0; i < kCocoKeypointCount; ++i) s[i] = tenths[i] / 10.0;
  return s;
}();

// numpy's float64 sum (pairwise summation, 8-way unrolled blocks of up to
// 128): OKS values are compared with thresholds, so their sums must round as
// numpy's do.
double numpy_sum(const double* values, size_t n);

// A box [x, y, width, height].
using Box = std::array<double, 4>;

// OKS of a detection against one ground-truth person, as computeOks: keypoints
// are K (x, y, v) triples; K = sigmas.size(). With some ground-truth keypoint
// labelled (v > 0) it averages exp(-d^2 / (2 (2 sigma)^2 (area + eps))) over the
// labelled keypoints; with none, d is each detected keypoint's distance to the
// ground-truth box grown by its size on every side, averaged over all K.
double coco_oks(std::span<const double> gt_keypoints, const Box& gt_box, double gt_area,
                std::span<const double> detection_keypoints, std::span<const double> sigmas = kCocoOksSigmas);

}  // namespace posenet::eval
