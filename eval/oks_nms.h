// Post-processing of top-down COCO predictions before they are scored, as
// Simple Baselines and HRNet do it: each person's score becomes the mean
// confidence of its confident keypoints times its box score, then OKS-based
// non-maximum suppression drops near-duplicate persons of an image.
#pragma once
#include <cstddef>
#include <span>
#include <vector>

#include "eval/coco_oks.h"

namespace posenet::eval {

inline constexpr double kRescoreKeypointThreshold = 0.2;  // keypoints above this confidence count
inline constexpr double kOksNmsThreshold = 0.9;

// mean(confidence of the keypoints with confidence > threshold) x box_score;
// 0 when no keypoint is that confident. keypoints: K (x, y, confidence).
double rescore_person(std::span<const double> keypoints, double box_score,
                      double threshold = kRescoreKeypointThreshold);

// OKS between two predicted persons: every keypoint counts and the scale is
// the mean of their areas (Simple Baselines/HRNet's oks_iou).
double oks_between_predictions(std::span<const double> a, double area_a, std::span<const double> b, double area_b,
                               std::span<const double> sigmas = kCocoOksSigmas);

struct PersonPrediction {
  std::vector<double> keypoints;  // K (x, y, confidence)
  double score = 0;
  double area = 0;  // of its box, in pixels^2
};

// Greedy OKS-NMS over one image's persons: the best-scored person is kept and
// every remaining one with OKS > threshold against it is dropped, repeatedly.
// Returns the kept indices, best first (equal scores: the earlier one first).
std::vector<size_t> oks_nms(const std::vector<PersonPrediction>& persons, double threshold = kOksNmsThreshold,
                            std::span<const double> sigmas = kCocoOksSigmas);

}  // namespace posenet::eval
