// Crop geometry shared by training (image/joint warping) and evaluation
// (heatmap -> image coordinates): the affine transform of Simple Baselines'
// get_affine_transform, its application to points, its inverse, composition
// and the horizontal mirror of an image.
#pragma once
#include <array>

namespace posenet::eval {

inline constexpr double kPixelStd = 200.0;  // "scale" is person size / 200 px

struct Point2 {
  double x = 0.0;
  double y = 0.0;
};

// [x', y'] = [m0 m1 m2; m3 m4 m5] * [x, y, 1] (OpenCV's row-major 2x3 layout).
struct Affine2x3 {
  std::array<double, 6> m{1, 0, 0, 0, 1, 0};

  Point2 apply(Point2 p) const { return {m[0] * p.x + m[1] * p.y + m[2], m[3] * p.x + m[4] * p.y + m[5]}; }
  Affine2x3 inverse() const;                    // throws posenet::Error when singular
  Affine2x3 then(const Affine2x3& next) const;  // next(this(p))
  static Affine2x3 horizontal_flip(int width);  // x -> width - 1 - x
};

// The affine map taking three source points to three destination points
// (what cv2.getAffineTransform computes); throws when src is degenerate.
Affine2x3 affine_from_points(const std::array<Point2, 3>& src, const std::array<Point2, 3>& dst);

// The crop transform of SB/HRNet/MSPN (transforms.py get_affine_transform):
// the box of width scale.x * 200 px (only the width component of the scale is
// used, the output aspect sets the height) centred on `center` and rotated by
// `rotation_deg` (positive rotates the content counter-clockwise in the
// output) maps onto an out_w x out_h image. `shift` moves the source centre by
// shift * scale * 200. With inverse = true the map goes from the output back
// to the source image. Equivalent closed form (forward):
//   dst = (out_w/2, out_h/2) + k * R(-rotation) * (src - center - shift*s*200),
//   k = out_w / (scale.x * 200).
// Computed in double precision (the Python code rounds the points to float32;
// the difference is below 1e-4 px for MPII-sized images).
Affine2x3 get_affine_transform(Point2 center, Point2 scale, double rotation_deg, int out_w, int out_h,
                               bool inverse = false, Point2 shift = {0.0, 0.0});

// SB's transform_preds for one point: heatmap (or crop) pixel coordinates back
// to the original image through the inverse crop transform, rotation 0.
// `scale` is in 200-px units and already includes the 1.25 enlargement.
Point2 crop_to_image(Point2 p, Point2 center, Point2 scale, int out_w, int out_h);

}  // namespace posenet::eval
