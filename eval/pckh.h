// PCKh on MPII exactly as the standard evaluation used by Simple Baselines,
// HRNet and MSPN (lib/dataset/mpii.py::evaluate), plus a genuine PCKh@0.1
// and the official toolkit's AUC.
#pragma once
#include <array>
#include <iosfwd>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "eval/mat_io.h"

namespace posenet::eval {

inline constexpr double kPckhHeadBias = 0.6;      // SC_BIAS: normaliser = 0.6 x head box diagonal
inline constexpr double kPckhThreshold = 0.5;     // PCKh@0.5
inline constexpr int kPckhCurveSteps = 50;        // thresholds 0, 0.01, ..., 0.50

struct PckhResult {
  // Per joint (MPII order), in %: PCKh@0.5 and the number of visible joints.
  // A joint never visible in the ground truth has NaN accuracy.
  std::array<double, kMpiiJointCount> joint_pckh{};
  std::array<long, kMpiiJointCount> joint_count{};
  // The reported columns, in %.
  double head = 0, shoulder = 0, elbow = 0, wrist = 0, hip = 0, knee = 0, ankle = 0;
  double mean = 0;                 // count-weighted over the 14 joints other than pelvis and thorax
  double mean_at_0_1 = 0;          // the same at a true threshold of 0.10
  double mean_at_0_11_legacy = 0;  // SB/HRNet/MSPN's "Mean@0.1" (pckAll[11], i.e. 0.11), for comparison
  double auc = 0;                  // area under the Mean curve over thresholds 0..0.5, in %
  // The Mean curve: mean_curve[r] at threshold r * 0.01, r = 0..50.
  std::array<double, kPckhCurveSteps + 1> mean_curve{};
  size_t persons = 0;

  // {"Head", "Shoulder", "Elbow", "Wrist", "Hip", "Knee", "Ankle", "Mean", "Mean@0.1", "AUC"}, plus
  // "Mean@0.11": the value the SB/HRNet script labels "Mean@0.1" (pckAll[11]).
  nlohmann::json to_json() const;
};

// Scores predictions (1-based pixels, as in pred.mat) against the ground
// truth. Throws InputError when the person counts differ.
PckhResult evaluate_pckh(const Predictions& preds, const GroundTruth& gt);

// The paper's Table 4 layout (Head Shoulder Elbow Wrist Hip Knee Ankle Mean
// AUC) with Mean@0.1 (a true 0.10) before AUC, one row per labelled result
// (Table 5: one row per stage).
void print_pckh_table(std::ostream& os, const std::vector<std::pair<std::string, PckhResult>>& rows);

}  // namespace posenet::eval
