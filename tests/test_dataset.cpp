// Annotation loaders: MPII JSON, COCO and AI Challenger keypoints (on the real
// samples in the shared data folder), the joint mappings, and every kind of
// malformed input.
#include <algorithm>
#include <chrono>
#include <fstream>
#include <iostream>

#include <nlohmann/json.hpp>

#include "test_util.h"
#include "train/dataset.h"
#include "train/image.h"

namespace posenet::train {
namespace {

using ::posenet::testing::shared_data_dir;
using ::posenet::testing::temp_dir;

std::filesystem::path write_text(const std::filesystem::path& path, const std::string& text) {
  std::ofstream(path) << text;
  return path;
}

// Expects fn to throw InputError whose message contains every fragment.
template <typename Fn>
void expect_input_error(Fn fn, std::initializer_list<std::string> fragments) {
  try {
    fn();
    ADD_FAILURE() << "expected an InputError";
  } catch (const InputError& e) {
    const std::string msg = e.what();
    for (const auto& f : fragments) EXPECT_NE(msg.find(f), std::string::npos) << "'" << f << "' not in: " << msg;
  }
}

std::string mpii_record(const std::string& image, const std::string& center, const std::string& scale,
                        const std::string& joints, const std::string& vis) {
  std::string r = "{";
  if (!image.empty()) r += "\"image\": " + image + ", ";
  r += "\"center\": " + center + ", \"scale\": " + scale + ", \"joints\": " + joints + ", \"joints_vis\": " + vis + "}";
  return r;
}

std::string joints_json(int n, const std::string& first = "[10, 20]") {
  std::string s = "[" + first;
  for (int i = 1; i < n; ++i) s += ", [" + std::to_string(10 + i) + ", " + std::to_string(20 + i) + "]";
  return s + "]";
}
std::string vis_json(int n) {
  std::string s = "[1";
  for (int i = 1; i < n; ++i) s += ", 1";
  return s + "]";
}
const std::string kGood = mpii_record("\"a.jpg\"", "[50, 60]", "1.5", joints_json(16), vis_json(16));

TEST(Dataset, FlipPartners) {
  for (const auto& p : kFlipPairs) {
    EXPECT_EQ(flip_partner(p[0]), p[1]);
    EXPECT_EQ(flip_partner(p[1]), p[0]);
  }
  for (int j : {6, 7, 8, 9}) EXPECT_EQ(flip_partner(j), j);
  EXPECT_STREQ(joint_name(kLWrist), "l_wrist");
}

TEST(Dataset, MpiiSampleLoadsWithStandardAdjustments) {
  const auto dir = shared_data_dir() / "mpii";
  if (!std::filesystem::exists(dir / "annot" / "valid_sample.json")) GTEST_SKIP() << "no MPII sample in " << dir;
  Dataset d = load_mpii_json(dir / "annot" / "valid_sample.json", dir / "images");
  ASSERT_EQ(d.size(), 5u);
  const Sample& s = d[0];
  EXPECT_EQ(s.image, dir / "images" / "005808361.jpg");
  EXPECT_DOUBLE_EQ(s.center.x, 966.0 - 1);
  EXPECT_DOUBLE_EQ(s.center.y, 340.0 + 15 * 4.718488 - 1);
  EXPECT_DOUBLE_EQ(s.scale, 4.718488 * 1.25);
  EXPECT_DOUBLE_EQ(s.joints[kRAnkle].x, 803.0);
  EXPECT_DOUBLE_EQ(s.joints[kRAnkle].y, 710.0);
  EXPECT_DOUBLE_EQ(s.joints[kHeadTop].x, 962.2409 - 1);
  for (int j = 0; j < kNumJoints; ++j) EXPECT_EQ(s.weight[size_t(j)], 1.0f) << joint_name(j);
  EXPECT_EQ(s.weight[kNumJoints], 0.0f);  // the slot beyond MPII's joints (COCO's 17th) stays empty
  EXPECT_EQ(s.source_index, 0);
  // Person 2 has both ankles unlabelled.
  EXPECT_EQ(d[2].weight[kRAnkle], 0.0f);
  EXPECT_EQ(d[2].weight[kLAnkle], 0.0f);
  EXPECT_EQ(d[2].weight[kRKnee], 1.0f);
  for (const Sample& x : d.samples) EXPECT_TRUE(std::filesystem::exists(x.image)) << x.image;
}

TEST(Dataset, MpiiCropBoxIsWhatTheLoaderApplies) {
  const auto dir = shared_data_dir() / "mpii";
  if (!std::filesystem::exists(dir / "annot" / "valid_sample.json")) GTEST_SKIP() << "no MPII sample in " << dir;
  Dataset d = load_mpii_json(dir / "annot" / "valid_sample.json", dir / "images");
  std::ifstream in(dir / "annot" / "valid_sample.json");
  const auto raw = nlohmann::json::parse(in);
  ASSERT_EQ(raw.size(), d.size());
  for (size_t i = 0; i < d.size(); ++i) {
    const CropBox box = mpii_crop_box({raw[i]["center"][0].get<double>(), raw[i]["center"][1].get<double>()},
                                      raw[i]["scale"].get<double>());
    EXPECT_EQ(box.center.x, d[i].center.x) << "person " << i;
    EXPECT_EQ(box.center.y, d[i].center.y) << "person " << i;
    EXPECT_EQ(box.scale, d[i].scale) << "person " << i;
  }
  // MPII's "no position" marker keeps its box unadjusted (only the 1-based shift).
  const CropBox none = mpii_crop_box({-1, -1}, 2.0);
  EXPECT_EQ(none.center.x, -2.0);
  EXPECT_EQ(none.center.y, -2.0);
  EXPECT_EQ(none.scale, 2.0);
}

TEST(Dataset, MpiiFullValidationFileLoads) {
  const auto file = shared_data_dir() / "mpii" / "annot" / "valid.json";
  if (!std::filesystem::exists(file)) GTEST_SKIP() << "no " << file;
  Dataset d = load_mpii_json(file, shared_data_dir() / "mpii" / "images");
  EXPECT_EQ(d.size(), 2958u);
  EXPECT_TRUE(d.skipped.empty());
  double visible = 0;
  for (const Sample& s : d.samples)
    for (float w : s.weight) visible += w;
  EXPECT_EQ(visible, 44240);  // the visible-joint count of the PCKh ground truth
}

TEST(Dataset, CocoSampleMapsOntoMpiiJoints) {
  const auto dir = shared_data_dir() / "coco";
  if (!std::filesystem::exists(dir / "person_keypoints_sample.json")) GTEST_SKIP() << "no COCO sample in " << dir;
  Dataset d = load_coco_keypoints(dir / "person_keypoints_sample.json", dir / "images");
  ASSERT_EQ(d.size(), 12u);  // 14 person annotations, 2 without keypoints
  const Sample& s = d[0];    // annotation 442619, all 17 keypoints labelled
  EXPECT_EQ(s.image, dir / "images" / "000000000785.jpg");
  EXPECT_NEAR(s.center.x, 280.79 + 218.7 / 2, 1e-9);
  EXPECT_NEAR(s.center.y, 44.73 + 346.68 / 2, 1e-9);
  EXPECT_NEAR(s.scale, 346.68 / 200 * 1.25, 1e-12);
  EXPECT_EQ(s.joints[kRAnkle].x, 396);  // COCO 16 r_ankle
  EXPECT_EQ(s.joints[kLAnkle].x, 466);  // COCO 15 l_ankle
  EXPECT_EQ(s.joints[kRShoulder].x, 358);
  EXPECT_EQ(s.joints[kLWrist].x, 449);
  // COCO has no pelvis, thorax, upper neck or head top: weight 0, coordinates 0.
  for (int j : {kPelvis, kThorax, kUpperNeck, kHeadTop}) {
    EXPECT_EQ(s.weight[size_t(j)], 0.0f) << joint_name(j);
    EXPECT_EQ(s.joints[size_t(j)].x, 0.0) << joint_name(j);
    EXPECT_EQ(s.joints[size_t(j)].y, 0.0) << joint_name(j);
  }
  // Annotation 198196 lacks its left elbow and right wrist.
  const Sample& t = d[1];
  EXPECT_EQ(t.weight[kLElbow], 0.0f);
  EXPECT_EQ(t.weight[kRWrist], 0.0f);
  EXPECT_EQ(t.weight[kRShoulder], 1.0f);
  for (const Sample& x : d.samples) EXPECT_TRUE(std::filesystem::exists(x.image)) << x.image;
}

TEST(Dataset, CocoAndAicMidpointsOnlyWhenAskedFor) {
  const auto coco = shared_data_dir() / "coco", aic = shared_data_dir() / "aic";
  if (!std::filesystem::exists(coco / "person_keypoints_sample.json") || !std::filesystem::exists(aic / "annot_sample.json"))
    GTEST_SKIP() << "no COCO/AIC samples in " << shared_data_dir();
  const LoadOptions midpoints{.synthesize_midpoints = true};
  Dataset d = load_coco_keypoints(coco / "person_keypoints_sample.json", coco / "images", midpoints);
  const Sample& s = d[0];
  EXPECT_DOUBLE_EQ(s.joints[kPelvis].x, (424 + 393) / 2.0);
  EXPECT_DOUBLE_EQ(s.joints[kPelvis].y, (203 + 214) / 2.0);
  EXPECT_DOUBLE_EQ(s.joints[kThorax].x, (399 + 358) / 2.0);
  EXPECT_EQ(s.weight[kPelvis], 1.0f);
  EXPECT_EQ(s.weight[kThorax], 1.0f);
  EXPECT_EQ(s.weight[kUpperNeck], 0.0f);  // still nothing to build it from
  EXPECT_DOUBLE_EQ(d[1].joints[kThorax].x, (56 + 81) / 2.0);
  Dataset a = load_aic_keypoints(aic / "annot_sample.json", aic / "images", midpoints);
  EXPECT_DOUBLE_EQ(a[0].joints[kPelvis].x, (375 + 416) / 2.0);
  EXPECT_DOUBLE_EQ(a[0].joints[kThorax].y, (201 + 197) / 2.0);
  EXPECT_EQ(a[0].weight[kThorax], 1.0f);
  EXPECT_EQ(a[1].weight[kPelvis], 0.0f);  // annotation 5: right hip only
  // The spec string path passes the option through as well (COCO as
  // additional MPII data: the first data set decides the keypoints).
  const auto mpii = shared_data_dir() / "mpii";
  if (!std::filesystem::exists(mpii / "annot" / "valid_sample.json")) return;
  Dataset spec = load_dataset_spec("mpii:" + mpii.string() + ":valid_sample,coco:" +
                                       (coco / "person_keypoints_sample.json").string() + ":" + (coco / "images").string(),
                                   midpoints);
  EXPECT_EQ(spec.keypoints, &eval::mpii_keypoint_set());
  EXPECT_EQ(spec[5].weight[kPelvis], 1.0f);
}

TEST(Dataset, AicSampleMapsOntoMpiiJoints) {
  const auto dir = shared_data_dir() / "aic";
  if (!std::filesystem::exists(dir / "annot_sample.json")) GTEST_SKIP() << "no AIC sample in " << dir;
  Dataset d = load_aic_keypoints(dir / "annot_sample.json", dir / "images");
  ASSERT_EQ(d.size(), 9u);
  const Sample& s = d[0];
  EXPECT_EQ(s.joints[kHeadTop].x, 395);  // AIC 12 head_top
  EXPECT_EQ(s.joints[kUpperNeck].y, 170);  // AIC 13 neck
  EXPECT_EQ(s.joints[kRShoulder].x, 313);  // AIC 0
  EXPECT_EQ(s.joints[kLWrist].x, 459);     // AIC 5
  EXPECT_EQ(s.weight[kRAnkle], 0.0f);      // AIC 8 unlabelled
  EXPECT_EQ(s.weight[kLKnee], 0.0f);       // AIC 10 unlabelled
  // AI Challenger has no pelvis or thorax: weight 0, coordinates 0.
  for (int j : {kPelvis, kThorax}) {
    EXPECT_EQ(s.weight[size_t(j)], 0.0f) << joint_name(j);
    EXPECT_EQ(s.joints[size_t(j)].x, 0.0) << joint_name(j);
    EXPECT_EQ(s.joints[size_t(j)].y, 0.0) << joint_name(j);
  }
  EXPECT_NEAR(s.scale, 544.0 / 200 * 1.25, 1e-12);
  for (const Sample& x : d.samples) EXPECT_TRUE(std::filesystem::exists(x.image)) << x.image;
}

TEST(Dataset, ConcatenatesAdditionalData) {
  const auto root = shared_data_dir();
  if (!std::filesystem::exists(root / "aic" / "annot_sample.json") ||
      !std::filesystem::exists(root / "mpii" / "annot" / "valid_sample.json"))
    GTEST_SKIP() << "no shared samples in " << root;
  Dataset d = load_mpii_json(root / "mpii" / "annot" / "valid_sample.json", root / "mpii" / "images");
  d.append(load_aic_keypoints(root / "aic" / "annot_sample.json", root / "aic" / "images"));
  EXPECT_EQ(d.size(), 14u);
  EXPECT_EQ(d[5].source, (root / "aic" / "annot_sample.json").string());
  Dataset e = load_dataset_spec("mpii:" + (root / "mpii").string() + ":valid_sample,aic:" +
                                (root / "aic" / "annot_sample.json").string() + ":" + (root / "aic" / "images").string());
  EXPECT_EQ(e.size(), 14u);
  EXPECT_THROW(load_dataset_spec("yoga:/x"), Error);
}

TEST(Dataset, TestSplitWithoutJointsLoadsWithZeroWeights) {
  auto dir = temp_dir("ds_testsplit");
  auto f = write_text(dir / "t.json", R"([{"image": "a.jpg", "center": [100, 80], "scale": 2.0}])");
  Dataset d = load_mpii_json(f, dir);
  ASSERT_EQ(d.size(), 1u);
  for (float w : d[0].weight) EXPECT_EQ(w, 0.0f);
  EXPECT_DOUBLE_EQ(d[0].center.y, 80 + 30 - 1);
}

TEST(Dataset, CenterMinusOneSkipsTheAdjustment) {
  auto dir = temp_dir("ds_center");
  auto f = write_text(dir / "t.json", "[" + mpii_record("\"a.jpg\"", "[-1, -1]", "2", joints_json(16), vis_json(16)) + "]");
  Dataset d = load_mpii_json(f, dir);
  EXPECT_DOUBLE_EQ(d[0].scale, 2.0);
  EXPECT_DOUBLE_EQ(d[0].center.y, -2.0);
}

TEST(Dataset, MalformedMpiiAnnotationsNameFileAndEntry) {
  auto dir = temp_dir("ds_bad");
  const std::string f = (dir / "bad.json").string();
  auto check = [&](const std::string& bad_record, std::initializer_list<std::string> fragments) {
    write_text(f, "[" + kGood + ", " + bad_record + "]");
    std::vector<std::string> all = {f, "entry 1"};
    all.insert(all.end(), fragments);
    try {
      load_mpii_json(f, dir);
      ADD_FAILURE() << "expected an InputError for " << bad_record;
    } catch (const InputError& e) {
      for (const auto& s : all) EXPECT_NE(std::string(e.what()).find(s), std::string::npos) << s << " not in " << e.what();
    }
    // skip_bad keeps the good entry and reports the bad one.
    Dataset d = load_mpii_json(f, dir, {.skip_bad = true, .log_skipped = false});
    EXPECT_EQ(d.size(), 1u);
    ASSERT_EQ(d.skipped.size(), 1u);
    EXPECT_NE(d.skipped[0].find("entry 1"), std::string::npos);
  };
  check(mpii_record("", "[1, 2]", "1", joints_json(16), vis_json(16)), {"image"});
  check(mpii_record("42", "[1, 2]", "1", joints_json(16), vis_json(16)), {"image"});
  check(mpii_record("\"b.jpg\"", "[1, 2]", "\"big\"", joints_json(16), vis_json(16)), {"scale", "number"});
  check(mpii_record("\"b.jpg\"", "[1, 2]", "-3", joints_json(16), vis_json(16)), {"scale must be positive"});
  check(mpii_record("\"b.jpg\"", "[1]", "1", joints_json(16), vis_json(16)), {"center"});
  check(mpii_record("\"b.jpg\"", "[1, 2]", "1", joints_json(15), vis_json(15)), {"16"});
  check(mpii_record("\"b.jpg\"", "[1, 2]", "1", joints_json(17), vis_json(17)), {"16"});  // COCO-sized
  check(mpii_record("\"b.jpg\"", "[1, 2]", "1", joints_json(16), vis_json(17)), {"joints_vis"});
  check(mpii_record("\"b.jpg\"", "[1, 2]", "1", joints_json(16, "[NaN, 3]"), vis_json(16)), {"not finite", "joint 0"});
  check(mpii_record("\"b.jpg\"", "[1, 2]", "1", joints_json(16, "[3, -Infinity]"), vis_json(16)), {"not finite", "joint 0"});
  check(mpii_record("\"b.jpg\"", "[Infinity, 2]", "1", joints_json(16), vis_json(16)), {"not finite", "center"});
  check(mpii_record("\"b.jpg\"", "[1, 2]", "1", joints_json(16, "[\"x\", 3]"), vis_json(16)), {"joint 0"});
  check(mpii_record("\"b.jpg\"", "[1, 2]", "1", joints_json(16, "[1, 2, 3]"), vis_json(16)), {"joint 0"});
  check("[1, 2]", {"object"});
  check("{\"image\": \"b.jpg\", \"scale\": 1}", {"center"});
}

TEST(Dataset, MissingOrInvalidFilesNameTheFile) {
  auto dir = temp_dir("ds_files");
  expect_input_error([&] { load_mpii_json(dir / "nope.json", dir); }, {"nope.json", "not found"});
  auto huge = write_text(dir / "huge.json", "[{\"image\": \"a.jpg\", \"center\": [1e999, 1]}]");
  expect_input_error([&] { load_mpii_json(huge, dir); }, {"huge.json", "not valid JSON"});
  auto word = write_text(dir / "word.json", "[{\"image\": \"a.jpg\", \"center\": [Nope, 1]}]");
  expect_input_error([&] { load_mpii_json(word, dir); }, {"word.json", "not valid JSON"});
  auto truncated = write_text(dir / "trunc.json", "[{\"image\": ");
  expect_input_error([&] { load_mpii_json(truncated, dir); }, {"trunc.json", "not valid JSON"});
  auto obj = write_text(dir / "obj.json", "{\"a\": 1}");
  expect_input_error([&] { load_mpii_json(obj, dir); }, {"obj.json", "list"});
  expect_input_error([&] { load_coco_keypoints(obj, dir); }, {"obj.json", "images"});
}

TEST(Dataset, MalformedCocoAnnotationsNameFileAndEntry) {
  auto dir = temp_dir("ds_coco");
  auto coco = [&](const std::string& annotation) {
    return write_text(dir / "c.json", R"({"images": [{"id": 1, "file_name": "a.jpg"}], "annotations": [)" + annotation + "]}");
  };
  std::string kps = "[";
  for (int k = 0; k < 17; ++k) kps += std::string(k ? ", " : "") + "10, 20, 2";
  kps += "]";
  auto ok = coco(R"({"image_id": 1, "bbox": [0, 0, 10, 20], "num_keypoints": 17, "keypoints": )" + kps + "}");
  EXPECT_EQ(load_coco_keypoints(ok, dir).size(), 1u);
  auto short_kps = coco(R"({"image_id": 1, "bbox": [0, 0, 10, 20], "keypoints": [1, 2, 2]})");
  expect_input_error([&] { load_coco_keypoints(short_kps, dir); }, {"c.json", "annotation 0", "51"});
  auto no_image = coco(R"({"image_id": 7, "bbox": [0, 0, 10, 20], "keypoints": )" + kps + "}");
  expect_input_error([&] { load_coco_keypoints(no_image, dir); }, {"c.json", "annotation 0", "image_id 7"});
  auto bad_box = coco(R"({"image_id": 1, "bbox": [0, 0, -1, 20], "keypoints": )" + kps + "}");
  expect_input_error([&] { load_coco_keypoints(bad_box, dir); }, {"c.json", "annotation 0", "bbox"});
  Dataset skipped = load_coco_keypoints(bad_box, dir, {.skip_bad = true, .log_skipped = false});
  EXPECT_EQ(skipped.size(), 0u);
  EXPECT_EQ(skipped.skipped.size(), 1u);
  // AIC has 14 keypoints: a COCO-sized list is the wrong count.
  expect_input_error([&] { load_aic_keypoints(ok, dir); }, {"c.json", "annotation 0", "42"});
  // Visibility flags other than 0, 1, 2 (COCO's convention, which the AIC
  // loader shares): the keypoint and the value.
  for (const std::string flag : {"3", "-1", "0.5"}) {
    SCOPED_TRACE(flag);
    std::string bad_kps = kps;
    bad_kps.replace(bad_kps.rfind(", 2]"), 4, ", " + flag + "]");  // the last keypoint's flag
    auto bad_vis = coco(R"({"image_id": 1, "bbox": [0, 0, 10, 20], "keypoints": )" + bad_kps + "}");
    expect_input_error([&] { load_coco_keypoints(bad_vis, dir); },
                       {"c.json", "annotation 0", "keypoint 16 visibility must be 0, 1 or 2, got " + flag});
    Dataset kept = load_coco_keypoints(bad_vis, dir, {.skip_bad = true, .log_skipped = false});
    EXPECT_EQ(kept.size(), 0u);
    EXPECT_EQ(kept.skipped.size(), 1u);
  }
  std::string aic_kps = "[";
  for (int k = 0; k < 14; ++k) aic_kps += std::string(k ? ", " : "") + (k == 13 ? "10, 20, 3" : "10, 20, 1");
  aic_kps += "]";
  auto aic = coco(R"({"image_id": 1, "bbox": [0, 0, 10, 20], "keypoints": )" + aic_kps + "}");
  expect_input_error([&] { load_aic_keypoints(aic, dir); },
                     {"c.json", "annotation 0", "keypoint 13 visibility must be 0, 1 or 2, got 3"});
}

TEST(Image, DecodesRealMpiiJpegAndTimesIt) {
  const auto file = shared_data_dir() / "mpii" / "images" / "005808361.jpg";
  if (!std::filesystem::exists(file)) GTEST_SKIP() << "no " << file;
  const auto t0 = std::chrono::steady_clock::now();
  Image im = read_image(file);
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(im.width, 1280);
  EXPECT_EQ(im.height, 720);
  EXPECT_EQ(im.pixels.size(), 1280u * 720u * 3u);
  RecordProperty("decode_ms", std::to_string(ms));
}

// A PNG whose header is intact but whose pixel data is cut off: passes the
// header check, fails to decode.
void write_png_with_truncated_body(const std::filesystem::path& path) {
  Image im(40, 30);
  for (size_t i = 0; i < im.pixels.size(); ++i) im.pixels[i] = uint8_t(i * 37 % 251);  // not very compressible
  write_png(path, im);
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  in.close();
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes.substr(0, 80);
}

TEST(Image, HeaderCheckReadsOnlyTheHeaderAndTimesIt) {
  auto dir = temp_dir("img_header");
  expect_input_error([&] { read_image_header(dir / "missing.jpg"); }, {"missing.jpg", "not found"});
  write_text(dir / "empty.jpg", "");
  expect_input_error([&] { read_image_header(dir / "empty.jpg"); }, {"empty.jpg", "empty"});
  write_text(dir / "garbage.jpg", "this is not an image at all");
  expect_input_error([&] { read_image_header(dir / "garbage.jpg"); }, {"garbage.jpg", "cannot decode image header"});
  const unsigned char png0[] = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, 'I', 'H', 'D', 'R',
                                0,    0,   0,   0,   0,    0,    0,    0,    8, 2, 0, 0,  0,   0,   0,   0,   0};
  std::ofstream(dir / "zero.png", std::ios::binary).write(reinterpret_cast<const char*>(png0), sizeof(png0));
  expect_input_error([&] { read_image_header(dir / "zero.png"); }, {"zero.png"});
  // A corrupt body behind a good header is only found by decoding.
  write_png_with_truncated_body(dir / "cut.png");
  const ImageInfo info = read_image_header(dir / "cut.png");
  EXPECT_EQ(info.width, 40);
  EXPECT_EQ(info.height, 30);
  expect_input_error([&] { read_image(dir / "cut.png"); }, {"cut.png"});
  // The cost on the real MPII images (progressive JPEGs), against decoding them.
  const auto mpii = shared_data_dir() / "mpii" / "images";
  if (!std::filesystem::exists(mpii)) return;
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(mpii)) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  const auto t0 = std::chrono::steady_clock::now();
  constexpr int kRepeats = 20;
  for (int r = 0; r < kRepeats; ++r)
    for (const auto& f : files) EXPECT_GT(read_image_header(f).width, 0) << f;
  const auto t1 = std::chrono::steady_clock::now();
  for (const auto& f : files) EXPECT_EQ(read_image(f).width, read_image_header(f).width) << f;
  const auto t2 = std::chrono::steady_clock::now();
  const double header_us = std::chrono::duration<double, std::micro>(t1 - t0).count() / double(kRepeats * files.size());
  const double decode_us = std::chrono::duration<double, std::micro>(t2 - t1).count() / double(files.size());
  RecordProperty("header_check_us_per_image", std::to_string(header_us));
  RecordProperty("decode_us_per_image", std::to_string(decode_us));
  std::cout << "header check " << header_us << " us/image, full decode " << decode_us << " us/image ("
            << files.size() << " MPII images)\n";
  EXPECT_LT(header_us * 20, decode_us) << "the up-front check must stay far cheaper than decoding";
}

