#include "train/affine.h"

#include <cmath>

#include "core/error.h"

namespace posenet::train {

Affine2x3 Affine2x3::inverse() const {
  const double det = m[0] * m[4] - m[1] * m[3];
  PN_CHECK(std::abs(det) > 1e-300 && std::isfinite(det), "affine transform is singular (det ", det, ")");
  const double a = m[4] / det, b = -m[1] / det, d = -m[3] / det, e = m[0] / det;
  return {{a, b, -(a * m[2] + b * m[5]), d, e, -(d * m[2] + e * m[5])}};
}

Affine2x3 Affine2x3::then(const Affine2x3& n) const {
  return {{n.m[0] * m[0] + n.m[1] * m[3], n.m[0] * m[1] + n.m[1] * m[4], n.m[0] * m[2] + n.m[1] * m[5] + n.m[2],
           n.m[3] * m[0] + n.m[4] * m[3], n.m[3] * m[1] + n.m[4] * m[4], n.m[3] * m[2] + n.m[4] * m[5] + n.m[5]}};
}

Affine2x3 Affine2x3::horizontal_flip(int width) { return {{-1, 0, double(width - 1), 0, 1, 0}}; }

Affine2x3 affine_from_points(const std::array<Point2, 3>& s, const std::array<Point2, 3>& d) {
  // Solve [sx sy 1] * [a b c]^T = dx (and the same for dy) by Cramer's rule.
  const double det = s[0].x * (s[1].y - s[2].y) - s[0].y * (s[1].x - s[2].x) + (s[1].x * s[2].y - s[2].x * s[1].y);
  PN_CHECK(std::abs(det) > 1e-300 && std::isfinite(det), "affine_from_points: the source points are collinear");
  auto solve = [&](double r0, double r1, double r2, double& a, double& b, double& c) {
    a = (r0 * (s[1].y - s[2].y) - s[0].y * (r1 - r2) + (r1 * s[2].y - r2 * s[1].y)) / det;
    b = (s[0].x * (r1 - r2) - r0 * (s[1].x - s[2].x) + (s[1].x * r2 - s[2].x * r1)) / det;
    c = (s[0].x * (s[1].y * r2 - s[2].y * r1) - s[0].y * (s[1].x * r2 - s[2].x * r1) +
         r0 * (s[1].x * s[2].y - s[2].x * s[1].y)) / det;
  };
  Affine2x3 out;
  solve(d[0].x, d[1].x, d[2].x, out.m[0], out.m[1], out.m[2]);
  solve(d[0].y, d[1].y, d[2].y, out.m[3], out.m[4], out.m[5]);
  return out;
}

namespace {
Point2 rotate(Point2 p, double rad) {
  const double sn = std::sin(rad), cs = std::cos(rad);
  return {p.x * cs - p.y * sn, p.x * sn + p.y * cs};
}
// The point that makes a right angle at b with a (SB's get_3rd_point).
Point2 third_point(Point2 a, Point2 b) { return {b.x - (a.y - b.y), b.y + (a.x - b.x)}; }
}  // namespace

Affine2x3 get_affine_transform(Point2 center, double scale, double rot_deg, int out_w, int out_h, bool inverse) {
  PN_CHECK(scale > 0 && std::isfinite(scale), "get_affine_transform: scale must be positive, got ", scale);
  PN_CHECK(out_w > 0 && out_h > 0, "get_affine_transform: bad output size ", out_w, "x", out_h);
  const double src_w = scale * kPixelStd;
  const double dst_w = out_w;
  const Point2 src_dir = rotate({0.0, src_w * -0.5}, rot_deg * M_PI / 180.0);
  const Point2 dst_dir{0.0, dst_w * -0.5};
  std::array<Point2, 3> src, dst;
  src[0] = center;
  src[1] = {center.x + src_dir.x, center.y + src_dir.y};
  dst[0] = {out_w * 0.5, out_h * 0.5};
  dst[1] = {dst[0].x + dst_dir.x, dst[0].y + dst_dir.y};
  src[2] = third_point(src[0], src[1]);
  dst[2] = third_point(dst[0], dst[1]);
  return inverse ? affine_from_points(dst, src) : affine_from_points(src, dst);
}

}  // namespace posenet::train
