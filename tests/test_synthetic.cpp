// The synthetic dataset (determinism, MPII-layout JSON that loads back, the
// PCKh ground truth file) and the gt_valid.mat writer against the real file.
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "run_files.h"
#include "test_util.h"
#include "eval/mat_io.h"
#include "train/ground_truth.h"
#include "train/synthetic.h"

namespace posenet::train {
namespace {

using ::posenet::testing::shared_data_dir;
using ::posenet::testing::file_bytes;
using ::posenet::testing::temp_dir;

TEST(Synthetic, FigureIsDeterministicAndPlausible) {
  const SyntheticFigure a = render_synthetic_figure(9, 3, 96), b = render_synthetic_figure(9, 3, 96);
  const SyntheticFigure c = render_synthetic_figure(9, 4, 96), e = render_synthetic_figure(10, 3, 96);
  EXPECT_EQ(a.image.pixels, b.image.pixels);
  EXPECT_NE(a.image.pixels, c.image.pixels);
  EXPECT_NE(a.image.pixels, e.image.pixels);
  for (int i = 0; i < 50; ++i) {
    const SyntheticFigure f = render_synthetic_figure(1, uint64_t(i), 128);
    for (int j = 0; j < kNumJoints; ++j) {
      EXPECT_GE(f.joints[size_t(j)].x, 0);
      EXPECT_LT(f.joints[size_t(j)].x, 128);
      EXPECT_GE(f.joints[size_t(j)].y, 0);
      EXPECT_LT(f.joints[size_t(j)].y, 128);
    }
    // Anatomy: the head is above the thorax in the figure's frame, the head
    // box holds the head, and the PCKh normaliser (0.6 x box diagonal) is
    // comparable to the head length, as in MPII.
    const Point2 n = f.joints[kUpperNeck], t = f.joints[kHeadTop];
    const double head = std::hypot(t.x - n.x, t.y - n.y);
    const double diag = std::hypot(f.headbox.x2 - f.headbox.x1, f.headbox.y2 - f.headbox.y1);
    EXPECT_GT(0.6 * diag, 0.6 * head);
    EXPECT_LT(0.6 * diag, 1.0 * head);
    for (const Point2& p : {n, t}) {
      EXPECT_GE(p.x, f.headbox.x1 - 1e-9);
      EXPECT_LE(p.x, f.headbox.x2 + 1e-9);
    }
    EXPECT_GT(f.box_size, 20);
  }
  // Limb colours: the middle of the right forearm is warm, the left one cool.
  const SyntheticFigure f = render_synthetic_figure(2, 0, 128);
  auto mid = [&](int a_, int b_) {
    const Point2 p{(f.joints[size_t(a_)].x + f.joints[size_t(b_)].x) / 2, (f.joints[size_t(a_)].y + f.joints[size_t(b_)].y) / 2};
    return f.image.at(int(std::lround(p.x)), int(std::lround(p.y)));
  };
  const uint8_t* r = mid(kRShoulder, kRElbow);
  const uint8_t* l = mid(kLShoulder, kLElbow);
  EXPECT_GT(int(r[0]), int(r[2]) + 60);
  EXPECT_GT(int(l[1]), int(l[0]) + 60);
}

TEST(Synthetic, DatasetIsDeterministicAndLoadsThroughTheMpiiLoader) {
  const auto d1 = temp_dir("synth_a"), d2 = temp_dir("synth_b");
  const SyntheticConfig cfg{.count = 40, .val_count = 8, .seed = 21, .size = 64};
  const SyntheticSummary s = write_synthetic_dataset(d1, cfg);
  write_synthetic_dataset(d2, cfg);
  EXPECT_EQ(s.train, 32);
  EXPECT_EQ(s.val, 8);
  EXPECT_EQ(file_bytes(d1 / "annot" / "train.json"), file_bytes(d2 / "annot" / "train.json"));
  EXPECT_EQ(file_bytes(d1 / "annot" / "valid.json"), file_bytes(d2 / "annot" / "valid.json"));
  EXPECT_EQ(file_bytes(d1 / "images" / "train_000005.jpg"), file_bytes(d2 / "images" / "train_000005.jpg"));
  EXPECT_EQ(file_bytes(d1 / "images" / "valid_000007.jpg"), file_bytes(d2 / "images" / "valid_000007.jpg"));

  const Dataset train = load_mpii_json(d1 / "annot" / "train.json", d1 / "images");
  const Dataset valid = load_mpii_json(d1 / "annot" / "valid.json", d1 / "images");
  ASSERT_EQ(train.size(), 32u);
  ASSERT_EQ(valid.size(), 8u);
  for (size_t i = 0; i < train.size(); ++i) {
    const Sample& x = train[i];
    const SyntheticFigure f = render_synthetic_figure(21, i, 64);
    // The standard adjustments recentre the box and pad it by 1.25.
    EXPECT_NEAR(x.center.x, f.box_center.x, 1e-9);
    EXPECT_NEAR(x.center.y, f.box_center.y, 1e-9);
    EXPECT_NEAR(x.scale * 200, 1.25 * f.box_size, 1e-9);
    for (int j = 0; j < kNumJoints; ++j) {
      EXPECT_NEAR(x.joints[size_t(j)].x, f.joints[size_t(j)].x, 1e-9);
      EXPECT_EQ(x.weight[size_t(j)], 1.0f);
    }
    const Image im = read_image(x.image);
    EXPECT_EQ(im.width, 64);
  }
  // gt_valid.mat matches valid.json (1-based) and holds the head boxes.
  const eval::GroundTruth gt = eval::read_ground_truth_mat(d1 / "annot" / "gt_valid.mat");
  ASSERT_EQ(gt.size(), 8u);
  for (size_t i = 0; i < gt.size(); ++i) {
    const SyntheticFigure f = render_synthetic_figure(21, 32 + i, 64);
    for (int j = 0; j < kNumJoints; ++j) {
      EXPECT_FALSE(gt.missing[i][size_t(j)]);
      EXPECT_NEAR(gt.joints[i][size_t(j)].x, valid[i].joints[size_t(j)].x + 1, 1e-9);
      EXPECT_NEAR(gt.joints[i][size_t(j)].y, valid[i].joints[size_t(j)].y + 1, 1e-9);
    }
    EXPECT_NEAR(gt.headboxes[i].x1, f.headbox.x1 + 1, 1e-9);
    EXPECT_NEAR(gt.headboxes[i].y2, f.headbox.y2 + 1, 1e-9);
  }
}

TEST(Synthetic, RejectsBadConfigurations) {
  const auto d = temp_dir("synth_bad");
  EXPECT_THROW(write_synthetic_dataset(d, {.count = 0}), Error);
  EXPECT_THROW(write_synthetic_dataset(d, {.count = 5, .val_count = 6}), Error);
  EXPECT_THROW(render_synthetic_figure(0, 0, 8), Error);
}

TEST(Synthetic, CommandLineWritesTheDataset) {
  const auto d = temp_dir("synth_cli");
  const std::string cmd = std::string(POSENET_CLI_PATH) + " synth --out " + (d / "out").string() +
                          " --count 12 --seed 3 --size 48 --split-val 4 > " + (d / "log.txt").string() + " 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << file_bytes(d / "log.txt");
  EXPECT_EQ(load_mpii_json(d / "out" / "annot" / "train.json", d / "out" / "images").size(), 8u);
  EXPECT_EQ(load_mpii_json(d / "out" / "annot" / "valid.json", d / "out" / "images").size(), 4u);
  EXPECT_TRUE(std::filesystem::exists(d / "out" / "annot" / "gt_valid.mat"));
  const std::string bad = std::string(POSENET_CLI_PATH) + " synth --out " + (d / "x").string() + " --count 3 --split-val 9 > " +
                          (d / "bad.txt").string() + " 2>&1";
  EXPECT_NE(std::system(bad.c_str()), 0);
  EXPECT_NE(file_bytes(d / "bad.txt").find("error"), std::string::npos);
}

TEST(GroundTruthMat, WrittenFileHasTheRealFilesLayout) {
  const auto real = shared_data_dir() / "mpii" / "annot" / "gt_valid.mat";
  if (!std::filesystem::exists(real)) GTEST_SKIP() << "no " << real;
  const auto dir = temp_dir("gtmat");
  std::vector<Sample> people(3);
  for (Sample& p : people) {
    p.weight.fill(1.0f);
    p.headbox = HeadBox{0, 0, 10, 10};
  }
  people[1].weight[4] = 0;
  people[1].joints[4] = {98, 98};  // ignored: missing joints are stored as 0, 0
  people[2].joints[9] = {11.5, 6.25};
  people[2].headbox = HeadBox{0, 1, 29, 39};
  eval::write_ground_truth_mat(dir / "gt.mat", ground_truth_from_samples(people));
  const auto ours = eval::describe_mat_file(dir / "gt.mat");
  const auto theirs = eval::describe_mat_file(real);
  ASSERT_EQ(ours.size(), theirs.size());
  for (size_t i = 0; i < ours.size(); ++i) {
    EXPECT_EQ(ours[i].name, theirs[i].name);
    EXPECT_EQ(ours[i].class_name, theirs[i].class_name) << ours[i].name;
    ASSERT_EQ(ours[i].dims.size(), theirs[i].dims.size()) << ours[i].name;
    for (size_t k = 0; k + 1 < ours[i].dims.size(); ++k) EXPECT_EQ(ours[i].dims[k], theirs[i].dims[k]) << ours[i].name;
    if (ours[i].name != "dataset_joints") {
      EXPECT_EQ(ours[i].dims.back(), 3u) << ours[i].name;
    }
  }
  const eval::GroundTruth back = eval::read_ground_truth_mat(dir / "gt.mat");
  ASSERT_EQ(back.size(), 3u);
  EXPECT_TRUE(back.missing[1][4]);
  EXPECT_FALSE(back.missing[1][3]);
  EXPECT_EQ(back.joints[1][4].x, 0.0);
  EXPECT_EQ(back.joints[1][4].y, 0.0);
  EXPECT_EQ(back.joints[2][9].x, 12.5);
  EXPECT_EQ(back.joints[2][9].y, 7.25);
  EXPECT_EQ(back.headboxes[2].x1, 1.0);
  EXPECT_EQ(back.headboxes[2].y1, 2.0);
  EXPECT_EQ(back.headboxes[2].x2, 30.0);
  EXPECT_EQ(back.headboxes[2].y2, 40.0);
}

TEST(GroundTruthMat, SamplesWithoutAHeadBoxAreRejected) {
  std::vector<Sample> people(2);
  people[0].headbox = HeadBox{0, 0, 10, 10};
  people[1].source = "annot/valid.json";
  people[1].source_index = 7;
  try {
    ground_truth_from_samples(people);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("annot/valid.json"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("entry 7"), std::string::npos) << e.what();
  }
}

TEST(GroundTruthMat, ReadsTheRealFileConsistentlyWithValidJson) {
  const auto annot = shared_data_dir() / "mpii" / "annot";
  if (!std::filesystem::exists(annot / "gt_valid.mat")) GTEST_SKIP() << "no " << annot;
  const eval::GroundTruth gt = eval::read_ground_truth_mat(annot / "gt_valid.mat");
  ASSERT_EQ(gt.size(), 2958u);
  EXPECT_NEAR(gt.headboxes[0].x1, 914, 1e-3);
  EXPECT_NEAR(gt.headboxes[0].y1, 79, 1e-3);
  EXPECT_NEAR(gt.headboxes[0].x2, 1031, 1e-3);
  EXPECT_NEAR(gt.headboxes[0].y2, 237, 1e-3);
  const Dataset d = load_mpii_json(annot / "valid_sample.json", shared_data_dir() / "mpii" / "images");
  for (size_t i = 0; i < d.size(); ++i)
    for (int j = 0; j < kNumJoints; ++j) {
      EXPECT_EQ(gt.missing[i][size_t(j)], !(d[i].weight[size_t(j)] > 0));
      if (d[i].weight[size_t(j)] > 0) {
        EXPECT_NEAR(gt.joints[i][size_t(j)].x, d[i].joints[size_t(j)].x + 1, 1e-3);
      }
    }
  EXPECT_THROW(eval::read_ground_truth_mat(annot / "valid.json"), InputError);
}

}  // namespace
}  // namespace posenet::train
