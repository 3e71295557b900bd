// The keypoint sets posenet knows, defined once for every layer: MPII's 16
// joints, COCO's 17 person keypoints and AI Challenger's 14. Each has its
// keypoint names (in the order its annotation files and heatmaps use), the
// left/right pairs a horizontal flip swaps, the limbs drawn for a skeleton,
// and, where the data set defines them, the per-keypoint OKS sigmas.
//
// Names follow one convention so that code can tell sides apart: a "l_" or
// "r_" prefix for a left or right keypoint, none for a central one.
#pragma once
#include <array>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace posenet::eval {

enum class BodySide { kCentre, kLeft, kRight };

struct KeypointSet {
  std::string name;                             // "mpii", "coco", "aic": as in checkpoints and logs
  std::string title;                            // for messages: "MPII (16 joints)"
  std::vector<std::string> keypoints;           // names, in heatmap order
  std::vector<std::pair<int, int>> flip_pairs;   // left/right pairs a horizontal flip swaps
  std::vector<std::array<int, 2>> skeleton;     // limbs drawn between two keypoints
  std::vector<double> oks_sigmas;               // per keypoint; empty where the data set defines none

  int count() const { return int(keypoints.size()); }
  // The keypoint `k` becomes after a horizontal flip (itself when unpaired).
  int flip_partner(int k) const;
  // The keypoint's name, or "?" outside the set.
  const char* keypoint_name(int k) const;
  // Left, right or centre, from the name's prefix.
  BodySide side(int k) const;
  // A limb's side: left or right when both ends are, else centre.
  BodySide limb_side(const std::array<int, 2>& limb) const;
};

const KeypointSet& mpii_keypoint_set();
const KeypointSet& coco_keypoint_set();
const KeypointSet& aic_keypoint_set();

// "mpii", "coco" or "aic"; an unknown name throws posenet::InputError listing
// the known ones.
const KeypointSet& keypoint_set_named(std::string_view name);

// Throws posenet::InputError when `found` is not `expected`, naming both
// sets and `what` (e.g. "checkpoint runs/a/last.safetensors").
void require_same_keypoint_set(const KeypointSet& expected, const KeypointSet& found, const std::string& what);

}  // namespace posenet::eval
