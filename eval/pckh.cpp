#include "eval/pckh.h"

#include <cmath>
#include <iomanip>
#include <limits>
#include <ostream>

#include "core/error.h"

namespace posenet::eval {

namespace {

constexpr int kPelvis = 6, kThorax = 7;

// Visible joints with err / headsize <= threshold, per joint. `scaled` holds
// err / headsize, NaN where the joint is not visible: a NaN error (invisible
// joint, or a NaN prediction) never counts. <= as in the standard script and
// the official computePCK.m.
std::array<long, kMpiiJointCount> hits_at(const std::vector<std::array<double, kMpiiJointCount>>& scaled,
                                          double threshold) {
  std::array<long, kMpiiJointCount> hits{};
  for (const auto& person : scaled)
    for (int j = 0; j < kMpiiJointCount; ++j)
      if (person[j] <= threshold) ++hits[j];
  return hits;
}

// PCKh_j = 100 * hits_j / count_j (NaN when the joint is never visible).
std::array<double, kMpiiJointCount> pck_of(const std::array<long, kMpiiJointCount>& hits,
                                           const std::array<long, kMpiiJointCount>& count) {
  std::array<double, kMpiiJointCount> pck{};
  for (int j = 0; j < kMpiiJointCount; ++j)
    pck[j] = count[j] > 0 ? 100.0 * double(hits[j]) / double(count[j]) : std::numeric_limits<double>::quiet_NaN();
  return pck;
}

// The standard Mean is sum_j PCKh_j * jnt_ratio_j with jnt_ratio = count_j /
// sum of counts over the 14 joints other than pelvis and thorax. Since
// PCKh_j * count_j = 100 * hits_j this is the pooled accuracy
// 100 * sum_j hits_j / sum_j count_j, which we compute directly (exact in
// integers; it agrees with numpy's form to ~1e-14). A joint with no visible
// instance adds nothing (numpy would give NaN).
double pooled_mean(const std::array<long, kMpiiJointCount>& hits, const std::array<long, kMpiiJointCount>& count) {
  long total = 0, hit = 0;
  for (int j = 0; j < kMpiiJointCount; ++j)
    if (j != kPelvis && j != kThorax) total += count[j], hit += hits[j];
  return total > 0 ? 100.0 * double(hit) / double(total) : std::numeric_limits<double>::quiet_NaN();
}

}  // namespace

PckhResult evaluate_pckh(const Predictions& preds, const GroundTruth& gt) {
  const size_t n = gt.size();
  if (preds.size() != n)
    throw InputError(detail::concat("predictions hold ", preds.size(), " persons but the ground truth holds ", n));
  PN_CHECK(gt.missing.size() == n && gt.headboxes.size() == n, "ground truth has inconsistent sizes");

  PckhResult r;
  r.persons = n;
  std::vector<std::array<double, kMpiiJointCount>> scaled(n);
  for (size_t i = 0; i < n; ++i) {
    const HeadBox& hb = gt.headboxes[i];
    // sqrt of the sum of squares, as numpy.linalg.norm computes it.
    const double hw = hb.x2 - hb.x1, hh = hb.y2 - hb.y1;
    const double headsize = kPckhHeadBias * std::sqrt(hw * hw + hh * hh);
    for (int j = 0; j < kMpiiJointCount; ++j) {
      if (gt.missing[i][j]) {
        scaled[i][j] = std::numeric_limits<double>::quiet_NaN();
        continue;
      }
      ++r.joint_count[j];
      const double ex = preds[i][j].x - gt.joints[i][j].x, ey = preds[i][j].y - gt.joints[i][j].y;
      const double err = std::sqrt(ex * ex + ey * ey);
      scaled[i][j] = err / headsize;
    }
  }

  const auto hits = hits_at(scaled, kPckhThreshold);
  r.joint_pckh = pck_of(hits, r.joint_count);
  const auto& p = r.joint_pckh;
  r.head = p[9];
  r.shoulder = 0.5 * (p[12] + p[13]);
  r.elbow = 0.5 * (p[11] + p[14]);
  r.wrist = 0.5 * (p[10] + p[15]);
  r.hip = 0.5 * (p[2] + p[3]);
  r.knee = 0.5 * (p[1] + p[4]);
  r.ankle = 0.5 * (p[0] + p[5]);
  r.mean = pooled_mean(hits, r.joint_count);
  r.mean_at_0_1 = pooled_mean(hits_at(scaled, 0.1), r.joint_count);

  // Thresholds r * 0.01 as numpy's arange(0, 0.51, 0.01) produces them.
  for (int s = 0; s <= kPckhCurveSteps; ++s)
    r.mean_curve[s] = pooled_mean(hits_at(scaled, s * 0.01), r.joint_count);
  r.mean_at_0_11_legacy = r.mean_curve[11];

  // AUC as the official MPII toolkit computes it (area_under_curve of
  // scale01(0:0.01:0.5) against the pooled PCKh): the trapezoidal area under
  // the Mean curve with the threshold axis rescaled to [0, 1],
  //   AUC = (1/50) * sum_{s=0}^{49} (mean_curve[s] + mean_curve[s+1]) / 2   (in %).
  double area = 0;
  for (int s = 0; s < kPckhCurveSteps; ++s) area += 0.5 * (r.mean_curve[s] + r.mean_curve[s + 1]);
  r.auc = area / kPckhCurveSteps;
  return r;
}

nlohmann::json PckhResult::to_json() const {
  // NaN (a column with no visible joint) becomes null in JSON.
  auto v = [](double x) { return std::isnan(x) ? nlohmann::json(nullptr) : nlohmann::json(x); };
  nlohmann::json j = nlohmann::json::object();
  j["Head"] = v(head);
  j["Shoulder"] = v(shoulder);
  j["Elbow"] = v(elbow);
  j["Wrist"] = v(wrist);
  j["Hip"] = v(hip);
  j["Knee"] = v(knee);
  j["Ankle"] = v(ankle);
  j["Mean"] = v(mean);
  j["Mean@0.1"] = v(mean_at_0_1);
  j["AUC"] = v(auc);
  // SB/HRNet's "Mean@0.1" (threshold 0.11), so their tables can be compared.
  j["Mean@0.11"] = v(mean_at_0_11_legacy);
  return j;
}

void print_pckh_table(std::ostream& os, const std::vector<std::pair<std::string, PckhResult>>& rows) {
  size_t label_width = 0;
  for (const auto& [label, _] : rows) label_width = std::max(label_width, label.size());
  static const char* kColumns[] = {"Head", "Shoulder", "Elbow", "Wrist", "Hip", "Knee", "Ankle", "Mean", "Mean@0.1", "AUC"};
  constexpr int kWidth = 9;
  const auto flags = os.flags();
  const auto precision = os.precision();
  os << std::left << std::setw(int(label_width)) << "" << std::right;
  for (const char* c : kColumns) os << std::setw(kWidth) << c;
  os << "\n";
  os << std::fixed << std::setprecision(2);
  for (const auto& [label, r] : rows) {
    os << std::left << std::setw(int(label_width)) << label << std::right;
    for (double v : {r.head, r.shoulder, r.elbow, r.wrist, r.hip, r.knee, r.ankle, r.mean, r.mean_at_0_1, r.auc})
      os << std::setw(kWidth) << v;
    os << "\n";
  }
  os.flags(flags);
  os.precision(precision);
}

}  // namespace posenet::eval
