// COCO keypoints as the primary training data: 17-keypoint top-down samples
// with ground-truth boxes, the first data set deciding the keypoint set, COCO
// flips and targets, and train -> eval (OKS AP) -> predict through the
// command line on the COCO sample.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "cli_run.h"
#include "test_util.h"
#include "train/augment.h"
#include "train/dataset.h"
#include "train/loader.h"
#include "train/person_boxes.h"

namespace posenet::train {
namespace {

namespace fs = std::filesystem;

fs::path coco_dir() { return testing::shared_data_dir() / "coco"; }
fs::path coco_json() { return coco_dir() / "person_keypoints_sample.json"; }
std::string coco_spec() { return "coco:" + coco_json().string() + ":" + (coco_dir() / "images").string(); }

#define SKIP_WITHOUT_COCO()                                                                                  \
  if (!fs::exists(coco_json()))                                                                              \
  GTEST_SKIP() << "no COCO sample: " << coco_json() << " is absent (set POSENET_SHARED_DATA_DIR at configure time)"

TEST(CocoTrain, NativeSamplesHoldTheSeventeenKeypoints) {
  SKIP_WITHOUT_COCO();
  const Dataset d = load_coco_native(coco_json(), coco_dir() / "images", {.input_aspect_ratio = 0.75});
  EXPECT_EQ(d.keypoints, &eval::coco_keypoint_set());
  ASSERT_EQ(d.size(), 12u);  // 14 persons, two without keypoints
  const Sample& s = d[0];    // image 785, all 17 labelled
  EXPECT_EQ(s.image_id, 785);
  EXPECT_EQ(s.joints[0].x, 367);  // nose, COCO's own coordinates
  EXPECT_EQ(s.joints[1].y, 73);   // l_eye
  for (int k = 0; k < 17; ++k) EXPECT_EQ(s.weight[size_t(k)], 1.0f) << k;
  // 218.7 x 346.68 grown to 3:4 (260.01 wide), then x1.25.
  EXPECT_DOUBLE_EQ(s.scale, 346.68 * 0.75 / 200 * 1.25);
  EXPECT_DOUBLE_EQ(s.center.x, 280.79 + 218.7 / 2);
}

TEST(CocoTrain, TheFirstDataSetDecidesTheKeypoints) {
  SKIP_WITHOUT_COCO();
  EXPECT_EQ(&keypoint_set_of_specs("synthetic"), &eval::mpii_keypoint_set());
  EXPECT_EQ(&keypoint_set_of_specs(coco_spec()), &eval::coco_keypoint_set());
  EXPECT_EQ(&keypoint_set_of_specs("mpii:/d," + coco_spec()), &eval::mpii_keypoint_set());
  const Dataset native = load_dataset_spec(coco_spec());
  EXPECT_EQ(native.keypoints, &eval::coco_keypoint_set());
  EXPECT_EQ(native.size(), 12u);
  EXPECT_EQ(native[0].joints[0].x, 367);
  try {
    load_dataset_spec(coco_spec() + ",mpii:/somewhere");
    FAIL() << "expected an error";
  } catch (const InputError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("mpii:/somewhere: cannot be added to COCO keypoint data"), std::string::npos) << m;
  }
  Dataset mpii;
  EXPECT_THROW(mpii.append(native), InputError);
}

// A flip moves l_eye's position to r_eye (and back) and mirrors it.
TEST(CocoTrain, FlipSwapsCocoPairs) {
  Sample s;
  s.center = {50, 50};
  s.scale = 0.5;
  s.joints[1] = {40, 30};  // l_eye
  s.weight[1] = 1;
  s.joints[16] = {60, 90};  // r_ankle
  s.weight[16] = 1;
  CropConfig config;
  config.input_width = config.input_height = 100;
  config.keypoints = &eval::coco_keypoint_set();
  AugmentParams flip;
  flip.flip = true;
  const CropResult r = crop_geometry(s, 101, flip, config);
  EXPECT_EQ(r.weight[1], 0.0f);
  EXPECT_EQ(r.weight[2], 1.0f);   // r_eye
  EXPECT_EQ(r.weight[15], 1.0f);  // l_ankle
  EXPECT_NEAR(r.joints[2].x, 60, 1e-9);
  EXPECT_NEAR(r.joints[15].x, 40, 1e-9);
  const CropResult plain = crop_geometry(s, 101, AugmentParams{}, config);
  EXPECT_EQ(plain.weight[1], 1.0f);
  EXPECT_EQ(plain.weight[16], 1.0f);
}

TEST(CocoTrain, BatchesHoldSeventeenTargets) {
  SKIP_WITHOUT_COCO();
  auto d = std::make_shared<Dataset>(load_coco_native(coco_json(), coco_dir() / "images", {.input_aspect_ratio = 0.75}));
  LoaderConfig lc;
  lc.batch_size = 4;
  lc.workers = 0;
  lc.shuffle = false;
  lc.augment = false;
  lc.crop.input_width = 48;
  lc.crop.input_height = 64;
  lc.heatmap_width = 12;
  lc.heatmap_height = 16;
  lc.sigmas = SigmaSchedule::constant(1, 2.0);
  DataLoader loader(d, lc);
  loader.start_epoch(0);
  auto batch = loader.next();
  ASSERT_TRUE(batch);
  EXPECT_EQ(batch->images.shape(), (Shape{4, 64, 48, 3}));
  const RenderedTargets targets = rendered_targets(*batch, lc);
  EXPECT_EQ(targets.maps[0].shape(), (Shape{4, 16, 12, 17}));
  EXPECT_EQ(targets.weights.shape(), (Shape{4, 17}));
  EXPECT_EQ(targets.weights.data<float>()[0], 1.0f);  // the first person's nose
}

// Person-detector boxes: persons of score >= threshold kept; bad entries
// named by file and entry, or dropped with skip_bad.
TEST(CocoTrain, PersonBoxesAreReadAndCheckedByEntry) {
  SKIP_WITHOUT_COCO();
  const eval::CocoGroundTruth gt = eval::read_coco_ground_truth(coco_json());
  const fs::path dir = testing::temp_dir("coco_person_boxes");
  std::ofstream(dir / "boxes.json") << R"([
    {"image_id": 785, "category_id": 1, "bbox": [10, 20, 30, 40], "score": 0.8},
    {"image_id": 785, "category_id": 1, "bbox": [10, 20, 30, 40], "score": 0.2},
    {"image_id": 785, "category_id": 3, "bbox": [10, 20, 30, 40], "score": 0.9}])";
  const eval::CocoPersonBoxes boxes = eval::read_coco_person_boxes(dir / "boxes.json", gt, 0.5);
  ASSERT_EQ(boxes.boxes.size(), 1u);
  EXPECT_EQ(boxes.boxes[0].score, 0.8);
  EXPECT_EQ(eval::read_coco_person_boxes(dir / "boxes.json", gt, 0.0).boxes.size(), 2u);
  const Dataset d = load_person_box_samples(boxes, gt, coco_dir() / "images", {.input_aspect_ratio = 1.0});
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d.keypoints, &eval::coco_keypoint_set());
  EXPECT_EQ(d[0].image, coco_dir() / "images" / "000000000785.jpg");
  EXPECT_EQ(d[0].box_score, 0.8);
  EXPECT_DOUBLE_EQ(d[0].scale, 40 / 200.0 * 1.25);
  EXPECT_EQ(d[0].weight[0], 0.0f);

  const std::pair<const char*, const char*> cases[] = {
      {R"([{"image_id": 785, "category_id": 1, "bbox": [1, 2, 0, 4], "score": 1}])", "entry 0: 'bbox' has no area"},
      {R"([{"image_id": 785, "category_id": 1, "bbox": [1, 2, 3, NaN], "score": 1}])", "entry 0: bbox[3] is not finite"},
      {R"([{"image_id": 785, "category_id": 1, "bbox": [1, 2, 3, 4]}])", "entry 0: missing field 'score'"},
      {R"([{"image_id": 7, "category_id": 1, "bbox": [1, 2, 3, 4], "score": 1}])", "entry 0: image_id 7 is not an image of"},
      {R"({"image_id": 7})", "must be a list of {image_id, category_id, bbox, score}"}};
  for (const auto& [text, expected] : cases) {
    std::ofstream(dir / "bad.json") << text;
    try {
      eval::read_coco_person_boxes(dir / "bad.json", gt, 0.0);
      ADD_FAILURE() << "accepted " << text;
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find((dir / "bad.json").string()), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(expected), std::string::npos) << e.what();
    }
  }
  std::ofstream(dir / "bad.json") << R"([{"image_id": 785, "category_id": 1, "bbox": [1, 2, 0, 4], "score": 1},
      {"image_id": 785, "category_id": 1, "bbox": [1, 2, 3, 4], "score": 1}])";
  const eval::CocoPersonBoxes kept = eval::read_coco_person_boxes(dir / "bad.json", gt, 0.0, {.skip_bad = true});
  EXPECT_EQ(kept.boxes.size(), 1u);
  EXPECT_EQ(kept.skipped.size(), 1u);
}

