#include "train/ground_truth.h"

#include "core/error.h"

namespace posenet::train {

eval::GroundTruth ground_truth_from_samples(const std::vector<Sample>& samples) {
  const size_t n = samples.size();
  eval::GroundTruth gt;
  gt.joints.resize(n);
  gt.missing.resize(n);
  gt.headboxes.resize(n);
  for (size_t i = 0; i < n; ++i) {
    const Sample& s = samples[i];
    PN_CHECK(s.headbox.has_value(), s.source, ": entry ", s.source_index, " has no head box for the PCKh ground truth");
    for (int j = 0; j < kNumJoints; ++j) {
      const bool missing = !(s.weight[size_t(j)] > 0);
      gt.missing[i][size_t(j)] = missing;
      gt.joints[i][size_t(j)] = missing ? Point2{0.0, 0.0} : Point2{s.joints[size_t(j)].x + 1, s.joints[size_t(j)].y + 1};
    }
    gt.headboxes[i] = {s.headbox->x1 + 1, s.headbox->y1 + 1, s.headbox->x2 + 1, s.headbox->y2 + 1};
  }
  return gt;
}

}  // namespace posenet::train
