// Crop geometry shared by training (image/joint warping) and evaluation
// (heatmap -> image coordinates): the affine transform of Simple Baselines'
// get_affine_transform, its application to points, and its inverse.
#pragma once

namespace posenet::eval {

struct Point2 {
  double x = 0.0;
  double y = 0.0;
};

// Row-major 2x3 matrix mapping [x, y, 1] to [x', y'] (OpenCV's layout).
struct Affine2x3 {
  double m[2][3] = {{1, 0, 0}, {0, 1, 0}};

  Point2 apply(Point2 p) const {
    return {m[0][0] * p.x + m[0][1] * p.y + m[0][2], m[1][0] * p.x + m[1][1] * p.y + m[1][2]};
  }
  Affine2x3 inverse() const;  // throws posenet::Error when singular
};

// The affine map taking three source points to three destination points
// (what cv2.getAffineTransform computes); throws when src is degenerate.
Affine2x3 affine_from_points(const Point2 src[3], const Point2 dst[3]);

// The crop transform of SB/HRNet/MSPN (transforms.py get_affine_transform):
// the box of width scale_x * 200 px (only the width component of the scale is
// used, the output aspect sets the height) centred on `center` and rotated by
// `rotation_deg` maps onto an out_w x out_h image. `shift` moves the source
// centre by shift * scale * 200. With inverse = true the map goes from the
// output back to the source image. Equivalent closed form (forward):
//   dst = (out_w/2, out_h/2) + k * R(-rotation) * (src - center - shift*s*200),
//   k = out_w / (scale_x * 200).
// Computed in double precision (the Python code rounds the points to float32;
// the difference is below 1e-4 px for MPII-sized images).
Affine2x3 get_affine_transform(Point2 center, Point2 scale, double rotation_deg, int out_w, int out_h,
                               bool inverse = false, Point2 shift = {0.0, 0.0});

// SB's transform_preds for one point: heatmap (or crop) pixel coordinates back
// to the original image through the inverse crop transform, rotation 0.
// `scale` is in 200-px units and already includes the 1.25 enlargement.
Point2 crop_to_image(Point2 p, Point2 center, Point2 scale, int out_w, int out_h);

}  // namespace posenet::eval
