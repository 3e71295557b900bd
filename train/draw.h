// Drawing predicted skeletons onto images (posenet predict).
#pragma once
#include <array>
#include <span>

#include "eval/keypoint_set.h"
#include "train/image.h"

namespace posenet::train {

struct DrawnJoint {
  double x = 0, y = 0;  // 0-based pixels
  bool visible = true;  // false: not drawn (e.g. a low-confidence joint)
};

// Draws a keypoint set's skeleton: right limbs red, left limbs blue, central
// ones (spine, head) green, a dot per keypoint; thickness follows the image
// size. `joints` holds one entry per keypoint of the set (else an Error).
void draw_skeleton(Image& image, const eval::KeypointSet& set, std::span<const DrawnJoint> joints);
// The MPII 16-joint skeleton.
void draw_mpii_skeleton(Image& image, const std::array<DrawnJoint, 16>& joints);

// Primitive drawing, clipped to the image.
void draw_line(Image& image, double x0, double y0, double x1, double y1, double thickness,
               std::array<uint8_t, 3> colour);
void draw_disc(Image& image, double cx, double cy, double radius, std::array<uint8_t, 3> colour);

}  // namespace posenet::train
