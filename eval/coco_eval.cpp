#include "eval/coco_eval.h"

#include <algorithm>
#include <iomanip>
#include <limits>
#include <map>
#include <numeric>
#include <ostream>
#include <utility>

#include "eval/coco_oks.h"

namespace posenet::eval {

namespace {

// numpy.linspace(start, stop, num): i * step + start, the last one exactly stop.
std::vector<double> linspace(double start, double stop, int num) {
  std::vector<double> v(static_cast<size_t>(num));
  const double step = (stop - start) / double(num - 1);
  for (int i = 0; i < num; ++i) {
    const double scaled = double(i) * step;  // no fused multiply-add: CMakeLists.txt builds this file without
    v[size_t(i)] = scaled + start;
  }
  v.back() = stop;
  return v;
}

// accumulate()'s arrays: precision[t][r][k][a] and recall[t][k][a], -1 where
// no ground-truth person counts.
struct Accumulated {
  size_t T, R, K, A;
  std::vector<double> precision, recall;
  double& p(size_t t, size_t r, size_t k, size_t a) { return precision[((t * R + r) * K + k) * A + a]; }
  double& rc(size_t t, size_t k, size_t a) { return recall[(t * K + k) * A + a]; }
};

// The precision at each recall threshold and the final recall of one
// category and area range over all images (COCOeval.accumulate).
void accumulate_one(const std::vector<CocoImageMatch>& images, size_t k, size_t a, Accumulated& acc) {
  const auto& thresholds = coco_oks_thresholds();
  const auto& recall_thresholds = coco_recall_thresholds();
  std::vector<double> scores;
  std::vector<std::vector<int64_t>> matched(acc.T);
  std::vector<std::vector<char>> dt_ignored(acc.T);
  size_t counted_gt = 0;
  for (const CocoImageMatch& m : images) {
    scores.insert(scores.end(), m.scores.begin(), m.scores.end());
    for (size_t t = 0; t < acc.T; ++t) {
      matched[t].insert(matched[t].end(), m.matched_gt[t].begin(), m.matched_gt[t].end());
      dt_ignored[t].insert(dt_ignored[t].end(), m.dt_ignored[t].begin(), m.dt_ignored[t].end());
    }
    for (char ig : m.gt_ignored) counted_gt += !ig;
  }
  if (counted_gt == 0) return;
  std::vector<size_t> order(scores.size());
  std::iota(order.begin(), order.end(), size_t(0));
  std::stable_sort(order.begin(), order.end(), [&](size_t x, size_t y) { return scores[x] > scores[y]; });
  const size_t nd = order.size();
  const double npig = double(counted_gt);
  const double eps = std::numeric_limits<double>::epsilon();
  for (size_t t = 0; t < thresholds.size(); ++t) {
    std::vector<double> rc(nd), pr(nd);
    double tp = 0, fp = 0;
    for (size_t i = 0; i < nd; ++i) {
      const size_t d = order[i];
      if (!dt_ignored[t][d]) (matched[t][d] != 0 ? tp : fp) += 1;
      rc[i] = tp / npig;
      pr[i] = tp / (fp + tp + eps);
    }
    acc.rc(t, k, a) = nd ? rc.back() : 0;
    // Precision envelope: the best precision at this recall or beyond.
    for (size_t i = nd - (nd > 0); i > 0; --i)
      if (pr[i] > pr[i - 1]) pr[i - 1] = pr[i];
    for (size_t r = 0; r < recall_thresholds.size(); ++r) {
      // searchsorted(rc, threshold, 'left'); past the end the precision stays 0.
      const size_t i = size_t(std::lower_bound(rc.begin(), rc.end(), recall_thresholds[r]) - rc.begin());
      acc.p(t, r, k, a) = i < nd ? pr[i] : 0;
    }
  }
}

// numpy's mean of the values > -1 (-1 when there are none).
double mean_of_defined(const std::vector<double>& values) {
  std::vector<double> defined;
  for (double v : values)
    if (v > -1) defined.push_back(v);
  if (defined.empty()) return -1;
  return numpy_sum(defined.data(), defined.size()) / double(defined.size());
}

}  // namespace

const std::vector<double>& coco_oks_thresholds() {
  static const std::vector<double> v = linspace(.5, 0.95, 10);
  return v;
}

const std::vector<double>& coco_recall_thresholds() {
  static const std::vector<double> v = linspace(0.0, 1.00, 101);
  return v;
}

const std::array<AreaRange, 3>& coco_keypoint_area_ranges() {
  static const std::array<AreaRange, 3> r = {AreaRange{0, 1e10}, AreaRange{32 * 32, 96 * 96}, AreaRange{96 * 96, 1e10}};
  return r;
}

const std::array<const char*, 10>& CocoStats::names() {
  static const std::array<const char*, 10> n = {"AP", "AP50", "AP75", "APm", "APl", "AR", "AR50", "AR75", "ARm", "ARl"};
  return n;
}

nlohmann::ordered_json CocoStats::to_json() const {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  for (size_t i = 0; i < values.size(); ++i)
    j[names()[i]] = values[i] == -1 ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(100 * values[i]);
  return j;
}

CocoStats evaluate_coco_keypoints(const CocoGroundTruth& gt, const std::vector<CocoDetection>& detections) {
  const auto& ranges = coco_keypoint_area_ranges();
  const auto& thresholds = coco_oks_thresholds();
  const size_t K = gt.category_ids.size(), A = ranges.size();
  Accumulated acc{thresholds.size(), coco_recall_thresholds().size(), K, A, {}, {}};
  acc.precision.assign(acc.T * acc.R * K * A, -1);
  acc.recall.assign(acc.T * K * A, -1);

  // Persons and detections per (image, category), in file order.
  using Key = std::pair<int64_t, int64_t>;
  std::map<Key, std::vector<const CocoGtPerson*>> persons;
  std::map<Key, std::vector<const CocoDetection*>> dets;
  for (const CocoGtPerson& p : gt.persons) persons[{p.image_id, p.category_id}].push_back(&p);
  for (const CocoDetection& d : detections) dets[{d.image_id, d.category_id}].push_back(&d);
  static const std::vector<const CocoGtPerson*> kNoPersons;
  static const std::vector<const CocoDetection*> kNoDetections;
  auto find = [](const auto& map, const Key& key, const auto& none) -> const auto& {
    auto it = map.find(key);
    return it == map.end() ? none : it->second;
  };

  for (size_t k = 0; k < K; ++k) {
    // Images with neither persons nor detections of this category take no part.
    std::vector<std::vector<const CocoDetection*>> image_dets;
    std::vector<const std::vector<const CocoGtPerson*>*> image_persons;
    std::vector<std::vector<std::vector<double>>> image_oks;
    for (int64_t image : gt.image_ids) {
      const Key key{image, gt.category_ids[k]};
      const auto& g = find(persons, key, kNoPersons);
      const auto& d = find(dets, key, kNoDetections);
      if (g.empty() && d.empty()) continue;
      image_dets.push_back(best_detections(d, kCocoMaxDetections));
      image_persons.push_back(&g);
      image_oks.push_back(oks_matrix(image_dets.back(), g));
    }
    if (image_dets.empty()) continue;
    for (size_t a = 0; a < A; ++a) {
      std::vector<CocoImageMatch> matches;
      for (size_t i = 0; i < image_dets.size(); ++i)
        matches.push_back(match_image(image_dets[i], *image_persons[i], image_oks[i], ranges[a], thresholds));
      accumulate_one(matches, k, a, acc);
    }
  }

  // summarize(): means over thresholds (and recall points, categories) in numpy's order.
  auto ap = [&](long t_only, size_t a) {
    std::vector<double> v;
    for (size_t t = 0; t < acc.T; ++t)
      if (t_only < 0 || size_t(t_only) == t)
        for (size_t r = 0; r < acc.R; ++r)
          for (size_t k = 0; k < K; ++k) v.push_back(acc.p(t, r, k, a));
    return mean_of_defined(v);
  };
  auto ar = [&](long t_only, size_t a) {
    std::vector<double> v;
    for (size_t t = 0; t < acc.T; ++t)
      if (t_only < 0 || size_t(t_only) == t)
        for (size_t k = 0; k < K; ++k) v.push_back(acc.rc(t, k, a));
    return mean_of_defined(v);
  };
  constexpr long kAll = -1, k50 = 0, k75 = 5;  // indices of 0.50 and 0.75 in the thresholds
  CocoStats s;
  s.values = {ap(kAll, 0), ap(k50, 0), ap(k75, 0), ap(kAll, 1), ap(kAll, 2),
              ar(kAll, 0), ar(k50, 0), ar(k75, 0), ar(kAll, 1), ar(kAll, 2)};
  return s;
}

void print_coco_table(std::ostream& os, const CocoStats& stats) {
  constexpr int kWidth = 8;
  const auto flags = os.flags();
  const auto precision = os.precision();
  for (const char* name : CocoStats::names()) os << std::setw(kWidth) << name;
  os << "\n" << std::fixed << std::setprecision(2);
  for (double v : stats.values) {
    if (v == -1) os << std::setw(kWidth) << "-";
    else os << std::setw(kWidth) << 100 * v;
  }
  os << "\n";
  os.flags(flags);
  os.precision(precision);
}

}  // namespace posenet::eval