TEST(Dataset, ImagesAreCheckedUpFrontNamingImageAndEntry) {
  const auto dir = temp_dir("dataset_images");
  Image im(32, 24, 100);
  write_jpeg(dir / "good.jpg", im);
  write_text(dir / "garbage.jpg", "not an image");
  std::string list = "[" + mpii_record("\"good.jpg\"", "[10, 10]", "0.1", joints_json(16), vis_json(16)) + ", " +
                     mpii_record("\"missing.jpg\"", "[10, 10]", "0.1", joints_json(16), vis_json(16)) + ", " +
                     mpii_record("\"garbage.jpg\"", "[10, 10]", "0.1", joints_json(16), vis_json(16)) + ", " +
                     mpii_record("\"good.jpg\"", "[12, 10]", "0.1", joints_json(16), vis_json(16)) + "]";
  const auto f = write_text(dir / "list.json", list);
  // Without check_images the annotations load as they are (no image is opened).
  EXPECT_EQ(load_mpii_json(f, dir).size(), 4u);
  // With it, the first bad image is one error naming the image and the entry.
  expect_input_error([&] { load_mpii_json(f, dir, {.check_images = true}); }, {"missing.jpg", "not found", "list.json", "entry 1"});
  // With skip_bad every bad one is moved to the skipped list, with the reason.
  Dataset d = load_mpii_json(f, dir, {.skip_bad = true, .log_skipped = false, .check_images = true});
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d[0].source_index, 0);
  EXPECT_EQ(d[1].source_index, 3);  // entries keep their index (their ground-truth row)
  ASSERT_EQ(d.skipped.size(), 2u);
  EXPECT_NE(d.skipped[0].find("entry 1"), std::string::npos) << d.skipped[0];
  EXPECT_NE(d.skipped[0].find("missing.jpg"), std::string::npos) << d.skipped[0];
  EXPECT_NE(d.skipped[1].find("entry 2"), std::string::npos) << d.skipped[1];
  EXPECT_NE(d.skipped[1].find("garbage.jpg"), std::string::npos) << d.skipped[1];
  EXPECT_NE(d.skipped[1].find("cannot decode image header"), std::string::npos) << d.skipped[1];
  // The spec path (what train and eval use) passes the options through.
  std::filesystem::create_directories(dir / "set" / "annot");
  std::filesystem::create_directories(dir / "set" / "images");
  for (const char* name : {"good.jpg", "garbage.jpg"}) std::filesystem::copy_file(dir / name, dir / "set" / "images" / name);
  std::filesystem::copy_file(f, dir / "set" / "annot" / "train.json");
  expect_input_error([&] { load_dataset_spec("mpii:" + (dir / "set").string(), {.check_images = true}); },
                     {"missing.jpg", "entry 1"});
}

