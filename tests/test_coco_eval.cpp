// COCO keypoint evaluation against the official evaluation's numbers
// (tests/reference/make_coco_eval_fixtures.py ran pycocotools on the cases in
// tests/fixtures/coco_eval), plus OKS, OKS-NMS, rescoring, the file checks
// and `posenet eval` on COCO.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <functional>
#include <sys/wait.h>

#include <nlohmann/json.hpp>

#include "eval/coco_eval.h"
#include "eval/coco_json.h"
#include "eval/coco_oks.h"
#include "eval/oks_nms.h"
#include "cli_run.h"
#include "test_util.h"

namespace posenet {
namespace {

namespace fs = std::filesystem;
using eval::CocoGroundTruth;

fs::path fixture_dir() { return fs::path(POSENET_SOURCE_DIR) / "tests" / "fixtures" / "coco_eval"; }
fs::path shared_coco_gt() { return testing::shared_data_dir() / "coco" / "person_keypoints_sample.json"; }

nlohmann::json expected_numbers() {
  std::ifstream in(fixture_dir() / "expected.json");
  return nlohmann::json::parse(in);
}

// The case's annotations: its own file, or the shared COCO sample's.
fs::path gt_path_of(const std::string& name) {
  return name == "coco_sample" ? shared_coco_gt() : fixture_dir() / (name + ".gt.json");
}

TEST(CocoEval, EqualsTheOfficialEvaluationOnEveryCase) {
  const nlohmann::json expected = expected_numbers();
  ASSERT_GE(expected.size(), 14u);
  for (const auto& [name, numbers] : expected.items()) {
    SCOPED_TRACE(name);
    const fs::path gt_path = gt_path_of(name);
    if (!fs::exists(gt_path)) {
      ADD_FAILURE() << "missing " << gt_path;
      continue;
    }
    const CocoGroundTruth gt = eval::read_coco_ground_truth(gt_path);
    const eval::CocoResults res = eval::read_coco_results(fixture_dir() / (name + ".results.json"), gt);
    const eval::CocoStats stats = eval::evaluate_coco_keypoints(gt, res.detections);
    ASSERT_EQ(numbers.size(), 10u);
    for (size_t i = 0; i < 10; ++i)
      EXPECT_NEAR(stats.values[i], numbers[i].get<double>(), 1e-6) << eval::CocoStats::names()[i];
  }
}

TEST(CocoEval, NoDetectionsScoresZeroAndEmptyRangesMinusOne) {
  const CocoGroundTruth gt = eval::read_coco_ground_truth(fixture_dir() / "no_large_persons.gt.json");
  const eval::CocoStats stats = eval::evaluate_coco_keypoints(gt, {});
  for (size_t i : {0, 1, 2, 3, 5, 6, 7, 8}) EXPECT_EQ(stats.values[i], 0.0) << i;
  EXPECT_EQ(stats.values[4], -1.0);  // APl: no large person
  EXPECT_EQ(stats.values[9], -1.0);
  EXPECT_TRUE(stats.to_json()["APl"].is_null());
}

TEST(CocoEval, PerfectDetectionsScoreOne) {
  const CocoGroundTruth gt = eval::read_coco_ground_truth(fixture_dir() / "basic.gt.json");
  std::vector<eval::CocoDetection> dets;
  for (const auto& p : gt.persons) {
    eval::CocoDetection d;
    d.image_id = p.image_id;
    d.category_id = p.category_id;
    d.keypoints = p.keypoints;
    d.score = 0.5;
    d.area = p.area;
    dets.push_back(d);
  }
  const eval::CocoStats stats = eval::evaluate_coco_keypoints(gt, dets);
  EXPECT_DOUBLE_EQ(stats.ap(), 1.0);
  EXPECT_DOUBLE_EQ(stats.ar(), 1.0);
  const nlohmann::ordered_json j = stats.to_json();
  std::vector<std::string> keys;
  for (const auto& [k, v] : j.items()) keys.push_back(k);
  EXPECT_EQ(keys, (std::vector<std::string>{"AP", "AP50", "AP75", "APm", "APl", "AR", "AR50", "AR75", "ARm", "ARl"}));
  EXPECT_DOUBLE_EQ(j["AP"].get<double>(), 100.0);
}

TEST(CocoEval, ThresholdsAreNumpysLinspace) {
  const auto& t = eval::coco_oks_thresholds();
  ASSERT_EQ(t.size(), 10u);
  EXPECT_EQ(t[0], 0.5);
  EXPECT_EQ(t[5], 0.75);
  EXPECT_EQ(t[8], 0.8999999999999999);  // numpy's value, not 0.9
  EXPECT_EQ(t[9], 0.95);
  const auto& r = eval::coco_recall_thresholds();
  ASSERT_EQ(r.size(), 101u);
  EXPECT_EQ(r[57], 0.5700000000000001);
  EXPECT_EQ(r[100], 1.0);
}

TEST(CocoOks, SumsAsNumpy) {
  std::vector<double> a;
  for (int i = 0; i < 300; ++i) a.push_back(std::fmod(i * 0.37, 1.3) + 1e-3 * i * i);
  EXPECT_EQ(eval::numpy_sum(a.data(), a.size()), 9152.649999999998);  // a plain loop gives ...650000000001
  const std::vector<double> b(17, 0.1);
  EXPECT_EQ(eval::numpy_sum(b.data(), b.size()), 1.7000000000000002);  // a plain loop gives ...0000004
  EXPECT_EQ(eval::numpy_sum(b.data(), 3), 0.1 + 0.1 + 0.1);
  EXPECT_EQ(eval::numpy_sum(b.data(), 0), 0.0);
}

std::vector<double> keypoints_at(double x, double y, double v) {
  std::vector<double> k;
  for (int i = 0; i < eval::kCocoKeypointCount; ++i) k.insert(k.end(), {x + i, y + 2 * i, v});
  return k;
}

TEST(CocoOks, PerfectMatchIsOneAndFallsWithDistance) {
  const std::vector<double> gt = keypoints_at(100, 100, 2);
  const eval::Box box{90, 90, 40, 60};
  EXPECT_DOUBLE_EQ(eval::coco_oks(gt, box, 2000, gt), 1.0);
  // Only keypoint 0 (sigma .026) labelled, detection 3 px off in x.
  std::vector<double> one(3 * 17, 0.0);
  one[0] = 100, one[1] = 100, one[2] = 1;
  std::vector<double> det = one;
  det[0] += 3;
  const double sigma = .26 / 10.0, area = 2000;
  EXPECT_DOUBLE_EQ(eval::coco_oks(one, box, area, det), std::exp(-9.0 / (4 * sigma * sigma) / area / 2));
  // Farther is worse, a larger person forgives more.
  det[0] += 3;
  EXPECT_LT(eval::coco_oks(one, box, area, det), eval::coco_oks(one, box, 4 * area, det));
}

TEST(CocoOks, WithoutLabelledKeypointsMeasuresToTheDoubledBox) {
  const std::vector<double> gt(3 * 17, 0.0);
  const eval::Box box{100, 100, 50, 80};  // doubled: x in [50, 200], y in [20, 260]
  EXPECT_DOUBLE_EQ(eval::coco_oks(gt, box, 3000, keypoints_at(60, 30, 1)), 1.0);  // all inside
  std::vector<double> det = keypoints_at(60, 30, 1);
  det[0] = 40;  // keypoint 0 is 10 px left of the doubled box
  const double s = .26 / 10.0;
  const double e = 100.0 / (4 * s * s) / 3000 / 2;
  EXPECT_NEAR(eval::coco_oks(gt, box, 3000, det), (16 + std::exp(-e)) / 17, 1e-15);
}

TEST(OksNms, DropsNearDuplicatesAndKeepsTheBest) {
  eval::PersonPrediction a{keypoints_at(100, 100, 0.9), 0.8, 5000};
  eval::PersonPrediction dup = a;
  dup.score = 0.9;
  for (size_t i = 0; i < dup.keypoints.size(); i += 3) dup.keypoints[i] += 0.5;
  eval::PersonPrediction far{keypoints_at(400, 100, 0.9), 0.5, 5000};
  eval::PersonPrediction near_enough = a;  // OKS well below 0.9
  near_enough.score = 0.7;
  for (size_t i = 0; i < near_enough.keypoints.size(); i += 3) near_enough.keypoints[i] += 15;
  const std::vector<eval::PersonPrediction> persons = {a, dup, far, near_enough};
  EXPECT_GT(eval::oks_between_predictions(a.keypoints, a.area, dup.keypoints, dup.area), 0.9);
  EXPECT_LT(eval::oks_between_predictions(a.keypoints, a.area, near_enough.keypoints, near_enough.area), 0.9);
  EXPECT_EQ(eval::oks_nms(persons), (std::vector<size_t>{1, 3, 2}));
  // Threshold semantics: dropped only when OKS > threshold.
  const double oks = eval::oks_between_predictions(a.keypoints, a.area, dup.keypoints, dup.area);
  EXPECT_EQ(eval::oks_nms({a, dup}, oks).size(), 2u);
  EXPECT_EQ(eval::oks_nms({a, dup}, std::nextafter(oks, 0.0)).size(), 1u);
  EXPECT_TRUE(eval::oks_nms({}).empty());
  // Equal scores: the earlier one is kept.
  eval::PersonPrediction twin = a;
  EXPECT_EQ(eval::oks_nms({a, twin}), (std::vector<size_t>{0}));
}

TEST(OksNms, RescoringUsesTheConfidentKeypoints) {
  std::vector<double> k = keypoints_at(0, 0, 0.1);
  EXPECT_EQ(eval::rescore_person(k, 0.9), 0.0);  // none above 0.2
  k[2] = 0.6, k[5] = 0.8, k[8] = 0.2;             // 0.2 is not above the threshold
  EXPECT_DOUBLE_EQ(eval::rescore_person(k, 0.5), (0.6 + 0.8) / 2 * 0.5);
}

// --- the files -----------------------------------------------------------

// This process's scratch directory, made empty once.
const fs::path& scratch_dir() {
  static const fs::path dir = testing::temp_dir("coco_eval");
  return dir;
}

fs::path write_file(const std::string& name, const std::string& text) {
  const fs::path p = scratch_dir() / name;
  std::ofstream(p) << text;
  return p;
}

std::string results_with(const std::string& entry) {
  std::ifstream in(fixture_dir() / "basic.results.json");
  nlohmann::json j = nlohmann::json::parse(in);
  std::string text = j.dump();
  text.insert(text.size() - 1, "," + entry);  // appended as the last entry
  return text;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "no InputError";
}

std::string kps(int n) {
  std::string s = "[";
  for (int i = 0; i < 3 * n; ++i) s += i ? ",1.5" : "1.5";
  return s + "]";
}

TEST(CocoFiles, WrittenResultsReadBackToTheSameNumbers) {
  const CocoGroundTruth gt = eval::read_coco_ground_truth(fixture_dir() / "random_mix.gt.json");
  const eval::CocoResults res = eval::read_coco_results(fixture_dir() / "random_mix.results.json", gt);
  for (const auto& d : res.detections) EXPECT_EQ(d.area, eval::keypoint_box_area(d.keypoints));
  const fs::path written = scratch_dir() / "written.results.json";
  std::ofstream(written) << eval::coco_results_json(res.detections).dump();
  const eval::CocoResults again = eval::read_coco_results(written, gt);
  ASSERT_EQ(again.detections.size(), res.detections.size());
  EXPECT_EQ(eval::evaluate_coco_keypoints(gt, again.detections).values,
            eval::evaluate_coco_keypoints(gt, res.detections).values);
}

TEST(CocoFiles, BadResultsNameFileAndEntry) {
  const CocoGroundTruth gt = eval::read_coco_ground_truth(fixture_dir() / "basic.gt.json");
  const size_t last = 9;  // basic has 9 results; the bad one is entry 9
  struct Case {
    std::string entry, message;
  } cases[] = {
      {R"({"image_id":1,"category_id":1,"keypoints":)" + kps(16) + R"(,"score":0.5})", "16 keypoints"},
      {R"({"image_id":1,"category_id":1,"keypoints":)" + kps(14) + R"(,"score":0.5})", "another keypoint set"},
      {R"({"image_id":1,"category_id":1,"keypoints":[1,2],"score":0.5})", "expected 3 x 17"},
      {R"({"image_id":999,"category_id":1,"keypoints":)" + kps(17) + R"(,"score":0.5})", "image_id 999"},
      {R"({"image_id":1,"category_id":1,"keypoints":)" + kps(17) + R"(,"score":NaN})", "score is not finite"},
      {R"({"image_id":1,"category_id":1,"keypoints":)" + kps(17) + R"(})", "missing field 'score'"},
  };
  for (const auto& c : cases) {
    const fs::path p = write_file("bad.results.json", results_with(c.entry));
    const std::string msg = error_of([&] { eval::read_coco_results(p, gt); });
    EXPECT_NE(msg.find(p.string()), std::string::npos) << msg;
    EXPECT_NE(msg.find("entry " + std::to_string(last)), std::string::npos) << msg;
    EXPECT_NE(msg.find(c.message), std::string::npos) << msg;
    eval::CocoLoadOptions skip;
    skip.skip_bad = true;
    const eval::CocoResults res = eval::read_coco_results(p, gt, skip);
    EXPECT_EQ(res.detections.size(), last);
    EXPECT_EQ(res.skipped.size(), 1u);
  }
  const fs::path nan_kp = write_file("nan.results.json", R"([{"image_id":1,"category_id":1,"keypoints":[)" +
                                                           std::string("Infinity") + kps(17).substr(4) + R"(,"score":1}])");
  EXPECT_NE(error_of([&] { eval::read_coco_results(nan_kp, gt); }).find("keypoints[0] is not finite (Infinity)"),
            std::string::npos);
  const fs::path broken = write_file("broken.results.json", "[{\"image_id\": 1,");
  EXPECT_NE(error_of([&] { eval::read_coco_results(broken, gt); }).find("not valid JSON"), std::string::npos);
  const fs::path object = write_file("object.results.json", "{}");
  EXPECT_NE(error_of([&] { eval::read_coco_results(object, gt); }).find("must be a list"), std::string::npos);
  EXPECT_NE(error_of([&] { eval::read_coco_results(fixture_dir() / "absent.json", gt); }).find("not found"),
            std::string::npos);
}

TEST(CocoFiles, BadAnnotationsNameFileAndEntry) {
  std::ifstream in(fixture_dir() / "basic.gt.json");
  const nlohmann::json good = nlohmann::json::parse(in);
  auto expect_error = [&](nlohmann::json gt, const std::string& part) {
    const fs::path p = write_file("bad.gt.json", gt.dump());
    const std::string msg = error_of([&] { eval::read_coco_ground_truth(p); });
    EXPECT_NE(msg.find(p.string()), std::string::npos) << msg;
    EXPECT_NE(msg.find(part), std::string::npos) << msg;
  };
  nlohmann::json j = good;
  j["annotations"][2]["keypoints"].erase(0);
  expect_error(j, "annotation 2: 'keypoints' holds 50 numbers");
  j = good;
  j["annotations"][3]["image_id"] = 12345;
  expect_error(j, "annotation 3: image_id 12345 is not in 'images'");
  j = good;
  j["annotations"][1]["id"] = j["annotations"][0]["id"];
  expect_error(j, "annotation 1: duplicate annotation id");
  j = good;
  j["annotations"][0].erase("num_keypoints");
  expect_error(j, "annotation 0: missing field 'num_keypoints'");
  j = good;
  j["categories"][0]["keypoints"].erase(0);
  expect_error(j, "16 keypoints");
  j = good;
  j.erase("images");
  expect_error(j, "no 'images' list");
  // MPII's JSON layout is a list, not COCO annotations.
  expect_error(nlohmann::json::array(), "must be an object");
}

// --- posenet eval on COCO --------------------------------------------------

using testing::CliRun;
using testing::cli;

TEST(CocoEvalCommand, JsonHoldsTheTenNumbersInPercent) {
  const std::string name = "area_ranges";
  const CliRun r = cli("eval --predictions " + (fixture_dir() / (name + ".results.json")).string() + " --gt " +
                    gt_path_of(name).string() + " --json");
  ASSERT_EQ(r.code, 0) << r.out;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  const nlohmann::json expected = expected_numbers()[name];
  std::vector<std::string> keys;
  const nlohmann::ordered_json ordered = nlohmann::ordered_json::parse(r.out);
  for (const auto& [k, v] : ordered.items()) keys.push_back(k);
  EXPECT_EQ(keys, (std::vector<std::string>{"AP", "AP50", "AP75", "APm", "APl", "AR", "AR50", "AR75", "ARm", "ARl"}));
  for (size_t i = 0; i < 10; ++i)
    EXPECT_NEAR(j[eval::CocoStats::names()[i]].get<double>(), 100 * expected[i].get<double>(), 1e-4);
}

TEST(CocoEvalCommand, TablePrintsDashForUndefined) {
  const CliRun r = cli("eval --predictions " + (fixture_dir() / "no_large_persons.results.json").string() + " --gt " +
                    (fixture_dir() / "no_large_persons.gt.json").string());
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("AP50"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("43.27"), std::string::npos) << r.out;  // AP
  EXPECT_NE(r.out.find("       -"), std::string::npos) << r.out;
}

TEST(CocoEvalCommand, BadInputFailsNamingFileAndEntry) {
  const fs::path gt = fixture_dir() / "basic.gt.json";
  const fs::path bad = write_file("cli_bad.results.json", results_with(R"({"image_id":1,"category_id":1,"keypoints":)" +
                                                                       kps(16) + R"(,"score":0.5})"));
  CliRun r = cli("eval --predictions " + bad.string() + " --gt " + gt.string());
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.out.find(bad.string() + ": entry 9"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("16 keypoints"), std::string::npos) << r.out;
  r = cli("eval --predictions " + bad.string() + " --gt " + gt.string() + " --skip-bad --json");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("skipped 1 bad result entries"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("  " + bad.string() + ": entry 9"), std::string::npos) << r.out;
  // COCO results against an MPII .mat, and the other way round.
  r = cli("eval --predictions " + bad.string() + " --gt gt_valid.mat");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.out.find("both be COCO .json"), std::string::npos) << r.out;
  r = cli("eval --predictions pred.mat --gt " + gt.string());
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.out.find("both be COCO .json"), std::string::npos) << r.out;
  // Without the .json extension the content tells.
  std::ifstream in(fixture_dir() / "basic.results.json");
  const fs::path results_txt = write_file("results.txt", "\n  " + nlohmann::json::parse(in).dump());
  r = cli("eval --predictions " + results_txt.string() + " --gt " + gt.string() + " --json");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NEAR(nlohmann::json::parse(r.out)["AP"].get<double>(), 100 * expected_numbers()["basic"][0].get<double>(),
              1e-9);
}

}  // namespace
}  // namespace posenet
