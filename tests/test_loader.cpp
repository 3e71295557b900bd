// The threaded loader: determinism across worker counts, shuffling, resume,
// drop_last, error propagation and shutdown; targets on real MPII crops.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>

#include "kernels/normalize.h"
#include "test_util.h"
#include "train/image.h"
#include "train/loader.h"
#include "train/synthetic.h"

namespace posenet::train {
namespace {

using ::posenet::testing::shared_data_dir;
using ::posenet::testing::temp_dir;

// A small synthetic dataset on disk, made once per test binary run.
std::shared_ptr<const Dataset> synthetic_dataset() {
  static std::shared_ptr<const Dataset> d = [] {
    const auto dir = temp_dir("loader_synth");
    write_synthetic_dataset(dir, {.count = 23, .val_count = 0, .seed = 4, .size = 64});
    return std::make_shared<const Dataset>(load_mpii_json(dir / "annot" / "train.json", dir / "images"));
  }();
  return d;
}

LoaderConfig small_config(int workers) {
  LoaderConfig c;
  c.batch_size = 4;
  c.workers = workers;
  c.queue_depth = 2;
  c.seed = 77;
  c.crop.input_width = c.crop.input_height = 32;
  c.heatmap_width = c.heatmap_height = 8;
  c.sigmas = SigmaSchedule::arithmetic(2, 1.5, 1.0);
  return c;
}

bool same_bytes(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() && a.dtype() == b.dtype() && std::memcmp(a.raw_data(), b.raw_data(), a.nbytes()) == 0;
}

void expect_same_batch(const Batch& a, const Batch& b) {
  EXPECT_EQ(a.index, b.index);
  EXPECT_EQ(a.sample_indices, b.sample_indices);
  EXPECT_TRUE(same_bytes(a.images, b.images)) << "batch " << a.index;
  EXPECT_EQ(a.sigmas, b.sigmas);
  EXPECT_TRUE(same_bytes(a.joints, b.joints));
  EXPECT_TRUE(same_bytes(a.joint_weights, b.joint_weights));
  EXPECT_EQ(a.rotations, b.rotations);
  EXPECT_EQ(a.flipped, b.flipped);
  EXPECT_EQ(a.scales, b.scales);
}

std::vector<Batch> run_epoch(DataLoader& loader, int64_t epoch, int64_t first = 0) {
  loader.start_epoch(epoch, first);
  std::vector<Batch> out;
  while (auto b = loader.next()) out.push_back(std::move(*b));
  return out;
}

TEST(Loader, BatchesAreBitwiseIdenticalForAnyWorkerCount) {
  auto d = synthetic_dataset();
  LoaderConfig narrow = small_config(4);
  narrow.queue_depth = 1;  // all four workers share one batch
  DataLoader one(d, small_config(1)), three(d, small_config(3)), inline_(d, small_config(0)), four(d, narrow);
  for (int64_t epoch : {0, 1}) {
    auto a = run_epoch(one, epoch), b = run_epoch(three, epoch), c = run_epoch(inline_, epoch), e = run_epoch(four, epoch);
    ASSERT_EQ(a.size(), 5u);  // 23 samples, batch 4, drop_last
    ASSERT_EQ(b.size(), a.size());
    ASSERT_EQ(c.size(), a.size());
    ASSERT_EQ(e.size(), a.size());
    for (size_t i = 0; i < a.size(); ++i) {
      expect_same_batch(a[i], b[i]);
      expect_same_batch(a[i], c[i]);
      expect_same_batch(a[i], e[i]);
    }
  }
}

TEST(Loader, ShapesAndContents) {
  auto d = synthetic_dataset();
  DataLoader loader(d, small_config(2));
  loader.start_epoch(0);
  auto b = loader.next();
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(b->images.shape(), (Shape{4, 32, 32, 3}));
  EXPECT_EQ(b->images.dtype(), DType::F32);
  EXPECT_EQ(b->joints.shape(), (Shape{4, 16, 2}));
  EXPECT_EQ(b->joint_weights.shape(), (Shape{4, 16}));
  const RenderedTargets targets = rendered_targets(*b, small_config(2));
  ASSERT_EQ(targets.maps.size(), 2u);
  EXPECT_EQ(targets.maps[0].shape(), (Shape{4, 8, 8, 16}));
  EXPECT_EQ(targets.weights.shape(), (Shape{4, 16}));
  EXPECT_EQ(b->sigmas, (std::vector<double>{1.5, 1.0}));
  EXPECT_EQ(b->centers.size(), 4u);
  // Some augmentation happened across the epoch.
  int flips = 0, rotations = 0;
  loader.start_epoch(0);
  while (auto x = loader.next()) {
    for (auto f : x->flipped) flips += f;
    for (double r : x->rotations) rotations += r != 0;
  }
  EXPECT_GT(flips, 0);
  EXPECT_GT(rotations, 0);
}

TEST(Loader, ShufflesPerEpochAndCoversEverySample) {
  auto d = synthetic_dataset();
  LoaderConfig c = small_config(2);
  c.drop_last = false;
  DataLoader loader(d, c);
  EXPECT_EQ(loader.batches_per_epoch(), 6);
  auto e0 = run_epoch(loader, 0), e1 = run_epoch(loader, 1);
  ASSERT_EQ(e0.size(), 6u);
  EXPECT_EQ(e0.back().size(), 3);  // 23 = 5 * 4 + 3
  std::vector<int64_t> o0, o1;
  for (auto& b : e0) o0.insert(o0.end(), b.sample_indices.begin(), b.sample_indices.end());
  for (auto& b : e1) o1.insert(o1.end(), b.sample_indices.begin(), b.sample_indices.end());
  EXPECT_NE(o0, o1);
  std::sort(o0.begin(), o0.end());
  for (int64_t i = 0; i < 23; ++i) EXPECT_EQ(o0[size_t(i)], i);
  // Without shuffling the order is the dataset order.
  c.shuffle = false;
  DataLoader plain(d, c);
  EXPECT_EQ(plain.epoch_order(3)[5], 5);
}

TEST(Loader, ResumesAtAnyBatch) {
  auto d = synthetic_dataset();
  DataLoader loader(d, small_config(3));
  auto full = run_epoch(loader, 2);
  auto tail = run_epoch(loader, 2, 3);
  ASSERT_EQ(tail.size(), full.size() - 3);
  for (size_t i = 0; i < tail.size(); ++i) expect_same_batch(full[i + 3], tail[i]);
  EXPECT_THROW(loader.start_epoch(0, 99), Error);
  // Restarting mid-epoch (abandoning prefetched batches) is clean.
  loader.start_epoch(0);
  ASSERT_TRUE(loader.next().has_value());
  loader.start_epoch(1);
  EXPECT_TRUE(loader.next().has_value());
}

TEST(Loader, WorkerErrorsReachTheConsumerWithTheFileName) {
  const auto dir = temp_dir("loader_bad");
  auto d = std::make_shared<Dataset>(*synthetic_dataset());
  std::ofstream(dir / "broken.jpg") << "not a jpeg";
  d->samples[7].image = dir / "broken.jpg";
  LoaderConfig c = small_config(3);
  c.shuffle = false;
  DataLoader loader(d, c);
  loader.start_epoch(0);
  ASSERT_TRUE(loader.next().has_value());  // samples 0..3
  try {
    loader.next();  // samples 4..7
    ADD_FAILURE() << "expected an InputError";
  } catch (const InputError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("broken.jpg"), std::string::npos) << msg;
    EXPECT_NE(msg.find("entry 7"), std::string::npos) << msg;
  }
  // Later batches still come, and the destructor joins cleanly.
  EXPECT_TRUE(loader.next().has_value());
}

TEST(Loader, UndecodableImageIsReplacedDeterministicallyWithSkipBad) {
  const auto dir = temp_dir("loader_replace");
  auto d = std::make_shared<Dataset>(*synthetic_dataset());
  // A good header over a cut-off body: passes the load-time check, fails here.
  Image im(40, 30);
  for (size_t i = 0; i < im.pixels.size(); ++i) im.pixels[i] = uint8_t(i * 37 % 251);
  write_png(dir / "cut.png", im);
  std::string bytes;
  {
    std::ifstream in(dir / "cut.png", std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  std::ofstream(dir / "cut.png", std::ios::binary | std::ios::trunc) << bytes.substr(0, 80);
  d->samples[5].image = dir / "cut.png";
  d->samples[6].image = dir / "cut.png";  // the next one is bad too: 7 takes 5's place
  std::vector<std::vector<Batch>> runs;
  for (int workers : {0, 1, 3}) {
    LoaderConfig c = small_config(workers);
    c.replace_undecodable = true;
    DataLoader loader(d, c);
    runs.push_back(run_epoch(loader, 1));
  }
  for (size_t r = 1; r < runs.size(); ++r) {
    ASSERT_EQ(runs[r].size(), runs[0].size());
    for (size_t b = 0; b < runs[0].size(); ++b) {
      expect_same_batch(runs[r][b], runs[0][b]);
      EXPECT_EQ(runs[r][b].stands_in_for, runs[0][b].stands_in_for);
    }
  }
  int replaced = 0;
  for (const Batch& b : runs[0])
    for (int64_t i = 0; i < b.size(); ++i) {
      const int64_t failed = b.stands_in_for[size_t(i)];
      if (failed < 0) continue;
      ++replaced;
      EXPECT_TRUE(failed == 5 || failed == 6) << failed;
      EXPECT_EQ(b.sample_indices[size_t(i)], 7) << "the next sample in dataset order that decodes";
    }
  EXPECT_EQ(replaced, 2);
  // Without it the epoch stops at that batch with the error naming the image.
  LoaderConfig strict = small_config(2);
  DataLoader loader(d, strict);
  EXPECT_THROW(run_epoch(loader, 1), InputError);
}

TEST(Loader, DestroysCleanlyMidEpoch) {
  auto d = synthetic_dataset();
  for (int workers : {1, 4}) {
    LoaderConfig c = small_config(workers);
    c.batch_size = 1;
    DataLoader loader(d, c);
    loader.start_epoch(0);
    ASSERT_TRUE(loader.next().has_value());
  }
  DataLoader never_started(d, small_config(2));
  EXPECT_FALSE(never_started.next().has_value());
  LoaderConfig bad = small_config(1);
  bad.batch_size = 0;
  EXPECT_THROW(DataLoader(d, bad), Error);
}

// Training's 8-bit crops are the float path's warp rounded to pixels: the
// same augmentation, and normalised on the device they give the float crop
// within half a quantisation step (and exactly the float path applied to
// the rounded values).
TEST(Loader, Uint8CropsAreTheFloatCropsRoundedToPixels) {
  auto d = synthetic_dataset();
  LoaderConfig fc = small_config(0), uc = small_config(0);
  uc.uint8_images = true;
  DataLoader floats(d, fc), pixels(d, uc);
  const auto a = run_epoch(floats, 1), b = run_epoch(pixels, 1);
  ASSERT_EQ(a.size(), b.size());
  const auto n = ops::ImageNormalization::from_mean_std(uc.crop.mean, uc.crop.std);
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(b[i].images.dtype(), DType::U8);
    EXPECT_TRUE(same_bytes(a[i].joints, b[i].joints));
    EXPECT_EQ(a[i].flipped, b[i].flipped);
    const std::vector<double> want = a[i].images.to_vector();
    const std::vector<double> px = b[i].images.to_vector();
    const std::vector<double> got = ops::normalize_images(b[i].images, n).to_vector();
    ASSERT_EQ(got.size(), want.size());
    for (size_t k = 0; k < got.size(); ++k) {
      const size_t c = k % 3;
      ASSERT_LE(std::abs(got[k] - want[k]), 0.5 * n.mul[c] + 1e-6) << "batch " << i << " value " << k;
      ASSERT_EQ(float(got[k]), float(px[k]) * n.mul[c] + n.add[c]) << "batch " << i << " value " << k;
    }
  }
}

TEST(Loader, RealMpiiEvalTargetsPeakAtTheJoints) {
  const auto dir = shared_data_dir() / "mpii";
  if (!std::filesystem::exists(dir / "annot" / "valid_sample.json")) GTEST_SKIP() << "no MPII sample in " << dir;
  auto d = std::make_shared<const Dataset>(load_mpii_json(dir / "annot" / "valid_sample.json", dir / "images"));
  LoaderConfig c;
  c.batch_size = 5;
  c.workers = 2;
  c.augment = false;
  c.shuffle = false;
  c.drop_last = false;
  DataLoader loader(d, c);
  loader.start_epoch(0);
  auto b = loader.next();
  ASSERT_TRUE(b.has_value());
  ASSERT_EQ(b->size(), 5);
  const RenderedTargets targets = rendered_targets(*b, c);
  const float* t = targets.maps[0].data<float>();
  const float* w = targets.weights.data<float>();
  for (int i = 0; i < 5; ++i) {
    const Sample& s = (*d)[size_t(i)];
    EXPECT_EQ(b->flipped[size_t(i)], 0);
    EXPECT_EQ(b->rotations[size_t(i)], 0.0);
    EXPECT_DOUBLE_EQ(b->scales[size_t(i)], s.scale);
    const double k = 256.0 / (s.scale * 200.0);
    for (int j = 0; j < kNumJoints; ++j) {
      EXPECT_EQ(w[i * kNumJoints + j], s.weight[size_t(j)]);
      if (s.weight[size_t(j)] == 0) continue;
      const double xi = 128 + k * (s.joints[size_t(j)].x - s.center.x), yi = 128 + k * (s.joints[size_t(j)].y - s.center.y);
      int best = 0;
      for (int p = 1; p < 64 * 64; ++p)
        if (t[(size_t(i) * 4096 + size_t(p)) * kNumJoints + size_t(j)] > t[(size_t(i) * 4096 + size_t(best)) * kNumJoints + size_t(j)]) best = p;
      EXPECT_EQ(best % 64, std::lround(xi / 4)) << "person " << i << " " << joint_name(j);
      EXPECT_EQ(best / 64, std::lround(yi / 4)) << "person " << i << " " << joint_name(j);
      EXPECT_EQ(t[(size_t(i) * 4096 + size_t(best)) * kNumJoints + size_t(j)], 1.0f);
    }
  }
}

}  // namespace
}  // namespace posenet::train