TEST(Image, EncodeDecodeRoundTrip) {
  auto dir = temp_dir("img_rt");
  Image im(17, 9);
  for (size_t i = 0; i < im.pixels.size(); ++i) im.pixels[i] = uint8_t(i * 7);
  write_image(dir / "a.png", im);
  Image back = read_image(dir / "a.png");
  EXPECT_EQ(back.width, 17);
  EXPECT_EQ(back.pixels, im.pixels);  // PNG is lossless
  Image flat(32, 32, 128);
  write_image(dir / "b.jpg", flat);
  Image jb = read_image(dir / "b.jpg");
  EXPECT_EQ(jb.width, 32);
  for (uint8_t v : jb.pixels) EXPECT_NEAR(v, 128, 2);
  EXPECT_THROW(write_image(dir / "c.bmp", im), Error);
}

// JPEGs decode through libjpeg-turbo: channels come back in RGB order and
// close to what was written, for the subsampled (4:2:0) files the
// datasets hold.
TEST(Image, JpegKeepsColoursAndChannelOrder) {
  auto dir = temp_dir("img_rgb");
  Image im(64, 48);
  const uint8_t colours[4][3] = {{220, 30, 30}, {30, 200, 40}, {40, 40, 210}, {200, 200, 60}};
  for (int y = 0; y < im.height; ++y)
    for (int x = 0; x < im.width; ++x) {
      const uint8_t* c = colours[(y >= im.height / 2) * 2 + (x >= im.width / 2)];
      for (int k = 0; k < 3; ++k) im.pixels[size_t((y * im.width + x) * 3 + k)] = c[k];
    }
  write_jpeg(dir / "quad.jpg", im, 95);
  const Image back = read_image(dir / "quad.jpg");
  ASSERT_EQ(back.width, 64);
  ASSERT_EQ(back.height, 48);
  // Away from the quadrant edges (chroma is subsampled and the DCT rings).
  for (int q = 0; q < 4; ++q) {
    const int x = (q % 2) * 32 + 16, y = (q / 2) * 24 + 12;
    for (int k = 0; k < 3; ++k)
      EXPECT_NEAR(back.pixels[size_t((y * 64 + x) * 3 + k)], colours[q][k], 6) << "quadrant " << q << " channel " << k;
  }
}

