// The crop transform of Simple Baselines / HRNet / MSPN: a 2x3 affine map
// from original-image pixels to network-input (or heatmap) pixels, defined by
// a person box center, a scale in 200-px units and a rotation.
#pragma once
#include <array>

namespace posenet::train {

inline constexpr double kPixelStd = 200.0;  // "scale" is person size / 200 px

struct Point2 {
  double x = 0.0, y = 0.0;
};

// [x', y'] = [m0 m1 m2; m3 m4 m5] * [x, y, 1].
struct Affine2x3 {
  std::array<double, 6> m{1, 0, 0, 0, 1, 0};

  Point2 apply(Point2 p) const { return {m[0] * p.x + m[1] * p.y + m[2], m[3] * p.x + m[4] * p.y + m[5]}; }
  Affine2x3 inverse() const;                        // throws on a singular map
  Affine2x3 then(const Affine2x3& next) const;      // next(this(p))
  static Affine2x3 horizontal_flip(int width);      // x -> width - 1 - x
};

// The affine map solved from three point pairs (cv2.getAffineTransform).
Affine2x3 affine_from_points(const std::array<Point2, 3>& src, const std::array<Point2, 3>& dst);

// SB's get_affine_transform(center, scale, rot, output_size): maps
// center -> output centre, and center + R(rot) (0, -scale*200/2) -> the
// output's top-middle, the third pair being the 90-degree perpendicular.
// Only the width of the 200-px box is used (the height follows from the
// output's aspect ratio). rot is in degrees, positive rotates the content
// counter-clockwise in the output. inverse=true gives the output->image map.
Affine2x3 get_affine_transform(Point2 center, double scale, double rot_deg, int out_w, int out_h, bool inverse = false);

}  // namespace posenet::train
