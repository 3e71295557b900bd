// COCO keypoint evaluation (AP/AR over OKS thresholds 0.50:0.05:0.95) exactly
// as the official evaluation, pycocotools' COCOeval with iouType 'keypoints':
// evaluate() + accumulate() + summarize(), the same 10 numbers to the last bits.
#pragma once
#include <array>
#include <iosfwd>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "eval/coco_image_match.h"
#include "eval/coco_json.h"

namespace posenet::eval {

inline constexpr size_t kCocoMaxDetections = 20;  // per image and category

// 0.50, 0.55, ..., 0.95 and 0, 0.01, ..., 1, computed as numpy.linspace does.
const std::vector<double>& coco_oks_thresholds();
const std::vector<double>& coco_recall_thresholds();

// all, medium, large: [0, 1e10], [32^2, 96^2], [96^2, 1e10] (keypoint
// evaluation has no "small": persons that small carry no keypoints).
const std::array<AreaRange, 3>& coco_keypoint_area_ranges();

struct CocoStats {
  // AP, AP50, AP75, APm, APl, AR, AR50, AR75, ARm, ARl as fractions in [0, 1];
  // -1 where no ground-truth person counts (e.g. no large person), as the
  // official evaluation.
  std::array<double, 10> values{};
  static const std::array<const char*, 10>& names();

  double ap() const { return values[0]; }
  double ar() const { return values[5]; }
  // {"AP": .., ..., "ARl": ..} in that order, in percent; null where the value is -1.
  nlohmann::ordered_json to_json() const;
};

CocoStats evaluate_coco_keypoints(const CocoGroundTruth& gt, const std::vector<CocoDetection>& detections);

// One header line and one row of the 10 numbers in percent ("-" for -1).
void print_coco_table(std::ostream& os, const CocoStats& stats);

}  // namespace posenet::eval