TEST(Image, BadImagesNameTheFile) {
  auto dir = temp_dir("img_bad");
  expect_input_error([&] { read_image(dir / "missing.jpg"); }, {"missing.jpg", "not found"});
  write_text(dir / "empty.jpg", "");
  expect_input_error([&] { read_image(dir / "empty.jpg"); }, {"empty.jpg", "empty"});
  write_text(dir / "garbage.jpg", "this is not an image at all");
  expect_input_error([&] { read_image(dir / "garbage.jpg"); }, {"garbage.jpg", "cannot decode"});
  // A real JPEG cut in half.
  Image im(64, 64, 90);
  write_jpeg(dir / "full.jpg", im);
  std::ifstream in(dir / "full.jpg", std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  write_text(dir / "cut.jpg", bytes.substr(0, 40));
  expect_input_error([&] { read_image(dir / "cut.jpg"); }, {"cut.jpg"});
  // A PNG header declaring a 0 x 0 image.
  const unsigned char png0[] = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, 'I', 'H', 'D', 'R',
                                0,    0,   0,   0,   0,    0,    0,    0,    8, 2, 0, 0,  0,   0,   0,   0,   0};
  std::ofstream(dir / "zero.png", std::ios::binary).write(reinterpret_cast<const char*>(png0), sizeof(png0));
  expect_input_error([&] { read_image(dir / "zero.png"); }, {"zero.png"});
}

}  // namespace
}  // namespace posenet::train
