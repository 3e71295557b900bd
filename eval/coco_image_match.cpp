#include "eval/coco_image_match.h"

#include <algorithm>
#include <numeric>

namespace posenet::eval {

std::vector<const CocoDetection*> best_detections(std::vector<const CocoDetection*> detections,
                                                  size_t max_detections) {
  std::stable_sort(detections.begin(), detections.end(),
                   [](const CocoDetection* a, const CocoDetection* b) { return a->score > b->score; });
  if (detections.size() > max_detections) detections.resize(max_detections);
  return detections;
}

std::vector<std::vector<double>> oks_matrix(const std::vector<const CocoDetection*>& detections,
                                            const std::vector<const CocoGtPerson*>& persons) {
  std::vector<std::vector<double>> oks;
  if (detections.empty() || persons.empty()) return oks;
  oks.assign(detections.size(), std::vector<double>(persons.size()));
  for (size_t d = 0; d < detections.size(); ++d)
    for (size_t g = 0; g < persons.size(); ++g)
      oks[d][g] = coco_oks(persons[g]->keypoints, persons[g]->bbox, persons[g]->area, detections[d]->keypoints);
  return oks;
}

CocoImageMatch match_image(const std::vector<const CocoDetection*>& dts, const std::vector<const CocoGtPerson*>& gts,
                           const std::vector<std::vector<double>>& oks, AreaRange range,
                           const std::vector<double>& thresholds) {
  const size_t T = thresholds.size(), D = dts.size(), G = gts.size();
  auto outside = [&](double area) { return area < range.lo || area > range.hi; };
  // Persons not ignored first, each group in file order.
  std::vector<char> ignored(G);
  for (size_t g = 0; g < G; ++g)
    ignored[g] = gts[g]->iscrowd || gts[g]->num_keypoints == 0 || outside(gts[g]->area);
  std::vector<size_t> order(G);
  std::iota(order.begin(), order.end(), size_t(0));
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return ignored[a] < ignored[b]; });

  CocoImageMatch m;
  for (const CocoDetection* d : dts) m.scores.push_back(d->score);
  for (size_t g : order) m.gt_ignored.push_back(ignored[g]);
  m.matched_gt.assign(T, std::vector<int64_t>(D, 0));
  m.dt_ignored.assign(T, std::vector<char>(D, 0));
  if (!oks.empty()) {
    for (size_t t = 0; t < T; ++t) {
      std::vector<char> gt_taken(G, 0);
      for (size_t d = 0; d < D; ++d) {
        double best = std::min(thresholds[t], 1 - 1e-10);
        long match = -1;
        for (size_t gi = 0; gi < G; ++gi) {
          const CocoGtPerson& g = *gts[order[gi]];
          if (gt_taken[gi] && !g.iscrowd) continue;
          // Matched to a regular person already: ignored ones (all after it) cannot do better.
          if (match > -1 && !m.gt_ignored[size_t(match)] && m.gt_ignored[gi]) break;
          const double v = oks[d][order[gi]];
          if (v < best) continue;
          best = v;
          match = long(gi);
        }
        if (match == -1) continue;
        m.dt_ignored[t][d] = m.gt_ignored[size_t(match)];
        m.matched_gt[t][d] = gts[order[size_t(match)]]->id;
        gt_taken[size_t(match)] = 1;
      }
    }
  }
  for (size_t t = 0; t < T; ++t)
    for (size_t d = 0; d < D; ++d)
      if (m.matched_gt[t][d] == 0 && outside(dts[d]->area)) m.dt_ignored[t][d] = 1;
  return m;
}

}  // namespace posenet::eval
