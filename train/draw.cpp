#include "train/draw.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace posenet::train {

namespace {
constexpr std::array<uint8_t, 3> kRight{230, 40, 40}, kLeft{40, 90, 230}, kCentre{40, 200, 70};

std::array<uint8_t, 3> colour_of(eval::BodySide side) {
  switch (side) {
    case eval::BodySide::kLeft: return kLeft;
    case eval::BodySide::kRight: return kRight;
    case eval::BodySide::kCentre: break;
  }
  return kCentre;
}
}  // namespace

void draw_disc(Image& image, double cx, double cy, double radius, std::array<uint8_t, 3> colour) {
  const int x0 = std::max(0, int(std::floor(cx - radius))), x1 = std::min(image.width - 1, int(std::ceil(cx + radius)));
  const int y0 = std::max(0, int(std::floor(cy - radius))), y1 = std::min(image.height - 1, int(std::ceil(cy + radius)));
  for (int y = y0; y <= y1; ++y)
    for (int x = x0; x <= x1; ++x)
      if ((x - cx) * (x - cx) + (y - cy) * (y - cy) <= radius * radius) std::copy_n(colour.data(), 3, image.at(x, y));
}

void draw_line(Image& image, double x0, double y0, double x1, double y1, double thickness,
               std::array<uint8_t, 3> colour) {
  if (!std::isfinite(x0) || !std::isfinite(y0) || !std::isfinite(x1) || !std::isfinite(y1)) return;
  const double r = std::max(0.5, thickness / 2);
  const int bx0 = std::max(0, int(std::floor(std::min(x0, x1) - r)));
  const int bx1 = std::min(image.width - 1, int(std::ceil(std::max(x0, x1) + r)));
  const int by0 = std::max(0, int(std::floor(std::min(y0, y1) - r)));
  const int by1 = std::min(image.height - 1, int(std::ceil(std::max(y0, y1) + r)));
  const double dx = x1 - x0, dy = y1 - y0, len2 = dx * dx + dy * dy;
  for (int y = by0; y <= by1; ++y)
    for (int x = bx0; x <= bx1; ++x) {
      // Distance from the pixel to the segment.
      double t = len2 > 0 ? std::clamp(((x - x0) * dx + (y - y0) * dy) / len2, 0.0, 1.0) : 0.0;
      double px = x0 + t * dx - x, py = y0 + t * dy - y;
      if (px * px + py * py <= r * r) std::copy_n(colour.data(), 3, image.at(x, y));
    }
}

void draw_skeleton(Image& image, const eval::KeypointSet& set, std::span<const DrawnJoint> joints) {
  PN_CHECK(int(joints.size()) == set.count(), "draw_skeleton: ", joints.size(), " joints for the ", set.title,
           " skeleton");
  const double thickness = std::max(2.0, std::max(image.width, image.height) / 150.0);
  for (const auto& limb : set.skeleton) {
    const auto &a = joints[size_t(limb[0])], &b = joints[size_t(limb[1])];
    if (a.visible && b.visible) draw_line(image, a.x, a.y, b.x, b.y, thickness, colour_of(set.limb_side(limb)));
  }
  for (const auto& j : joints)
    if (j.visible && std::isfinite(j.x) && std::isfinite(j.y)) {
      draw_disc(image, j.x, j.y, thickness * 1.2, {255, 255, 255});
      draw_disc(image, j.x, j.y, thickness * 0.7, {20, 20, 20});
    }
}

void draw_mpii_skeleton(Image& image, const std::array<DrawnJoint, 16>& joints) {
  draw_skeleton(image, eval::mpii_keypoint_set(), joints);
}

}  // namespace posenet::train
