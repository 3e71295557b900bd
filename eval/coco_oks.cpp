#include "eval/coco_oks.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "core/error.h"

namespace posenet::eval {

double numpy_sum(const double* a, size_t n) {
  // numpy adds the reduction's identity (0) to the pairwise sum.
  if (n < 8) {
    double res = 0.;
    for (size_t i = 0; i < n; ++i) res += a[i];
    return res;
  }
  if (n <= 128) {
    double r[8];
    for (int j = 0; j < 8; ++j) r[j] = a[j];
    size_t i = 8;
    for (; i < n - (n % 8); i += 8)
      for (int j = 0; j < 8; ++j) r[j] += a[i + j];
    double res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; i < n; ++i) res += a[i];
    return res;
  }
  size_t n2 = n / 2;
  n2 -= n2 % 8;
  return numpy_sum(a, n2) + numpy_sum(a + n2, n - n2);
}

double coco_oks(std::span<const double> gt, const Box& box, double area, std::span<const double> det,
                std::span<const double> sigmas) {
  const size_t k = sigmas.size();
  PN_CHECK(gt.size() == 3 * k && det.size() == 3 * k, "coco_oks: expected ", k, " keypoints, got ", gt.size() / 3,
           " and ", det.size() / 3);
  size_t labelled = 0;
  for (size_t i = 0; i < k; ++i) labelled += gt[3 * i + 2] > 0;
  // Without labelled keypoints the distance is to the box doubled in size
  // around it: [x - w, x + 2w] x [y - h, y + 2h].
  const double x0 = box[0] - box[2], x1 = box[0] + box[2] * 2;
  const double y0 = box[1] - box[3], y1 = box[1] + box[3] * 2;
  const double eps = std::numeric_limits<double>::epsilon();  // numpy's spacing(1)
  std::vector<double> terms;
  terms.reserve(k);
  for (size_t i = 0; i < k; ++i) {
    const double xd = det[3 * i], yd = det[3 * i + 1];
    double dx, dy;
    if (labelled > 0) {
      if (!(gt[3 * i + 2] > 0)) continue;
      dx = xd - gt[3 * i];
      dy = yd - gt[3 * i + 1];
    } else {
      dx = std::max(0.0, x0 - xd) + std::max(0.0, xd - x1);
      dy = std::max(0.0, y0 - yd) + std::max(0.0, yd - y1);
    }
    const double var = (sigmas[i] * 2) * (sigmas[i] * 2);
    const double e = (dx * dx + dy * dy) / var / (area + eps) / 2;
    terms.push_back(std::exp(-e));
  }
  return numpy_sum(terms.data(), terms.size()) / double(terms.size());
}

}  // namespace posenet::eval
