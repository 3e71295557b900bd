// A person box as the crop a top-down model sees (Simple Baselines' and
// HRNet's box-to-centre/scale): the box centre, the box grown on its short
// side to the input's aspect ratio (width / height), then by 1.25. The scale
// is the crop's width in 200-px units, the only component get_affine_transform
// uses (the input's aspect then gives the height).
#pragma once
#include "eval/geometry.h"

namespace posenet::eval {

inline constexpr double kPersonBoxPadding = 1.25;

struct PersonCrop {
  Point2 center;
  double scale = 1.0;  // crop width / 200 px, padding included
};

// A box [x, y, w, h] (COCO's bbox, in pixels) with w, h > 0, for an input of
// aspect_ratio = input width / input height. For a square input the scale is
// max(w, h) / 200 * 1.25.
PersonCrop crop_of_person_box(double x, double y, double w, double h, double aspect_ratio);

// The smallest crop of the input's aspect ratio that holds a whole image of
// width x height pixels, without padding (posenet predict without a box).
PersonCrop crop_of_whole_image(int width, int height, double aspect_ratio);

}  // namespace posenet::eval
