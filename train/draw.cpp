#include "train/draw.h"

#include <algorithm>
#include <cmath>

namespace posenet::train {

namespace {
struct Limb {
  int a, b;
  std::array<uint8_t, 3> colour;
};
constexpr std::array<uint8_t, 3> kRight{230, 40, 40}, kLeft{40, 90, 230}, kCentre{40, 200, 70};
// MPII: 0 r_ankle 1 r_knee 2 r_hip 3 l_hip 4 l_knee 5 l_ankle 6 pelvis 7 thorax
// 8 upper_neck 9 head_top 10 r_wrist 11 r_elbow 12 r_shoulder 13 l_shoulder 14 l_elbow 15 l_wrist
constexpr Limb kLimbs[] = {{0, 1, kRight},   {1, 2, kRight},   {2, 6, kRight},  {3, 6, kLeft},    {3, 4, kLeft},
                           {4, 5, kLeft},    {6, 7, kCentre},  {7, 8, kCentre}, {8, 9, kCentre},  {10, 11, kRight},
                           {11, 12, kRight}, {12, 7, kRight},  {13, 7, kLeft},  {13, 14, kLeft},  {14, 15, kLeft}};
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

void draw_mpii_skeleton(Image& image, const std::array<DrawnJoint, 16>& joints) {
  const double thickness = std::max(2.0, std::max(image.width, image.height) / 150.0);
  for (const Limb& l : kLimbs) {
    const auto &a = joints[size_t(l.a)], &b = joints[size_t(l.b)];
    if (a.visible && b.visible) draw_line(image, a.x, a.y, b.x, b.y, thickness, l.colour);
  }
  for (const auto& j : joints)
    if (j.visible && std::isfinite(j.x) && std::isfinite(j.y)) {
      draw_disc(image, j.x, j.y, thickness * 1.2, {255, 255, 255});
      draw_disc(image, j.x, j.y, thickness * 0.7, {20, 20, 20});
    }
}

}  // namespace posenet::train
