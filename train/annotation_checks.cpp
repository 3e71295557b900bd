#include "train/annotation_checks.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace posenet::train {

std::optional<std::string> person_box_problem(Point2 center, double scale) {
  if (!std::isfinite(center.x) || !std::isfinite(center.y))
    return detail::concat("center (", center.x, ", ", center.y, ") is not finite");
  if (!std::isfinite(scale) || !(scale > 0)) return detail::concat("scale must be a positive number, got ", scale);
  const double side = scale * kPixelStd;
  if (side < kMinBoxPixels)
    return detail::concat("scale ", scale, " makes a person box of ", side, " pixels, smaller than the minimum of ",
                          kMinBoxPixels, " pixels");
  return std::nullopt;
}

std::optional<std::string> person_box_problem(Point2 center, double scale, int width, int height,
                                              const std::string& image) {
  if (auto problem = person_box_problem(center, scale)) return problem;
  const double side = scale * kPixelStd, limit = kMaxBoxImageMultiple * std::max(width, height);
  if (side > limit)
    return detail::concat("scale ", scale, " makes a person box of ", side, " pixels, more than ",
                          kMaxBoxImageMultiple, " x the larger side of ", image, " (", width, "x", height, ")");
  const double mx = kCenterMargin * width, my = kCenterMargin * height;
  if (center.x < -mx || center.x > width - 1 + mx || center.y < -my || center.y > height - 1 + my)
    return detail::concat("center (", center.x, ", ", center.y, ") lies outside ", image, " (", width, "x", height,
                          ") by more than ", kCenterMargin, " x its size");
  return std::nullopt;
}

}  // namespace posenet::train
