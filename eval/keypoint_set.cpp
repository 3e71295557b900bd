#include "eval/keypoint_set.h"

#include "core/error.h"
#include "eval/coco_oks.h"
#include "eval/mpii_joints.h"

namespace posenet::eval {

int KeypointSet::flip_partner(int k) const {
  for (const auto& p : flip_pairs) {
    if (p.first == k) return p.second;
    if (p.second == k) return p.first;
  }
  return k;
}

const char* KeypointSet::keypoint_name(int k) const {
  return k >= 0 && k < count() ? keypoints[size_t(k)].c_str() : "?";
}

BodySide KeypointSet::side(int k) const {
  const std::string_view n = keypoint_name(k);
  if (n.starts_with("l_")) return BodySide::kLeft;
  if (n.starts_with("r_")) return BodySide::kRight;
  return BodySide::kCentre;
}

BodySide KeypointSet::limb_side(const std::array<int, 2>& limb) const {
  const BodySide a = side(limb[0]), b = side(limb[1]);
  if (a == b) return a;
  // A limb from a side keypoint to a central one (hip to pelvis, shoulder to
  // neck) belongs to that side.
  if (a == BodySide::kCentre) return b;
  if (b == BodySide::kCentre) return a;
  return BodySide::kCentre;  // across the body (hip to hip)
}

const KeypointSet& mpii_keypoint_set() {
  static const KeypointSet set = [] {
    KeypointSet s;
    s.name = "mpii";
    s.title = "MPII (16 joints)";
    s.keypoints = {"r_ankle", "r_knee",   "r_hip",   "l_hip",      "l_knee",     "l_ankle", "pelvis",  "thorax",
                   "upper_neck", "head_top", "r_wrist", "r_elbow", "r_shoulder", "l_shoulder", "l_elbow", "l_wrist"};
    for (const auto& p : kMpiiFlipPairs) s.flip_pairs.emplace_back(p[0], p[1]);
    s.skeleton = {{0, 1},  {1, 2},   {2, 6},   {3, 6},  {3, 4},  {4, 5},   {6, 7},   {7, 8},
                  {8, 9},  {10, 11}, {11, 12}, {12, 7}, {13, 7}, {13, 14}, {14, 15}};
    return s;
  }();
  return set;
}

const KeypointSet& coco_keypoint_set() {
  static const KeypointSet set = [] {
    KeypointSet s;
    s.name = "coco";
    s.title = "COCO (17 keypoints)";
    s.keypoints = {"nose",    "l_eye",   "r_eye",   "l_ear", "r_ear",  "l_shoulder", "r_shoulder", "l_elbow", "r_elbow",
                   "l_wrist", "r_wrist", "l_hip",   "r_hip", "l_knee", "r_knee",     "l_ankle",    "r_ankle"};
    s.flip_pairs = {{1, 2}, {3, 4}, {5, 6}, {7, 8}, {9, 10}, {11, 12}, {13, 14}, {15, 16}};
    // The skeleton of COCO's person category (0-based).
    s.skeleton = {{15, 13}, {13, 11}, {16, 14}, {14, 12}, {11, 12}, {5, 11}, {6, 12}, {5, 6}, {5, 7}, {6, 8},
                  {7, 9},   {8, 10},  {1, 2},   {0, 1},   {0, 2},   {1, 3},  {2, 4},  {3, 5}, {4, 6}};
    s.oks_sigmas.assign(kCocoOksSigmas.begin(), kCocoOksSigmas.end());
    return s;
  }();
  return set;
}

const KeypointSet& aic_keypoint_set() {
  static const KeypointSet set = [] {
    KeypointSet s;
    s.name = "aic";
    s.title = "AI Challenger (14 keypoints)";
    s.keypoints = {"r_shoulder", "r_elbow", "r_wrist", "l_shoulder", "l_elbow",  "l_wrist", "r_hip",
                   "r_knee",     "r_ankle", "l_hip",   "l_knee",     "l_ankle", "head_top", "neck"};
    s.flip_pairs = {{0, 3}, {1, 4}, {2, 5}, {6, 9}, {7, 10}, {8, 11}};
    s.skeleton = {{12, 13}, {13, 0}, {13, 3}, {0, 1}, {1, 2},  {3, 4},  {4, 5},
                  {0, 6},   {3, 9},  {6, 9},  {6, 7}, {7, 8}, {9, 10}, {10, 11}};
    return s;
  }();
  return set;
}

const KeypointSet& keypoint_set_named(std::string_view name) {
  for (const KeypointSet* s : {&mpii_keypoint_set(), &coco_keypoint_set(), &aic_keypoint_set()})
    if (s->name == name) return *s;
  throw InputError(detail::concat("unknown keypoint set '", name, "' (known: mpii, coco, aic)"));
}

void require_same_keypoint_set(const KeypointSet& expected, const KeypointSet& found, const std::string& what) {
  if (expected.name != found.name)
    throw InputError(detail::concat(what, ": its keypoints are ", found.title, ", expected ", expected.title));
}

}  // namespace posenet::eval
