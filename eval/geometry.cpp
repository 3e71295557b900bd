#include "eval/geometry.h"

#include <cmath>
#include <numbers>

#include "core/error.h"

namespace posenet::eval {

namespace {
// Only an exactly singular (or non-finite) determinant is rejected: the
// scale of the points is the caller's, so no absolute tolerance fits all.
bool usable_determinant(double det) { return std::abs(det) > 1e-300 && std::isfinite(det); }
}  // namespace

Affine2x3 Affine2x3::inverse() const {
  const double det = m[0] * m[4] - m[1] * m[3];
  PN_CHECK(usable_determinant(det), "affine transform is singular (determinant ", det, ")");
  const double a = m[4] / det, b = -m[1] / det, d = -m[3] / det, e = m[0] / det;
  return {{a, b, -(a * m[2] + b * m[5]), d, e, -(d * m[2] + e * m[5])}};
}

Affine2x3 Affine2x3::then(const Affine2x3& n) const {
  return {{n.m[0] * m[0] + n.m[1] * m[3], n.m[0] * m[1] + n.m[1] * m[4], n.m[0] * m[2] + n.m[1] * m[5] + n.m[2],
           n.m[3] * m[0] + n.m[4] * m[3], n.m[3] * m[1] + n.m[4] * m[4], n.m[3] * m[2] + n.m[4] * m[5] + n.m[5]}};
}

Affine2x3 Affine2x3::horizontal_flip(int width) { return {{-1, 0, double(width - 1), 0, 1, 0}}; }

Affine2x3 affine_from_points(const std::array<Point2, 3>& src, const std::array<Point2, 3>& dst) {
  // Solve [a b c; d e f] * [x y 1]^T = [x' y']^T for the three pairs. The
  // 3x3 system matrix is shared by both output rows: Cramer's rule.
  const double a11 = src[0].x, a12 = src[0].y, a21 = src[1].x, a22 = src[1].y, a31 = src[2].x, a32 = src[2].y;
  const double det = a11 * (a22 - a32) - a12 * (a21 - a31) + (a21 * a32 - a22 * a31);
  PN_CHECK(usable_determinant(det), "affine_from_points: the three source points are collinear");
  auto solve = [&](double b1, double b2, double b3, double* out) {
    out[0] = (b1 * (a22 - a32) - a12 * (b2 - b3) + (b2 * a32 - a22 * b3)) / det;
    out[1] = (a11 * (b2 - b3) - b1 * (a21 - a31) + (a21 * b3 - b2 * a31)) / det;
    out[2] = (a11 * (a22 * b3 - b2 * a32) - a12 * (a21 * b3 - b2 * a31) + b1 * (a21 * a32 - a22 * a31)) / det;
  };
  Affine2x3 t;
  solve(dst[0].x, dst[1].x, dst[2].x, &t.m[0]);
  solve(dst[0].y, dst[1].y, dst[2].y, &t.m[3]);
  return t;
}

namespace {
// SB get_3rd_point: b + the 90-degree rotation of (a - b).
Point2 third_point(Point2 a, Point2 b) { return {b.x - (a.y - b.y), b.y + (a.x - b.x)}; }
}  // namespace

Affine2x3 get_affine_transform(Point2 center, Point2 scale, double rotation_deg, int out_w, int out_h, bool inverse,
                               Point2 shift) {
  PN_CHECK(scale.x > 0 && std::isfinite(scale.x), "get_affine_transform: scale must be positive, got ", scale.x);
  PN_CHECK(out_w > 0 && out_h > 0, "get_affine_transform: output size must be positive, got ", out_w, "x", out_h);
  const double src_w = scale.x * kPixelStd;
  const double rot = rotation_deg * std::numbers::pi / 180.0;
  // get_dir([0, -src_w/2], rot)
  const double sn = std::sin(rot), cs = std::cos(rot);
  const Point2 src_dir{0.0 * cs - (-0.5 * src_w) * sn, 0.0 * sn + (-0.5 * src_w) * cs};
  std::array<Point2, 3> src, dst;
  src[0] = {center.x + scale.x * kPixelStd * shift.x, center.y + scale.y * kPixelStd * shift.y};
  src[1] = {src[0].x + src_dir.x, src[0].y + src_dir.y};
  dst[0] = {out_w * 0.5, out_h * 0.5};
  dst[1] = {out_w * 0.5, out_h * 0.5 - out_w * 0.5};
  src[2] = third_point(src[0], src[1]);
  dst[2] = third_point(dst[0], dst[1]);
  return inverse ? affine_from_points(dst, src) : affine_from_points(src, dst);
}

Point2 crop_to_image(Point2 p, Point2 center, Point2 scale, int out_w, int out_h) {
  return get_affine_transform(center, scale, 0.0, out_w, out_h, /*inverse=*/true).apply(p);
}

}  // namespace posenet::eval