using testing::CliRun;
using testing::cli;

// train on COCO -> a 17-keypoint model; eval -> the 10 COCO numbers and a
// results file; predict -> 17 named keypoints.
TEST(CocoTrain, TrainEvalAndPredictThroughTheCommandLine) {
  SKIP_WITHOUT_COCO();
  const fs::path run = testing::temp_dir("coco_train_cli");
  CliRun r = cli("train --data " + coco_spec() + " --val-data " + coco_spec() +
                 " --model tiny --width 0.125 --decoder-channels 16 --input-size 64 32"
                 " --batch-size 4 --workers 0 --progress false --epochs 1 --max-steps 2 --out " + run.string());
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("Validation OKS AP after epoch 1 (12 persons, ground-truth boxes, flip test)"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("best validation OKS AP"), std::string::npos) << r.out;
  std::ifstream log(run / "log.jsonl");
  std::vector<nlohmann::ordered_json> records;
  for (std::string line; std::getline(log, line);) records.push_back(nlohmann::ordered_json::parse(line));
  ASSERT_GE(records.size(), 2u);
  EXPECT_NE(records.front().at("model").get<std::string>().find("input=64x32 joints=17"), std::string::npos)
      << records.front();
  EXPECT_EQ(records.back().at("type"), "epoch");
  EXPECT_TRUE(records.back().at("validation").contains("AP")) << records.back();
  EXPECT_TRUE(fs::exists(run / "results_valid.json"));

  r = cli("eval --checkpoint " + (run / "last.safetensors").string() + " --data " + coco_spec() +
          " --workers 0 --batch-size 4 --json");
  ASSERT_EQ(r.code, 0) << r.out;
  const nlohmann::ordered_json stats = nlohmann::ordered_json::parse(r.out.substr(r.out.rfind('{')));
  std::vector<std::string> keys;
  for (const auto& [k, v] : stats.items()) keys.push_back(k);
  EXPECT_EQ(keys, (std::vector<std::string>{"AP", "AP50", "AP75", "APm", "APl", "AR", "AR50", "AR75", "ARm", "ARl"}));
  // The last epoch's validation scored the same persons the same way.
  EXPECT_EQ(nlohmann::json::parse(records.back().at("validation").dump()), nlohmann::json::parse(stats.dump()));
  std::ifstream results_file(run / "results.json");
  const nlohmann::json results = nlohmann::json::parse(results_file);
  ASSERT_FALSE(results.empty());
  EXPECT_LE(results.size(), 12u);  // one per person at most (OKS-NMS may drop some)
  EXPECT_EQ(results[0].at("keypoints").size(), 51u);
  // The written results score the same through eval --predictions.
  r = cli("eval --predictions " + (run / "results.json").string() + " --gt " + coco_json().string() + " --json");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(nlohmann::ordered_json::parse(r.out.substr(r.out.rfind('{'))), stats);

  // A detector's boxes equal to the ground-truth persons', score 1, give the
  // same numbers; other categories and boxes under the threshold are left out.
  {
    std::ifstream in(coco_json());
    const nlohmann::json gt = nlohmann::json::parse(in);
    nlohmann::json boxes = nlohmann::json::array();
    for (const auto& a : gt["annotations"])
      if (a["num_keypoints"].get<int>() > 0)
        boxes.push_back({{"image_id", a["image_id"]}, {"category_id", 1}, {"bbox", a["bbox"]}, {"score", 1.0}});
    boxes.push_back({{"image_id", 785}, {"category_id", 1}, {"bbox", {1, 1, 50, 80}}, {"score", 0.1}});
    boxes.push_back({{"image_id", 785}, {"category_id", 2}, {"bbox", {1, 1, 50, 80}}, {"score", 0.9}});
    std::ofstream(run / "boxes.json") << boxes.dump();
  }
  r = cli("eval --checkpoint " + (run / "last.safetensors").string() + " --data " + coco_spec() + " --person-boxes " +
          (run / "boxes.json").string() + " --box-score-threshold 0.5 --workers 0 --batch-size 4 --json --out " +
          (run / "with_boxes").string());
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(nlohmann::ordered_json::parse(r.out.substr(r.out.rfind('{'))), stats);
  {
    std::ofstream(run / "bad_boxes.json") << R"([{"image_id": 785, "category_id": 1, "bbox": [1, 1, 50, 80], "score": 1},
      {"image_id": 12345, "category_id": 1, "bbox": [1, 1, 50, 80], "score": 1}])";
  }
  r = cli("eval --checkpoint " + (run / "last.safetensors").string() + " --data " + coco_spec() + " --person-boxes " +
          (run / "bad_boxes.json").string() + " --workers 0 --out " + (run / "bad_boxes").string());
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find("bad_boxes.json: entry 1: image_id 12345 is not an image of"), std::string::npos) << r.out;

  r = cli("predict --checkpoint " + (run / "last.safetensors").string() + " --image " +
          (coco_dir() / "images" / "000000000785.jpg").string() + " -o " + (run / "drawn.png").string() + " --json");
  ASSERT_EQ(r.code, 0) << r.out;
  const nlohmann::json joints = nlohmann::json::parse(r.out.substr(r.out.find('[')));
  ASSERT_EQ(joints.size(), 17u);
  EXPECT_EQ(joints[5]["joint"], "l_shoulder");

  r = cli("train --data " + coco_spec() + " --val-data mpii:" + (run / "no_mpii").string() +
          " --model tiny --width 0.125 --decoder-channels 16 --input-size 64 32 --workers 0 --progress false --out " +
          (run / "bad_val").string());
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find("a COCO keypoint run validates on one coco:JSON:IMAGES set"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace posenet::train
