// The MPII 16-joint skeleton as every layer sees it: the joint count, the
// left/right pairs a horizontal flip swaps, and the head box PCKh is
// normalised by. One definition here; train/ and eval/ use these.
#pragma once
#include <array>

namespace posenet::eval {

inline constexpr int kMpiiJointCount = 16;

// Left/right joint pairs swapped by a horizontal flip (MPII order: ankles,
// knees, hips; wrists, elbows, shoulders).
inline constexpr std::array<std::array<int, 2>, 6> kMpiiFlipPairs{
    {{0, 5}, {1, 4}, {2, 3}, {10, 15}, {11, 14}, {12, 13}}};

// A head box by its upper-left (x1, y1) and bottom-right (x2, y2) corners.
// The coordinate base is the holder's: 0-based pixels in a training sample,
// MATLAB's 1-based pixels in the ground truth of gt_valid.mat.
struct HeadBox {
  double x1 = 0, y1 = 0, x2 = 0, y2 = 0;
};

}  // namespace posenet::eval
