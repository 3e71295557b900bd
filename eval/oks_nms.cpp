#include "eval/oks_nms.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "core/error.h"

namespace posenet::eval {

double rescore_person(std::span<const double> keypoints, double box_score, double threshold) {
  PN_CHECK(keypoints.size() % 3 == 0, "rescore_person: keypoints must be (x, y, confidence) triples");
  double sum = 0;
  int count = 0;
  for (size_t i = 2; i < keypoints.size(); i += 3)
    if (keypoints[i] > threshold) {
      sum += keypoints[i];
      ++count;
    }
  return (count ? sum / count : 0.0) * box_score;
}

double oks_between_predictions(std::span<const double> a, double area_a, std::span<const double> b, double area_b,
                               std::span<const double> sigmas) {
  const size_t k = sigmas.size();
  PN_CHECK(a.size() == 3 * k && b.size() == 3 * k, "oks_between_predictions: expected ", k, " keypoints");
  const double scale = (area_a + area_b) / 2 + std::numeric_limits<double>::epsilon();
  std::vector<double> terms(k);
  for (size_t i = 0; i < k; ++i) {
    const double dx = b[3 * i] - a[3 * i], dy = b[3 * i + 1] - a[3 * i + 1];
    const double var = (sigmas[i] * 2) * (sigmas[i] * 2);
    terms[i] = std::exp(-((dx * dx + dy * dy) / var / scale / 2));
  }
  return numpy_sum(terms.data(), k) / double(k);
}

std::vector<size_t> oks_nms(const std::vector<PersonPrediction>& persons, double threshold,
                            std::span<const double> sigmas) {
  std::vector<size_t> order(persons.size());
  std::iota(order.begin(), order.end(), size_t(0));
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t x, size_t y) { return persons[x].score > persons[y].score; });
  std::vector<size_t> keep;
  std::vector<char> dropped(persons.size(), 0);
  for (size_t oi = 0; oi < order.size(); ++oi) {
    const size_t i = order[oi];
    if (dropped[i]) continue;
    keep.push_back(i);
    for (size_t oj = oi + 1; oj < order.size(); ++oj) {
      const size_t j = order[oj];
      if (!dropped[j] && oks_between_predictions(persons[i].keypoints, persons[i].area, persons[j].keypoints,
                                                 persons[j].area, sigmas) > threshold)
        dropped[j] = 1;
    }
  }
  return keep;
}

}  // namespace posenet::eval
