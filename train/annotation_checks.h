// Sanity bounds on a person box (the crop a sample is cut from), checked
// when a data set loads and on predict's --center/--scale, so that an absurd
// centre or scale is an error naming the file, entry and field (or the
// option) instead of a degenerate crop later. The bounds (docs/data.md):
//   - the box side (scale x 200 px, after the data set's enlargement) is at
//     least kMinBoxPixels and at most kMaxBoxImageMultiple x the image's
//     larger side;
//   - the centre lies within kCenterMargin x the image's width (height) of
//     the image's left/right (top/bottom) edges.
#pragma once
#include <optional>
#include <string>

#include "train/dataset.h"

namespace posenet::train {

inline constexpr double kMinBoxPixels = 4.0;
inline constexpr double kMaxBoxImageMultiple = 8.0;
inline constexpr double kCenterMargin = 0.5;

// Without the image: centre finite, scale finite, positive and a box of at
// least kMinBoxPixels. The problem, or nothing.
std::optional<std::string> person_box_problem(Point2 center, double scale);

// Against the image it is cut from (width x height pixels, named `image` in
// the message): the checks above, the centre margin and the box's upper bound.
std::optional<std::string> person_box_problem(Point2 center, double scale, int width, int height,
                                              const std::string& image);

}  // namespace posenet::train
