#include "eval/person_box.h"

#include "core/error.h"

namespace posenet::eval {

namespace {
// The width of the box grown to aspect_ratio on its short side.
double width_at_aspect(double w, double h, double aspect_ratio) {
  PN_CHECK(aspect_ratio > 0, "person box: the input aspect ratio must be positive, got ", aspect_ratio);
  return w > aspect_ratio * h ? w : h * aspect_ratio;
}
}  // namespace

PersonCrop crop_of_person_box(double x, double y, double w, double h, double aspect_ratio) {
  PN_CHECK(w > 0 && h > 0, "person box: width and height must be positive, got ", w, " x ", h);
  return {{x + w * 0.5, y + h * 0.5}, width_at_aspect(w, h, aspect_ratio) / kPixelStd * kPersonBoxPadding};
}

PersonCrop crop_of_whole_image(int width, int height, double aspect_ratio) {
  PN_CHECK(width > 0 && height > 0, "crop of an image: bad size ", width, " x ", height);
  return {{(width - 1) / 2.0, (height - 1) / 2.0}, width_at_aspect(width, height, aspect_ratio) / kPixelStd};
}

}  // namespace posenet::eval
