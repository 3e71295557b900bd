// The person-box bounds (train/annotation_checks.h) at their edges, and in
// every loader: MPII JSON, COCO and AI Challenger (the synthetic set is MPII
// JSON), with --skip-bad skipping the entry.
#include <fstream>
#include <limits>

#include "test_util.h"
#include "train/annotation_checks.h"
#include "train/augment.h"
#include "train/image.h"

namespace posenet::train {
namespace {

using ::posenet::testing::temp_dir;

TEST(AnnotationChecks, BoundsAtTheirEdges) {
  const std::string img = "a.jpg";
  // 100 x 50 image: centre x in [-50, 149], y in [-25, 74]; box side in [4, 800] px.
  EXPECT_FALSE(person_box_problem({-50, -25}, 4.0 / 200, 100, 50, img));
  EXPECT_FALSE(person_box_problem({149, 74}, 800.0 / 200, 100, 50, img));
  EXPECT_TRUE(person_box_problem({-50.5, 0}, 1, 100, 50, img));
  EXPECT_TRUE(person_box_problem({149.5, 0}, 1, 100, 50, img));
  EXPECT_TRUE(person_box_problem({0, -25.5}, 1, 100, 50, img));
  EXPECT_TRUE(person_box_problem({0, 74.5}, 1, 100, 50, img));
  const auto tiny = person_box_problem({10, 10}, 3.9 / 200, 100, 50, img);
  ASSERT_TRUE(tiny);
  EXPECT_NE(tiny->find("smaller than the minimum of 4 pixels"), std::string::npos) << *tiny;
  const auto huge = person_box_problem({10, 10}, 801.0 / 200, 100, 50, img);
  ASSERT_TRUE(huge);
  EXPECT_NE(huge->find("more than 8 x the larger side of a.jpg (100x50)"), std::string::npos) << *huge;
  const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
  for (double s : {0.0, -1.0, nan, inf}) EXPECT_TRUE(person_box_problem({10, 10}, s)) << s;
  EXPECT_TRUE(person_box_problem({nan, 10}, 1));
  EXPECT_TRUE(person_box_problem({10, inf}, 1));
}

void write_text(const std::filesystem::path& path, const std::string& text) { std::ofstream(path) << text; }

// A COCO-style file with one image (a.jpg, 64 x 48) and one annotation per
// bbox; every keypoint labelled at (10, 20).
std::filesystem::path coco_style(const std::filesystem::path& dir, int keypoints, const std::vector<std::string>& boxes) {
  std::string kps = "[";
  for (int k = 0; k < keypoints; ++k) kps += std::string(k ? ", " : "") + "10, 20, 1";
  kps += "]";
  std::string annotations;
  for (const auto& box : boxes)
    annotations += std::string(annotations.empty() ? "" : ", ") + R"({"image_id": 1, "bbox": )" + box +
                   R"(, "keypoints": )" + kps + "}";
  const auto path = dir / "k.json";
  write_text(path, R"({"images": [{"id": 1, "file_name": "a.jpg"}], "annotations": [)" + annotations + "]}");
  return path;
}

void expect_problem(const std::function<void()>& load, std::initializer_list<std::string> fragments) {
  try {
    load();
    ADD_FAILURE() << "expected an InputError";
  } catch (const InputError& e) {
    for (const auto& f : fragments) EXPECT_NE(std::string(e.what()).find(f), std::string::npos) << f << " in " << e.what();
  }
}

TEST(AnnotationChecks, EveryLoaderNamesFileEntryAndFieldAndSkipBadSkips) {
  const auto dir = temp_dir("annotation_checks");
  write_jpeg(dir / "a.jpg", Image(64, 48, 128));
  const LoadOptions checked{.check_images = true};
  const LoadOptions skipping{.skip_bad = true, .log_skipped = false, .check_images = true};
  using Loader = Dataset (*)(const std::filesystem::path&, const std::filesystem::path&, const LoadOptions&);
  const std::pair<Loader, int> kinds[] = {{&load_coco_keypoints, 17}, {&load_aic_keypoints, 14}};
  for (const auto& [load, keypoints] : kinds) {
    SCOPED_TRACE(keypoints);
    // A 2-pixel box, at parsing; then a box far off the image, at the image check.
    const auto tiny = coco_style(dir, keypoints, {"[0, 0, 10, 20]", "[5, 5, 2, 2]"});
    expect_problem([&] { load(tiny, dir, checked); }, {"k.json", "annotation 1", "bbox", "smaller than the minimum"});
    Dataset kept = load(tiny, dir, skipping);
    EXPECT_EQ(kept.size(), 1u);
    EXPECT_EQ(kept.skipped.size(), 1u);
    const auto far = coco_style(dir, keypoints, {"[5000, 0, 10, 20]", "[0, 0, 10, 20]"});
    expect_problem([&] { load(far, dir, checked); }, {"k.json", "entry 0", "center", "lies outside", "a.jpg (64x48)"});
    kept = load(far, dir, skipping);
    EXPECT_EQ(kept.size(), 1u);
    EXPECT_EQ(kept[0].source_index, 1);
  }
  // MPII JSON: the raw scale 0.01 is a 2.5-pixel box.
  write_text(dir / "m.json", R"([{"image": "a.jpg", "center": [30, 20], "scale": 0.01}])");
  expect_problem([&] { load_mpii_json(dir / "m.json", dir); }, {"m.json", "entry 0", "scale", "smaller than the minimum"});
  write_text(dir / "m.json", R"([{"image": "a.jpg", "center": [30, 20], "scale": 0.2}, {"image": "a.jpg", "center": [30, 20], "scale": 3}])");
  expect_problem([&] { load_mpii_json(dir / "m.json", dir, checked); }, {"m.json", "entry 1", "scale", "more than 8 x"});
  EXPECT_EQ(load_mpii_json(dir / "m.json", dir, skipping).size(), 1u);
}

// The crop's own failure (a box no loader lets through, given directly)
// names the sample and its numbers, not only "collinear".
TEST(AnnotationChecks, DegenerateCropNamesTheSample) {
  Sample s;
  s.image = "images/a.jpg";
  s.source = "annot/train.json";
  s.source_index = 3;
  s.center = {1e20, 0};
  s.scale = 1e-20;
  try {
    (void)crop_geometry(s, 64, AugmentParams{}, CropConfig{});
    ADD_FAILURE() << "a degenerate crop was accepted";
  } catch (const Error& e) {
    const std::string msg = e.what();
    for (const std::string& part : std::vector<std::string>{"annot/train.json: entry 3: images/a.jpg", "center (1e+20, 0)",
                                                             "scale 1e-20", "cannot map the person box"})
      EXPECT_NE(msg.find(part), std::string::npos) << part << " not in " << msg;
  }
}

}  // namespace
}  // namespace posenet::train
