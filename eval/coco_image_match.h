// One image's (and one category's) part of COCO keypoint evaluation: greedy
// matching of detections to ground-truth persons at each OKS threshold, with
// the official evaluation's ignore rules (pycocotools' COCOeval.evaluateImg).
#pragma once
#include <cstdint>
#include <vector>

#include "eval/coco_json.h"

namespace posenet::eval {

struct AreaRange {
  double lo, hi;  // a person is in range when lo <= area <= hi
};

struct CocoImageMatch {
  std::vector<double> scores;                     // per detection, best first
  std::vector<std::vector<int64_t>> matched_gt;   // [threshold][detection]: the matched person's id, 0 = none
  std::vector<std::vector<char>> dt_ignored;      // [threshold][detection]
  std::vector<char> gt_ignored;                   // per person
};

// The detections of an image best first (stable on score, as numpy's
// mergesort of -score), at most max_detections of them.
std::vector<const CocoDetection*> best_detections(std::vector<const CocoDetection*> detections, size_t max_detections);

// OKS of every detection (rows, best first) against every person (columns,
// file order); empty when either side is.
std::vector<std::vector<double>> oks_matrix(const std::vector<const CocoDetection*>& detections,
                                            const std::vector<const CocoGtPerson*>& persons);

// Matches at each threshold. A person is ignored when it is a crowd region,
// has num_keypoints == 0 or lies outside the area range; ignored persons are
// tried last and a detection matched to one is ignored; so is an unmatched
// detection outside the area range. A crowd region may take many detections.
CocoImageMatch match_image(const std::vector<const CocoDetection*>& detections,
                           const std::vector<const CocoGtPerson*>& persons, const std::vector<std::vector<double>>& oks,
                           AreaRange range, const std::vector<double>& thresholds);

}  // namespace posenet::eval
