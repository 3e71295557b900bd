#include <array>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <numbers>
#include <set>
#include <sys/wait.h>
#include <tuple>
#include <sstream>

#include <nlohmann/json.hpp>

#include "eval/mat_io.h"
#include "eval/pckh.h"
#include "test_util.h"

namespace posenet {
namespace {

using eval::GroundTruth;
using eval::Predictions;

std::filesystem::path shared_gt_path() { return testing::shared_data_dir() / "mpii/annot/gt_valid.mat"; }

// n persons, all joints visible at distinct places, head box (0,0)-(30,40):
// diagonal 50, PCKh normaliser 0.6 * 50 = 30 px.
GroundTruth synthetic_gt(int n) {
  GroundTruth gt;
  for (int i = 0; i < n; ++i) {
    std::array<eval::Point2, 16> joints{};
    for (int j = 0; j < 16; ++j) joints[j] = {100.0 + 7 * j + i, 200.0 + 5 * j - i};
    gt.joints.push_back(joints);
    gt.missing.push_back({});
    gt.headboxes.push_back({0.0, 0.0, 30.0, 40.0});
  }
  return gt;
}

Predictions predictions_equal_to(const GroundTruth& gt) { return Predictions(gt.joints.begin(), gt.joints.end()); }

// Moves a point by `distance` px along the (0.6, 0.8) direction.
void move(eval::Point2& p, double distance) {
  p.x += 0.6 * distance;
  p.y += 0.8 * distance;
}

TEST(Pckh, GroundTruthAgainstItselfIsHundredEverywhere) {
  if (!std::filesystem::exists(shared_gt_path())) GTEST_SKIP() << "MPII ground truth not found at " << shared_gt_path();
  const GroundTruth gt = eval::read_ground_truth_mat(shared_gt_path());
  const auto r = eval::evaluate_pckh(predictions_equal_to(gt), gt);
  for (double v : {r.head, r.shoulder, r.elbow, r.wrist, r.hip, r.knee, r.ankle, r.mean, r.mean_at_0_1, r.auc})
    EXPECT_DOUBLE_EQ(v, 100.0);
  long pooled = 0;
  for (int j = 0; j < 16; ++j) pooled += (j == 6 || j == 7) ? 0 : r.joint_count[j];
  EXPECT_EQ(pooled, 38430) << "visible joints outside pelvis and thorax";
}

TEST(Pckh, ThresholdBoundaryAtHalfTheNormaliser) {
  GroundTruth gt = synthetic_gt(2);
  Predictions p = predictions_equal_to(gt);
  move(p[0][9], 0.49 * 30.0);  // head top, inside
  auto r = eval::evaluate_pckh(p, gt);
  EXPECT_DOUBLE_EQ(r.head, 100.0);
  move(p[0][9], 0.02 * 30.0);  // now 0.51: outside
  r = eval::evaluate_pckh(p, gt);
  EXPECT_DOUBLE_EQ(r.head, 50.0);
  EXPECT_DOUBLE_EQ(r.joint_pckh[9], 50.0);
  // Mean over the 14 scored joints (2 persons each): one miss in 28.
  EXPECT_NEAR(r.mean, 100.0 * 27.0 / 28.0, 1e-12);
  // Exactly on the threshold counts (<=): 3-4-5 triangle, 9 x 12 px = 15 px = 0.5 * 30.
  p = predictions_equal_to(gt);
  p[1][12].x += 9.0;
  p[1][12].y += 12.0;
  r = eval::evaluate_pckh(p, gt);
  EXPECT_DOUBLE_EQ(r.shoulder, 100.0);
}

TEST(Pckh, MissingJointsAreIgnored) {
  GroundTruth gt = synthetic_gt(2);
  gt.missing[1][0] = true;  // person 1's right ankle is not annotated
  Predictions p = predictions_equal_to(gt);
  p[1][0] = {-5000.0, 1e9};  // anything there
  auto r = eval::evaluate_pckh(p, gt);
  EXPECT_DOUBLE_EQ(r.ankle, 100.0);
  EXPECT_EQ(r.joint_count[0], 1);
  EXPECT_DOUBLE_EQ(r.mean, 100.0);
  p[0][0].x += 16.0;  // the only visible right ankle misses
  r = eval::evaluate_pckh(p, gt);
  EXPECT_DOUBLE_EQ(r.joint_pckh[0], 0.0);
  EXPECT_DOUBLE_EQ(r.ankle, 50.0);  // mean of right (0) and left (100)
  // A NaN prediction of a visible joint is a miss, not an error.
  p = predictions_equal_to(gt);
  p[0][15].x = std::nan("");
  r = eval::evaluate_pckh(p, gt);
  EXPECT_DOUBLE_EQ(r.wrist, 75.0);
}

TEST(Pckh, WeightedMeanByHandOnThreePersons) {
  GroundTruth gt = synthetic_gt(3);
  gt.missing[2][0] = gt.missing[2][5] = true;  // person 2 has no ankles
  gt.missing[1][10] = true;                    // person 1 has no right wrist
  Predictions p = predictions_equal_to(gt);
  p[0][0].x += 20.0;  // right ankle miss (1 of 2 visible)
  p[1][8].y -= 20.0;  // upper neck miss (1 of 3)
  p[0][6].x += 50.0;  // pelvis miss: not part of Mean
  p[2][7].x += 50.0;  // thorax miss: not part of Mean
  const auto r = eval::evaluate_pckh(p, gt);
  EXPECT_DOUBLE_EQ(r.joint_pckh[0], 50.0);
  EXPECT_NEAR(r.joint_pckh[8], 100.0 * 2.0 / 3.0, 1e-12);
  EXPECT_NEAR(r.joint_pckh[6], 100.0 * 2.0 / 3.0, 1e-12);
  EXPECT_DOUBLE_EQ(r.ankle, 75.0);
  EXPECT_DOUBLE_EQ(r.wrist, 100.0);
  EXPECT_DOUBLE_EQ(r.head, 100.0);  // head top only: the neck miss does not count here
  // Counts over the 14 joints: ankles 2 + 2, right wrist 2, 11 others x 3 = 39.
  // Mean = sum PCKh_j * count_j / 39 = (50*2 + 100*2 + 100*2 + (2/3*100)*3 + 100*3*10) / 39 = 3700 / 39.
  EXPECT_NEAR(r.mean, 3700.0 / 39.0, 1e-12);
}

TEST(Pckh, MeanAtTenthAndAucByHand) {
  GroundTruth gt = synthetic_gt(1);
  Predictions p = predictions_equal_to(gt);
  // Normalised errors of the 14 scored joints: 4 at 0, 5 at 0.105, 5 at 0.255.
  const int scored[14] = {0, 1, 2, 3, 4, 5, 8, 9, 10, 11, 12, 13, 14, 15};
  for (int k = 0; k < 14; ++k) p[0][scored[k]].x += 30.0 * (k < 4 ? 0.0 : k < 9 ? 0.105 : 0.255);
  p[0][6].x += 300.0;  // pelvis and thorax far away: ignored
  p[0][7].x += 300.0;
  const auto r = eval::evaluate_pckh(p, gt);
  EXPECT_NEAR(r.mean, 100.0, 1e-12);
  EXPECT_NEAR(r.mean_at_0_1, 100.0 * 4 / 14, 1e-12);           // a true 0.10
  EXPECT_NEAR(r.mean_at_0_11_legacy, 100.0 * 9 / 14, 1e-12);   // the standard script's pckAll[11]
  // Curve: 4/14 for t <= 0.10 (s = 0..10), 9/14 for s = 11..25, 1 for s = 26..50.
  // Trapezoids: 10 * 4/14 + (4+9)/28 + 14 * 9/14 + (9+14)/28 + 24 * 1 = 184/14 + 24;
  // AUC = 100 * (184/14 + 24) / 50.
  EXPECT_NEAR(r.auc, 100.0 * (184.0 / 14.0 + 24.0) / 50.0, 1e-9);
  EXPECT_NEAR(r.mean_curve[10], 100.0 * 4 / 14, 1e-12);
  EXPECT_NEAR(r.mean_curve[25], 100.0 * 9 / 14, 1e-12);
  EXPECT_NEAR(r.mean_curve[26], 100.0, 1e-12);
}

TEST(Pckh, NanPredictionsCountAsMissesOfVisibleJoints) {
  GroundTruth gt = synthetic_gt(4);
  gt.missing[3][9] = 1;  // a joint not annotated stays out, NaN or not
  Predictions p = predictions_equal_to(gt);
  for (auto& joint : p[3]) joint = {std::nan(""), std::nan("")};  // a skipped person
  const auto r = eval::evaluate_pckh(p, gt);
  EXPECT_EQ(r.joint_count[9], 3);
  EXPECT_EQ(r.joint_count[0], 4);
  EXPECT_EQ(r.head, 100.0);     // the skipped person's head top is not annotated
  EXPECT_EQ(r.ankle, 75.0);     // 3 of 4 hit
  EXPECT_NEAR(r.mean, 100.0 * (14 * 3) / (14 * 4 - 1), 1e-12);
  EXPECT_EQ(r.mean_curve[50], r.mean);
}

TEST(Pckh, RejectsPersonCountMismatch) {
  const GroundTruth gt = synthetic_gt(3);
  Predictions p = predictions_equal_to(gt);
  p.pop_back();
  EXPECT_THROW(eval::evaluate_pckh(p, gt), InputError);
}

TEST(Pckh, JsonHasExactlyTheTableKeys) {
  const GroundTruth gt = synthetic_gt(2);
  const auto j = eval::evaluate_pckh(predictions_equal_to(gt), gt).to_json();
  std::set<std::string> keys;
  for (const auto& [k, v] : j.items()) keys.insert(k);
  EXPECT_EQ(keys, (std::set<std::string>{"Head", "Shoulder", "Elbow", "Wrist", "Hip", "Knee", "Ankle", "Mean",
                                         "Mean@0.1", "AUC", "Mean@0.11"}));
  EXPECT_EQ(j["Mean"].get<double>(), 100.0);
}

TEST(Pckh, JsonCarriesTheLegacyMeanAtElevenHundredthsBesideTheTrueTenth) {
  // One joint error of exactly 0.105 x the 30 px normaliser: a miss at a true
  // 0.10, a hit at the SB/HRNet script's 0.11.
  const GroundTruth gt = synthetic_gt(1);
  Predictions p = predictions_equal_to(gt);
  for (int j = 0; j < 16; ++j) move(p[0][j], 0.105 * 30.0);
  const auto r = eval::evaluate_pckh(p, gt);
  const auto j = r.to_json();
  EXPECT_EQ(j.at("Mean@0.1").get<double>(), 0.0);
  EXPECT_EQ(j.at("Mean@0.11").get<double>(), 100.0);
  EXPECT_EQ(j.at("Mean@0.11").get<double>(), r.mean_at_0_11_legacy);
}

TEST(Pckh, TableHasMeanAtTenthBetweenMeanAndAuc) {
  const GroundTruth gt = synthetic_gt(2);
  Predictions p = predictions_equal_to(gt);
  for (int j = 0; j < 16; ++j) move(p[0][j], 0.2 * 30.0);  // person 0: hits at 0.5, misses at 0.1
  const auto r = eval::evaluate_pckh(p, gt);
  ASSERT_EQ(r.mean_at_0_1, 50.0);
  std::ostringstream os;
  eval::print_pckh_table(os, {{"final", r}});
  std::istringstream lines(os.str());
  std::string header, row;
  std::getline(lines, header);
  std::getline(lines, row);
  std::istringstream header_words(header), row_words(row);
  std::vector<std::string> columns, values;
  for (std::string w; header_words >> w;) columns.push_back(w);
  for (std::string w; row_words >> w;) values.push_back(w);
  EXPECT_EQ(columns, (std::vector<std::string>{"Head", "Shoulder", "Elbow", "Wrist", "Hip", "Knee", "Ankle", "Mean",
                                               "Mean@0.1", "AUC"}));
  ASSERT_EQ(values.size(), columns.size() + 1) << row;  // the label first
  EXPECT_EQ(values[0], "final");
  EXPECT_EQ(values[8], "100.00");  // Mean
  EXPECT_EQ(values[9], "50.00");   // Mean@0.1
}

TEST(Pckh, TablePrintsOneRowPerStage) {
  const GroundTruth gt = synthetic_gt(2);
  Predictions p = predictions_equal_to(gt);
  const auto exact = eval::evaluate_pckh(p, gt);
  move(p[0][9], 20.0);
  const auto worse = eval::evaluate_pckh(p, gt);
  std::ostringstream os;
  eval::print_pckh_table(os, {{"stage 1", worse}, {"final", exact}});
  const std::string s = os.str();
  std::istringstream lines(s);
  std::string header, row1, row2;
  std::getline(lines, header);
  std::getline(lines, row1);
  std::getline(lines, row2);
  for (const char* col : {"Head", "Shoulder", "Elbow", "Wrist", "Hip", "Knee", "Ankle", "Mean", "AUC"})
    EXPECT_NE(header.find(col), std::string::npos) << col;
  EXPECT_EQ(row1.rfind("stage 1", 0), 0u);
  EXPECT_NE(row1.find("50.00"), std::string::npos) << row1;  // head of stage 1
  EXPECT_EQ(row2.rfind("final", 0), 0u);
  EXPECT_NE(row2.find("100.00"), std::string::npos) << row2;
}

// The deterministic perturbation of tests/reference/mpii_pckh_reference.py
// (perturbed_predictions): with k = 16 n + j, radius u * 0.7 * headsize along
// the angle 2 pi v; every 7th person's joint 3 is off by 1000 px; missing
// joints are (-1, -1).
Predictions reference_perturbation(const GroundTruth& gt) {
  Predictions p(gt.size());
  for (size_t n = 0; n < gt.size(); ++n) {
    const auto& hb = gt.headboxes[n];
    const double hw = hb.x2 - hb.x1, hh = hb.y2 - hb.y1;
    const double headsize = std::sqrt(hw * hw + hh * hh) * 0.6;
    for (int j = 0; j < 16; ++j) {
      const uint64_t k = 16 * n + uint64_t(j);
      const double u = double((k * 2654435761ull) % (1ull << 32)) / double(1ull << 32);
      const double v = double((k * 40503ull) % 65536ull) / 65536.0;
      const double r = u * 0.7 * headsize, a = 2.0 * std::numbers::pi * v;
      p[n][j] = {gt.joints[n][j].x + r * std::cos(a), gt.joints[n][j].y + r * std::sin(a)};
      if (n % 7 == 0 && j == 3) p[n][j].x += 1000.0;
      if (gt.missing[n][j]) p[n][j] = {-1.0, -1.0};
    }
  }
  return p;
}

// Expected values printed by
//   python3 tests/reference/mpii_pckh_reference.py --gt gt_valid.mat --write-perturbed perturbed.mat
// (numpy 1.24, scipy 1.10): the standard evaluate() transcribed, plus a true
// 0.10 Mean and the toolkit's AUC.
constexpr double kReferenceHead = 71.48703956343793, kReferenceShoulder = 71.484375,
                 kReferenceElbow = 71.45043472602151, kReferenceWrist = 71.47571861022979,
                 kReferenceHip = 66.40033142236912, kReferenceKnee = 71.67087269378986,
                 kReferenceAnkle = 70.54789660585249, kReferenceMean = 70.61410356492324,
                 kReferenceMeanAt01 = 14.103564923237053, kReferenceMeanAt011 = 15.50351288056206,
                 kReferenceAuc = 35.29575852198803;

TEST(PckhReference, MatchesStandardScriptOnPerturbedPredictions) {
  if (!std::filesystem::exists(shared_gt_path())) GTEST_SKIP() << "MPII ground truth not found at " << shared_gt_path();
  const GroundTruth gt = eval::read_ground_truth_mat(shared_gt_path());
  const auto r = eval::evaluate_pckh(reference_perturbation(gt), gt);
  EXPECT_NEAR(r.head, kReferenceHead, 1e-6);
  EXPECT_NEAR(r.shoulder, kReferenceShoulder, 1e-6);
  EXPECT_NEAR(r.elbow, kReferenceElbow, 1e-6);
  EXPECT_NEAR(r.wrist, kReferenceWrist, 1e-6);
  EXPECT_NEAR(r.hip, kReferenceHip, 1e-6);
  EXPECT_NEAR(r.knee, kReferenceKnee, 1e-6);
  EXPECT_NEAR(r.ankle, kReferenceAnkle, 1e-6);
  EXPECT_NEAR(r.mean, kReferenceMean, 1e-6);
  EXPECT_NEAR(r.mean_at_0_1, kReferenceMeanAt01, 1e-6);
  EXPECT_NEAR(r.mean_at_0_11_legacy, kReferenceMeanAt011, 1e-6);
  EXPECT_NEAR(r.auc, kReferenceAuc, 1e-6);
}

// Runs the built CLI; returns its exit status and combined output.
std::pair<int, std::string> run_cli(const std::string& args) {
  const std::string cmd = std::string("\"") + POSENET_CLI_PATH + "\" " + args + " 2>&1";
  FILE* pipe = popen(cmd.c_str(), "r");
  if (pipe == nullptr) return {-1, "popen failed"};
  std::string out;
  char buf[4096];
  while (size_t got = fread(buf, 1, sizeof buf, pipe)) out.append(buf, got);
  const int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

TEST(EvalCli, PredictionsEqualToGroundTruthScoreHundred) {
  if (!std::filesystem::exists(shared_gt_path())) GTEST_SKIP() << "MPII ground truth not found at " << shared_gt_path();
  const auto dir = testing::temp_dir("eval_cli");
  const GroundTruth gt = eval::read_ground_truth_mat(shared_gt_path());
  eval::write_predictions_mat(dir / "pred.mat", predictions_equal_to(gt));
  const auto [status, out] =
      run_cli("eval --predictions \"" + (dir / "pred.mat").string() + "\" --gt \"" + shared_gt_path().string() + "\" --json");
  ASSERT_EQ(status, 0) << out;
  const auto j = nlohmann::json::parse(out);
  EXPECT_EQ(j.at("Mean").get<double>(), 100.0);
  EXPECT_EQ(j.at("AUC").get<double>(), 100.0);
  EXPECT_EQ(j.size(), 11u);

  // The perturbed set through the CLI gives the reference numbers too.
  eval::write_predictions_mat(dir / "perturbed.mat", reference_perturbation(gt));
  const auto [status2, out2] = run_cli("eval --predictions \"" + (dir / "perturbed.mat").string() + "\" --gt \"" +
                                       shared_gt_path().string() + "\" --json");
  ASSERT_EQ(status2, 0) << out2;
  EXPECT_NEAR(nlohmann::json::parse(out2).at("Mean").get<double>(), kReferenceMean, 1e-6);
}

TEST(EvalCli, TableAndErrors) {
  const auto dir = testing::temp_dir("eval_cli_table");
  const GroundTruth gt = synthetic_gt(2);
  eval::write_ground_truth_mat(dir / "gt.mat", gt);
  eval::write_predictions_mat(dir / "pred.mat", predictions_equal_to(gt));
  auto [status, out] = run_cli("eval --predictions \"" + (dir / "pred.mat").string() + "\" --gt \"" +
                               (dir / "gt.mat").string() + "\"");
  ASSERT_EQ(status, 0) << out;
  EXPECT_NE(out.find("Shoulder"), std::string::npos) << out;
  EXPECT_NE(out.find("100.00"), std::string::npos) << out;

  // Two prediction files (e.g. two stages): one row each; JSON keyed by file name.
  Predictions off = predictions_equal_to(gt);
  off[0][9].x += 20.0;  // head top of person 0 beyond 0.5 * 30 px
  eval::write_predictions_mat(dir / "stage1.mat", off);
  std::tie(status, out) = run_cli("eval --predictions \"" + (dir / "stage1.mat").string() + "\" \"" +
                                  (dir / "pred.mat").string() + "\" --gt \"" + (dir / "gt.mat").string() + "\"");
  ASSERT_EQ(status, 0) << out;
  EXPECT_NE(out.find("\nstage1 "), std::string::npos) << out;
  EXPECT_NE(out.find("\npred "), std::string::npos) << out;
  std::tie(status, out) = run_cli("eval --json --predictions \"" + (dir / "stage1.mat").string() + "\" \"" +
                                  (dir / "pred.mat").string() + "\" --gt \"" + (dir / "gt.mat").string() + "\"");
  ASSERT_EQ(status, 0) << out;
  const auto both = nlohmann::json::parse(out);
  EXPECT_EQ(both.at("stage1").at("Head").get<double>(), 50.0);
  EXPECT_EQ(both.at("pred").at("Head").get<double>(), 100.0);

  // Person counts differ: an error naming both files.
  eval::write_predictions_mat(dir / "short.mat", Predictions(1));
  std::tie(status, out) = run_cli("eval --predictions \"" + (dir / "short.mat").string() + "\" --gt \"" +
                                  (dir / "gt.mat").string() + "\"");
  EXPECT_EQ(status, 1) << out;
  EXPECT_NE(out.find("posenet: error:"), std::string::npos) << out;
  EXPECT_NE(out.find((dir / "short.mat").string()), std::string::npos) << out;

  std::tie(status, out) = run_cli("eval --predictions \"" + (dir / "absent.mat").string() + "\" --gt \"" +
                                  (dir / "gt.mat").string() + "\"");
  EXPECT_EQ(status, 1) << out;
  EXPECT_NE(out.find((dir / "absent.mat").string()), std::string::npos) << out;

  // A pred.mat with NaN rows (persons skipped by --skip-bad) is read and scored: misses.
  Predictions skipped = predictions_equal_to(gt);
  for (auto& joint : skipped[1]) joint = {std::nan(""), std::nan("")};
  eval::write_predictions_mat(dir / "skipped.mat", skipped);
  std::tie(status, out) = run_cli("eval --json --predictions \"" + (dir / "skipped.mat").string() + "\" --gt \"" +
                                  (dir / "gt.mat").string() + "\"");
  ASSERT_EQ(status, 0) << out;
  EXPECT_EQ(nlohmann::json::parse(out).at("Mean").get<double>(), 50.0) << out;

  std::tie(status, out) = run_cli("eval --gt \"" + (dir / "gt.mat").string() + "\"");
  EXPECT_NE(status, 0) << out;
  EXPECT_NE(out.find("--predictions"), std::string::npos) << out;
}

}  // namespace
}  // namespace posenet
