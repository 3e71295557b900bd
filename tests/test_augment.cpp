// The crop affine (SB's get_affine_transform), augmentation draws, flips,
// the warp, and the Gaussian targets with their sigma schedule.
#include <cmath>

#include "test_util.h"
#include "train/augment.h"
#include "train/targets.h"

namespace posenet::train {
namespace {

using ::posenet::testing::shared_data_dir;

void expect_point_near(Point2 a, Point2 b, double tol, const std::string& what = "") {
  EXPECT_NEAR(a.x, b.x, tol) << what;
  EXPECT_NEAR(a.y, b.y, tol) << what;
}

// The closed form of SB's crop: dst = C_out + k R(-r) (src - c), k = out_w / (200 s).
Point2 closed_form(Point2 c, double s, double rot_deg, int out_w, int out_h, Point2 p) {
  const double k = out_w / (s * 200.0), r = -rot_deg * M_PI / 180.0;
  const double dx = p.x - c.x, dy = p.y - c.y;
  return {out_w / 2.0 + k * (dx * std::cos(r) - dy * std::sin(r)), out_h / 2.0 + k * (dx * std::sin(r) + dy * std::cos(r))};
}

TEST(Affine, MatchesSimpleBaselinesClosedForm) {
  Generator g(5);
  for (int t = 0; t < 50; ++t) {
    const Point2 c{g.uniform(0, 1000), g.uniform(0, 700)};
    const double s = g.uniform(0.5, 6), r = g.uniform(-60, 60);
    const int ow = t % 2 ? 256 : 192, oh = 256;
    const Affine2x3 m = eval::get_affine_transform(c, {s, s}, r, ow, oh);
    expect_point_near(m.apply(c), {ow / 2.0, oh / 2.0}, 1e-9);
    for (int k = 0; k < 5; ++k) {
      const Point2 p{g.uniform(-100, 1100), g.uniform(-100, 800)};
      expect_point_near(m.apply(p), closed_form(c, s, r, ow, oh, p), 1e-7);
    }
    // inverse=true is the inverse map.
    const Affine2x3 inv = eval::get_affine_transform(c, {s, s}, r, ow, oh, true);
    const Point2 q{g.uniform(0, ow), g.uniform(0, oh)};
    expect_point_near(m.apply(inv.apply(q)), q, 1e-7);
    expect_point_near(m.inverse().apply(q), inv.apply(q), 1e-7);
  }
  // Unrotated: the top-middle of the box maps to the output's top-middle.
  const Affine2x3 m = eval::get_affine_transform({100, 100}, {1.0, 1.0}, 0.0, 64, 64);
  expect_point_near(m.apply({100, 0}), {32, 0}, 1e-12);
  // SB's rotation sense: +90 degrees brings the point right of the center to the top.
  expect_point_near(eval::get_affine_transform({100, 100}, {1.0, 1.0}, 90.0, 64, 64).apply({200, 100}), {32, 0}, 1e-9);
}

TEST(Affine, FromPointsRecoversAMap) {
  const Affine2x3 truth{{1.5, -0.3, 7, 0.2, 0.9, -4}};
  std::array<Point2, 3> src{{{0, 0}, {10, 3}, {-4, 8}}}, dst;
  for (int i = 0; i < 3; ++i) dst[size_t(i)] = truth.apply(src[size_t(i)]);
  const Affine2x3 m = eval::affine_from_points(src, dst);
  for (int i = 0; i < 6; ++i) EXPECT_NEAR(m.m[size_t(i)], truth.m[size_t(i)], 1e-12);
  EXPECT_THROW(eval::affine_from_points({{{0, 0}, {1, 1}, {2, 2}}}, dst), Error);
  EXPECT_THROW(eval::get_affine_transform({0, 0}, {-1.0, -1.0}, 0, 64, 64), Error);
}

TEST(Augment, DrawsFollowTheRecipe) {
  AugmentConfig cfg;
  Generator g(11);
  int rotated = 0, flipped = 0, clipped_scale = 0;
  const int n = 4000;
  for (int i = 0; i < n; ++i) {
    AugmentParams p = draw_augmentation(cfg, g);
    EXPECT_GE(p.scale_multiplier, 0.75);
    EXPECT_LE(p.scale_multiplier, 1.25);
    EXPECT_GE(p.rotation_deg, -60.0);
    EXPECT_LE(p.rotation_deg, 60.0);
    rotated += p.rotation_deg != 0;
    flipped += p.flip;
    clipped_scale += p.scale_multiplier == 0.75 || p.scale_multiplier == 1.25;
  }
  EXPECT_NEAR(rotated / double(n), 0.6, 0.03);
  EXPECT_NEAR(flipped / double(n), 0.5, 0.03);
  EXPECT_NEAR(clipped_scale / double(n), 2 * 0.1587, 0.03);  // P(|N(0,1)| > 1)
  // The same stream gives the same draws.
  Generator a(3), b(3);
  for (int i = 0; i < 10; ++i) {
    AugmentParams x = draw_augmentation(cfg, a), y = draw_augmentation(cfg, b);
    EXPECT_EQ(x.scale_multiplier, y.scale_multiplier);
    EXPECT_EQ(x.rotation_deg, y.rotation_deg);
    EXPECT_EQ(x.flip, y.flip);
  }
  cfg.flip = false;
  Generator c(3);
  for (int i = 0; i < 100; ++i) EXPECT_FALSE(draw_augmentation(cfg, c).flip);
}

Sample toy_sample() {
  Sample s;
  s.center = {40, 30};
  s.scale = 0.3;  // a 60-px box
  for (int j = 0; j < kNumJoints; ++j) {
    s.joints[size_t(j)] = {20.0 + 2.5 * j, 10.0 + 1.5 * j};
    s.weight[size_t(j)] = j == kRAnkle ? 1.0f : (j == kLAnkle ? 0.0f : 1.0f);
  }
  return s;
}

// A textured test image: every pixel distinct enough to detect shifts.
Image toy_image(int w, int h) {
  Image im(w, h);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      uint8_t* p = im.at(x, y);
      p[0] = uint8_t(x * 3 + y), p[1] = uint8_t(y * 5 + x * x), p[2] = uint8_t((x * y) & 255);
    }
  return im;
}

// Bilinear sample with zero outside, written independently of augment.cpp.
double sample_channel(const Image& im, double x, double y, int c) {
  const int x0 = int(std::floor(x)), y0 = int(std::floor(y));
  double v = 0;
  for (int dy = 0; dy <= 1; ++dy)
    for (int dx = 0; dx <= 1; ++dx) {
      const int xi = x0 + dx, yi = y0 + dy;
      const double w = (dx ? x - x0 : 1 - (x - x0)) * (dy ? y - y0 : 1 - (y - y0));
      if (xi >= 0 && yi >= 0 && xi < im.width && yi < im.height) v += w * im.at(xi, yi)[c];
    }
  return v;
}

TEST(Augment, WarpIsBilinearWithZeroPaddingAndNormalised) {
  const Image im = toy_image(80, 60);
  CropConfig cfg;
  cfg.input_width = cfg.input_height = 48;
  const Affine2x3 m = eval::get_affine_transform({40, 30}, {0.35, 0.35}, 17.0, 48, 48);
  std::vector<float> out(48 * 48 * 3);
  warp_normalized(im, m, cfg, out.data());
  const Affine2x3 inv = m.inverse();
  for (int y = 0; y < 48; y += 3)
    for (int x = 0; x < 48; x += 5) {
      const Point2 src = inv.apply({double(x), double(y)});
      for (int c = 0; c < 3; ++c) {
        const double expect = (sample_channel(im, src.x, src.y, c) / 255.0 - cfg.mean[size_t(c)]) / cfg.std[size_t(c)];
        EXPECT_NEAR(out[(size_t(y) * 48 + size_t(x)) * 3 + size_t(c)], expect, 1e-4) << x << "," << y;
      }
    }
  // Far outside the image: the normalised value of black.
  const Affine2x3 away = eval::get_affine_transform({1000, 1000}, {0.1, 0.1}, 0, 48, 48);
  warp_normalized(im, away, cfg, out.data());
  EXPECT_NEAR(out[0], -cfg.mean[0] / cfg.std[0], 1e-6);
}

TEST(Augment, FlipMirrorsAndSwapsJoints) {
  const Sample s = toy_sample();
  const Image im = toy_image(80, 60);
  CropConfig cfg;
  cfg.input_width = cfg.input_height = 64;
  AugmentParams plain, flip;
  flip.flip = true;
  const CropResult a = crop_geometry(s, im.width, plain, cfg);
  const CropResult b = crop_geometry(s, im.width, flip, cfg);
  for (int j = 0; j < kNumJoints; ++j) {
    const int p = flip_partner(j);
    // The crop of the mirrored image (x -> W - 1 - x, center mirrored too)
    // is the mirror of the plain crop about the input's center line.
    expect_point_near(b.joints[size_t(j)], {64.0 - a.joints[size_t(p)].x, a.joints[size_t(p)].y}, 1e-9, joint_name(j));
    EXPECT_EQ(b.weight[size_t(j)], a.weight[size_t(p)]);
  }
  EXPECT_EQ(b.weight[kRAnkle], 0.0f);  // the left ankle (weight 0) became the right one
  EXPECT_EQ(b.weight[kLAnkle], 1.0f);
  // Pixels: flipped output at x equals the plain output at 64 - x.
  std::vector<float> pa(64 * 64 * 3), pb(64 * 64 * 3);
  warp_normalized(im, a.image_to_input, cfg, pa.data());
  warp_normalized(im, b.image_to_input, cfg, pb.data());
  for (int y = 0; y < 64; y += 7)
    for (int x = 1; x < 64; ++x)
      for (int c = 0; c < 3; ++c)
        EXPECT_NEAR(pb[(size_t(y) * 64 + size_t(x)) * 3 + size_t(c)], pa[(size_t(y) * 64 + size_t(64 - x)) * 3 + size_t(c)], 1e-4);
}

TEST(Augment, ScaleAndRotationEnterTheAffine) {
  const Sample s = toy_sample();
  CropConfig cfg;
  AugmentParams p;
  p.scale_multiplier = 1.2;
  p.rotation_deg = -25;
  const CropResult r = crop_geometry(s, 80, p, cfg);
  EXPECT_DOUBLE_EQ(r.scale, 0.3 * 1.2);
  for (int j = 0; j < kNumJoints; ++j)
    expect_point_near(r.joints[size_t(j)], closed_form(s.center, 0.36, -25, 256, 256, s.joints[size_t(j)]), 1e-7);
  cfg.drop_joints_outside_input = true;
  Sample far = s;
  far.joints[kHeadTop] = {1000, 1000};
  EXPECT_EQ(crop_geometry(far, 80, p, cfg).weight[kHeadTop], 0.0f);
}

TEST(Augment, EvalCropOfRealMpiiPeoplePutsJointsWhereTheAffineSays) {
  const auto dir = shared_data_dir() / "mpii";
  if (!std::filesystem::exists(dir / "annot" / "valid_sample.json")) GTEST_SKIP() << "no MPII sample in " << dir;
  Dataset d = load_mpii_json(dir / "annot" / "valid_sample.json", dir / "images");
  CropConfig cfg;
  for (const Sample& s : d.samples) {
    const Image im = read_image(s.image);
    const CropResult r = crop_geometry(s, im.width, AugmentParams{}, cfg);
    std::vector<float> out(256 * 256 * 3);
    warp_normalized(im, r.image_to_input, cfg, out.data());
    for (int j = 0; j < kNumJoints; ++j) {
      if (s.weight[size_t(j)] == 0) continue;
      const Point2 q = r.joints[size_t(j)];
      expect_point_near(q, closed_form(s.center, s.scale, 0, 256, 256, s.joints[size_t(j)]), 1e-6, joint_name(j));
      // The annotated joints lie in the crop (1.25x padded person box).
      EXPECT_GT(q.x, 0);
      EXPECT_LT(q.x, 256);
      EXPECT_GT(q.y, 0);
      EXPECT_LT(q.y, 256);
      // The crop's pixel at the joint is the image's pixel at the joint.
      const int xi = int(std::lround(q.x)), yi = int(std::lround(q.y));
      const Point2 src = r.image_to_input.inverse().apply({double(xi), double(yi)});
      for (int c = 0; c < 3; ++c) {
        const double expect = (sample_channel(im, src.x, src.y, c) / 255.0 - cfg.mean[size_t(c)]) / cfg.std[size_t(c)];
        EXPECT_NEAR(out[(size_t(yi) * 256 + size_t(xi)) * 3 + size_t(c)], expect, 1e-4);
      }
    }
  }
}

// ---------------------------------------------------------------- targets

std::vector<std::vector<float>> targets_for(const Joints& joints, const JointWeights& w, const std::vector<double>& sigmas,
                                            const HeatmapGeometry& g, JointWeights& weight_out) {
  std::vector<std::vector<float>> maps(sigmas.size(), std::vector<float>(size_t(g.heatmap_width * g.heatmap_height * kNumJoints)));
  std::vector<float*> ptrs;
  for (auto& m : maps) ptrs.push_back(m.data());
  gaussian_targets(joints, w, sigmas, g, ptrs, weight_out.data());
  return maps;
}

TEST(Targets, SimpleBaselinesGaussian) {
  HeatmapGeometry g;  // 256 -> 64
  Joints joints{};
  JointWeights w{};
  joints[0] = {101.0, 57.9};  // mu = (int(25.25 + .5), int(14.475 + .5)) = (25, 14)
  w[0] = 1;
  joints[1] = {-30.0, 100.0};  // mu_x = trunc(-7.5 + .5) = -7: window [-13, -1], fully outside
  w[1] = 1;
  joints[2] = {-26.0, 100.0};  // mu_x = -6: window [-12, 0] touches column 0
  w[2] = 1;
  joints[3] = {100, 100};  // unlabelled
  JointWeights wo{};
  auto maps = targets_for(joints, w, {2.0}, g, wo);
  const auto& m = maps[0];
  auto at = [&](int x, int y, int j) { return m[(size_t(y) * 64 + size_t(x)) * kNumJoints + size_t(j)]; };
  EXPECT_EQ(wo[0], 1.0f);
  EXPECT_EQ(wo[1], 0.0f);
  EXPECT_EQ(wo[2], 1.0f);
  EXPECT_EQ(wo[3], 0.0f);
  EXPECT_EQ(at(25, 14, 0), 1.0f);
  int nonzero = 0;
  for (int y = 0; y < 64; ++y)
    for (int x = 0; x < 64; ++x) {
      const float v = at(x, y, 0);
      if (v > 0) ++nonzero;
      const bool inside = std::abs(x - 25) <= 6 && std::abs(y - 14) <= 6;
      const double expect = inside ? std::exp(-((x - 25.0) * (x - 25) + (y - 14.0) * (y - 14)) / 8.0) : 0.0;
      EXPECT_FLOAT_EQ(v, float(expect));
      EXPECT_EQ(at(x, y, 1), 0.0f);
      EXPECT_EQ(at(x, y, 3), 0.0f);
    }
  EXPECT_EQ(nonzero, 13 * 13);  // 6 sigma + 1
  EXPECT_FLOAT_EQ(at(0, 25, 2), float(std::exp(-36.0 / 8.0)));
  EXPECT_EQ(at(1, 25, 2), 0.0f);
}

TEST(Targets, SeveralSigmasInOneCallEqualSeparateCalls) {
  HeatmapGeometry g{128, 96, 32, 24};
  Joints joints{};
  JointWeights w{};
  Generator gen(2);
  for (int j = 0; j < kNumJoints; ++j) {
    joints[size_t(j)] = {gen.uniform(-20, 140), gen.uniform(-20, 110)};
    w[size_t(j)] = j % 5 ? 1.0f : 0.0f;
  }
  JointWeights all{}, w3{}, w2{};
  auto maps = targets_for(joints, w, {3.0, 2.5, 2.0}, g, all);
  auto m3 = targets_for(joints, w, {3.0}, g, w3);
  auto m2 = targets_for(joints, w, {2.0}, g, w2);
  EXPECT_EQ(all, w2);  // the smallest window decides
  for (int j = 0; j < kNumJoints; ++j) {
    if (all[size_t(j)] == 0) continue;
    for (size_t i = size_t(j); i < maps[0].size(); i += kNumJoints) {
      EXPECT_EQ(maps[0][i], m3[0][i]);
      EXPECT_EQ(maps[2][i], m2[0][i]);
    }
  }
  // sigma 2.5: radius floor(7.5) = 7, a 15 x 15 window.
  Joints one{};
  JointWeights ow{};
  one[0] = {64, 48};
  ow[0] = 1;
  JointWeights tmp{};
  auto m25 = targets_for(one, ow, {2.5}, g, tmp);
  int nz = 0;
  for (size_t i = 0; i < m25[0].size(); i += kNumJoints) nz += m25[0][i] > 0;
  EXPECT_EQ(nz, 15 * 15);
}

TEST(Targets, SigmaSchedule) {
  const SigmaSchedule a = SigmaSchedule::arithmetic(3, 3.0);
  ASSERT_EQ(a.start.size(), 3u);
  EXPECT_DOUBLE_EQ(a.start[0], 3.0);
  EXPECT_DOUBLE_EQ(a.start[1], 2.5);
  EXPECT_DOUBLE_EQ(a.start[2], 2.0);
  EXPECT_EQ(SigmaSchedule::arithmetic(1, 3.0).start, std::vector<double>{2.0});
  EXPECT_EQ(SigmaSchedule::constant(2, 3.0).at_epoch(7), (std::vector<double>{3.0, 3.0}));
  SigmaSchedule d = a;
  d.end = {2.0, 2.0, 2.0};
  d.epochs = 11;
  EXPECT_EQ(d.at_epoch(0), a.start);
  const auto mid = d.at_epoch(5);
  EXPECT_DOUBLE_EQ(mid[0], 2.5);
  EXPECT_DOUBLE_EQ(mid[1], 2.25);
  EXPECT_EQ(d.at_epoch(10), d.end);
  EXPECT_EQ(d.at_epoch(50), d.end);
  d.end = {2.0};
  EXPECT_THROW(d.validate(), Error);
  EXPECT_THROW(SigmaSchedule::constant(1, -1.0), Error);
}

}  // namespace
}  // namespace posenet::train
