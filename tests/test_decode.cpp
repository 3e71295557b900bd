#include <cmath>
#include <numbers>

#include "eval/decode.h"
#include "eval/geometry.h"
#include "test_util.h"

namespace posenet {
namespace {

using eval::Point2;

// A zero [n, h, w, j] float32 heatmap tensor with a setter.
struct Maps {
  Tensor t;
  int64_t h, w, j;
  Maps(int64_t n, int64_t h_, int64_t w_, int64_t j_) : t(Tensor::zeros({n, h_, w_, j_})), h(h_), w(w_), j(j_) {}
  float& at(int64_t b, int64_t y, int64_t x, int64_t c) { return t.data<float>()[((b * h + y) * w + x) * j + c]; }
};

TEST(Decode, ArgmaxTakesFirstPeakAndZeroesNonPositive) {
  Maps m(1, 6, 8, 3);
  m.at(0, 2, 5, 0) = 0.7f;
  m.at(0, 4, 1, 0) = 0.7f;  // same value later in row-major order: not taken
  m.at(0, 3, 6, 1) = 0.2f;
  for (int y = 0; y < 6; ++y)
    for (int x = 0; x < 8; ++x) m.at(0, y, x, 2) = -1.0f - float(x);  // all negative
  const auto d = eval::argmax_joints(m.t);
  EXPECT_EQ(d.at(0, 0).x, 5.0);
  EXPECT_EQ(d.at(0, 0).y, 2.0);
  EXPECT_FLOAT_EQ(d.maxval(0, 0), 0.7f);
  EXPECT_EQ(d.at(0, 1).x, 6.0);
  EXPECT_EQ(d.at(0, 1).y, 3.0);
  EXPECT_EQ(d.at(0, 2).x, 0.0);
  EXPECT_EQ(d.at(0, 2).y, 0.0);
  EXPECT_FLOAT_EQ(d.maxval(0, 2), -1.0f);
}

TEST(Decode, QuarterOffsetMovesTowardsTheHigherNeighbour) {
  Maps m(2, 10, 10, 2);
  // Joint 0: right and upper neighbours higher.
  m.at(0, 4, 5, 0) = 1.0f;
  m.at(0, 4, 6, 0) = 0.5f;
  m.at(0, 4, 4, 0) = 0.2f;
  m.at(0, 3, 5, 0) = 0.6f;
  m.at(0, 5, 5, 0) = 0.1f;
  // Joint 1: left and lower neighbours higher.
  m.at(0, 6, 3, 1) = 1.0f;
  m.at(0, 6, 2, 1) = 0.4f;
  m.at(0, 7, 3, 1) = 0.4f;
  // Person 1, joint 0: equal horizontal neighbours (x stays), lower neighbour higher (y moves down).
  m.at(1, 5, 5, 0) = 1.0f;
  m.at(1, 5, 4, 0) = 0.3f;
  m.at(1, 5, 6, 0) = 0.3f;
  m.at(1, 6, 5, 0) = 0.2f;
  const auto d = eval::decode_quarter_offset(m.t);
  EXPECT_DOUBLE_EQ(d.at(0, 0).x, 5.25);
  EXPECT_DOUBLE_EQ(d.at(0, 0).y, 3.75);
  EXPECT_DOUBLE_EQ(d.at(0, 1).x, 2.75);
  EXPECT_DOUBLE_EQ(d.at(0, 1).y, 6.25);
  EXPECT_DOUBLE_EQ(d.at(1, 0).x, 5.0);   // sign(0) = 0
  EXPECT_DOUBLE_EQ(d.at(1, 0).y, 5.25);
}

TEST(Decode, QuarterOffsetBorderRule) {
  // Shifts apply only when 1 < px < W-1 and 1 < py < H-1 (strict).
  auto decode_peak = [](int x, int y) {
    Maps m(1, 8, 8, 1);
    m.at(0, y, x, 0) = 1.0f;
    if (x + 1 < 8) m.at(0, y, x + 1, 0) = 0.5f;
    if (y + 1 < 8) m.at(0, y + 1, x, 0) = 0.5f;
    return eval::decode_quarter_offset(m.t).at(0, 0);
  };
  Point2 p = decode_peak(1, 4);  // px = 1: not > 1
  EXPECT_DOUBLE_EQ(p.x, 1.0);
  EXPECT_DOUBLE_EQ(p.y, 4.0) << "both axes are skipped together";
  p = decode_peak(2, 4);
  EXPECT_DOUBLE_EQ(p.x, 2.25);
  EXPECT_DOUBLE_EQ(p.y, 4.25);
  p = decode_peak(6, 6);  // W-2: still inside
  EXPECT_DOUBLE_EQ(p.x, 6.25);
  EXPECT_DOUBLE_EQ(p.y, 6.25);
  p = decode_peak(7, 4);  // W-1: outside
  EXPECT_DOUBLE_EQ(p.x, 7.0);
  EXPECT_DOUBLE_EQ(p.y, 4.0);
  p = decode_peak(4, 0);
  EXPECT_DOUBLE_EQ(p.x, 4.0);
  EXPECT_DOUBLE_EQ(p.y, 0.0);
}

TEST(Decode, SecondMaximumRules) {
  eval::SecondMaxOptions quarter{eval::SecondMaxRule::kQuarterTowardsSecond, 0, 10};
  eval::SecondMaxOptions paper{eval::SecondMaxRule::kPaperMix, 0, 10};
  Maps m(1, 12, 12, 3);
  m.at(0, 5, 5, 0) = 1.0f;  // second maximum to the right
  m.at(0, 5, 6, 0) = 0.9f;
  m.at(0, 5, 4, 0) = 0.5f;
  m.at(0, 5, 5, 1) = 1.0f;  // second maximum on the diagonal
  m.at(0, 6, 6, 1) = 0.9f;
  m.at(0, 5, 5, 2) = 1.0f;  // second maximum far away (2 rows up, 4 columns left)
  m.at(0, 3, 1, 2) = 0.8f;
  auto q = eval::decode_second_max(m.t, quarter);
  EXPECT_DOUBLE_EQ(q.at(0, 0).x, 5.25);
  EXPECT_DOUBLE_EQ(q.at(0, 0).y, 5.0);
  EXPECT_NEAR(q.at(0, 1).x, 5.0 + 0.25 / std::sqrt(2.0), 1e-12);
  EXPECT_NEAR(q.at(0, 1).y, 5.0 + 0.25 / std::sqrt(2.0), 1e-12);
  const double len = std::sqrt(4.0 * 4.0 + 2.0 * 2.0);
  EXPECT_NEAR(q.at(0, 2).x, 5.0 - 0.25 * 4.0 / len, 1e-12);  // always a quarter pixel, whatever the distance
  EXPECT_NEAR(q.at(0, 2).y, 5.0 - 0.25 * 2.0 / len, 1e-12);
  EXPECT_FLOAT_EQ(q.maxval(0, 0), 1.0f);
  auto p = eval::decode_second_max(m.t, paper);
  EXPECT_DOUBLE_EQ(p.at(0, 0).x, 5.75);
  EXPECT_DOUBLE_EQ(p.at(0, 1).x, 5.75);
  EXPECT_DOUBLE_EQ(p.at(0, 1).y, 5.75);
  EXPECT_DOUBLE_EQ(p.at(0, 2).x, 0.25 * 5 + 0.75 * 1);
  EXPECT_DOUBLE_EQ(p.at(0, 2).y, 0.25 * 5 + 0.75 * 3);
  EXPECT_FLOAT_EQ(p.maxval(0, 0), 0.9f) << "raw value at the rounded position (6, 5)";
}

TEST(Decode, SecondMaximumRulesHaveCommandLineNames) {
  EXPECT_EQ(eval::parse_second_max_rule("mspn"), eval::SecondMaxRule::kQuarterTowardsSecond);
  EXPECT_EQ(eval::parse_second_max_rule("paper"), eval::SecondMaxRule::kPaperMix);
  EXPECT_STREQ(eval::second_max_rule_name(eval::SecondMaxRule::kQuarterTowardsSecond), "mspn");
  EXPECT_STREQ(eval::second_max_rule_name(eval::SecondMaxRule::kPaperMix), "paper");
  try {
    eval::parse_second_max_rule("average");
    ADD_FAILURE() << "an unknown rule must be refused";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("average"), std::string::npos) << e.what();
  }
}

TEST(Decode, SecondMaximumWithBlurAndBorders) {
  eval::SecondMaxOptions blur{eval::SecondMaxRule::kQuarterTowardsSecond, 9, 10};
  Maps m(1, 16, 16, 2);
  // After the 9x9 blur the maximum stays at (7, 8) and the neighbour towards
  // the weaker second peak at (9, 8) becomes the second maximum.
  m.at(0, 8, 7, 0) = 1.0f;
  m.at(0, 8, 9, 0) = 0.3f;
  // A lone peak in the corner: after the blur its second maximum lies in the
  // zero padding (outside the map); the result is clamped into the map.
  m.at(0, 0, 0, 1) = 1.0f;
  const auto d = eval::decode_second_max(m.t, blur);
  EXPECT_DOUBLE_EQ(d.at(0, 0).x, 7.25);
  EXPECT_DOUBLE_EQ(d.at(0, 0).y, 8.0);
  EXPECT_DOUBLE_EQ(d.at(0, 1).x, 0.0);
  EXPECT_DOUBLE_EQ(d.at(0, 1).y, 0.0);
  // OpenCV's kernels for sigma <= 0: the fixed small ones, and sigma = 1.7 for k = 9.
  EXPECT_EQ(eval::opencv_gaussian_kernel(3), (std::vector<double>{0.25, 0.5, 0.25}));
  const auto k9 = eval::opencv_gaussian_kernel(9);
  double sum = 0;
  for (double v : k9) sum += v;
  EXPECT_NEAR(sum, 1.0, 1e-15);
  EXPECT_NEAR(k9[4] / k9[3], std::exp(1.0 / (2 * 1.7 * 1.7)), 1e-12);
  EXPECT_THROW(eval::opencv_gaussian_kernel(4), Error);
}

TEST(Geometry, AffineTransformMatchesClosedFormAndInverts) {
  const Point2 c{310.0, 215.0}, s{1.6, 1.6};  // src box 320 px
  // Rotation 0 onto 64 x 64: k = 64 / 320 = 0.2.
  auto t = eval::get_affine_transform(c, s, 0.0, 64, 64);
  Point2 q = t.apply(c);
  EXPECT_NEAR(q.x, 32.0, 1e-12);
  EXPECT_NEAR(q.y, 32.0, 1e-12);
  q = t.apply({c.x + 160.0, c.y - 160.0});
  EXPECT_NEAR(q.x, 64.0, 1e-12);
  EXPECT_NEAR(q.y, 0.0, 1e-12);
  // Rotation 30 degrees onto 256 x 192: dst = C + k R(-r) (src - c), k = 256 / 320.
  const double r = 30.0 * std::numbers::pi / 180.0, k = 256.0 / 320.0;
  t = eval::get_affine_transform(c, s, 30.0, 256, 192);
  const auto inv = eval::get_affine_transform(c, s, 30.0, 256, 192, /*inverse=*/true);
  for (Point2 src : {Point2{0, 0}, Point2{400.5, 17.25}, Point2{-30, 999}}) {
    const double dx = src.x - c.x, dy = src.y - c.y;
    const Point2 expected{128.0 + k * (std::cos(r) * dx + std::sin(r) * dy),
                          96.0 + k * (-std::sin(r) * dx + std::cos(r) * dy)};
    const Point2 got = t.apply(src);
    EXPECT_NEAR(got.x, expected.x, 1e-9);
    EXPECT_NEAR(got.y, expected.y, 1e-9);
    const Point2 back = inv.apply(got);
    EXPECT_NEAR(back.x, src.x, 1e-9);
    EXPECT_NEAR(back.y, src.y, 1e-9);
    const Point2 back2 = t.inverse().apply(got);
    EXPECT_NEAR(back2.x, src.x, 1e-9);
    EXPECT_NEAR(back2.y, src.y, 1e-9);
  }
  // shift moves the source centre by shift * scale * 200.
  t = eval::get_affine_transform(c, s, 0.0, 64, 64, false, {0.1, -0.05});
  q = t.apply({c.x + 32.0, c.y - 16.0});
  EXPECT_NEAR(q.x, 32.0, 1e-12);
  EXPECT_NEAR(q.y, 32.0, 1e-12);
  EXPECT_THROW(eval::get_affine_transform(c, {0.0, 0.0}, 0.0, 64, 64), Error);
}

TEST(Geometry, FlipAndCompositionApplyInOrder) {
  const auto flip = eval::Affine2x3::horizontal_flip(100);
  Point2 q = flip.apply({0, 7});
  EXPECT_EQ(q.x, 99.0);
  EXPECT_EQ(q.y, 7.0);
  q = flip.apply({99, 3});
  EXPECT_EQ(q.x, 0.0);
  const eval::Affine2x3 shift{{1, 0, 5, 0, 1, -2}}, stretch{{2, 0, 0, 0, 3, 0}};
  q = shift.then(stretch).apply({1, 1});  // stretch(shift(p))
  EXPECT_EQ(q.x, 12.0);
  EXPECT_EQ(q.y, -3.0);
  q = stretch.then(shift).apply({1, 1});  // shift(stretch(p))
  EXPECT_EQ(q.x, 7.0);
  EXPECT_EQ(q.y, 1.0);
  const auto crop = eval::get_affine_transform({40, 30}, {0.5, 0.5}, 20.0, 64, 48);
  const auto both = flip.then(crop);
  for (Point2 p : {Point2{0, 0}, Point2{12.5, 80}, Point2{-3, 4}}) {
    const Point2 expected = crop.apply(flip.apply(p)), got = both.apply(p);
    EXPECT_NEAR(got.x, expected.x, 1e-12);
    EXPECT_NEAR(got.y, expected.y, 1e-12);
    const Point2 back = both.inverse().apply(got);
    EXPECT_NEAR(back.x, p.x, 1e-9);
    EXPECT_NEAR(back.y, p.y, 1e-9);
  }
  EXPECT_THROW((eval::Affine2x3{{1, 2, 0, 2, 4, 0}}.inverse()), Error);
}

TEST(Geometry, HeatmapPointsMapBackToTheImage) {
  // Scale 2.5 (incl. the 1.25 enlargement) = 500 px box onto a 64 x 64 heatmap:
  // x_img = c + (x_hm - 32) * 500 / 64, as SB's transform_preds.
  const Point2 c{500.0, 300.0}, s{2.5, 2.5};
  for (Point2 hm : {Point2{32, 32}, Point2{0, 0}, Point2{16.25, 47.75}}) {
    const Point2 img = eval::crop_to_image(hm, c, s, 64, 64);
    EXPECT_NEAR(img.x, c.x + (hm.x - 32.0) * 500.0 / 64.0, 1e-9);
    EXPECT_NEAR(img.y, c.y + (hm.y - 32.0) * 500.0 / 64.0, 1e-9);
  }
  Maps m(2, 64, 64, 1);
  m.at(0, 40, 20, 0) = 1.0f;
  m.at(1, 10, 50, 0) = 1.0f;
  auto d = eval::argmax_joints(m.t);
  eval::to_image_coordinates(d, {c, {100.0, 80.0}}, {s, {1.0, 1.0}}, 64, 64);
  EXPECT_NEAR(d.at(0, 0).x, 500.0 + (20 - 32) * 500.0 / 64, 1e-9);
  EXPECT_NEAR(d.at(0, 0).y, 300.0 + (40 - 32) * 500.0 / 64, 1e-9);
  EXPECT_NEAR(d.at(1, 0).x, 100.0 + (50 - 32) * 200.0 / 64, 1e-9);
  EXPECT_NEAR(d.at(1, 0).y, 80.0 + (10 - 32) * 200.0 / 64, 1e-9);
  EXPECT_THROW(eval::to_image_coordinates(d, {c}, {s}, 64, 64), Error);
  EXPECT_THROW(eval::to_mpii_predictions(d), Error) << "pred.mat needs 16 joints";
  Maps all(1, 64, 64, 16);
  for (int j = 0; j < 16; ++j) all.at(0, 2 + j, 3 * j, j) = 1.0f;
  auto d16 = eval::argmax_joints(all.t);
  eval::to_image_coordinates(d16, {c}, {s}, 64, 64);
  const auto preds = eval::to_mpii_predictions(d16);
  ASSERT_EQ(preds.size(), 1u);
  EXPECT_NEAR(preds[0][7].x, 500.0 + (21 - 32) * 500.0 / 64 + 1.0, 1e-9) << "1-based";
  EXPECT_NEAR(preds[0][7].y, 300.0 + (9 - 32) * 500.0 / 64 + 1.0, 1e-9);
}

TEST(Decode, FlipSwapsPairsAndMirrors) {
  Maps m(1, 4, 6, 16);
  m.at(0, 1, 1, 0) = 1.0f;   // right ankle at x = 1
  m.at(0, 2, 0, 9) = 0.5f;   // head top (no pair) at x = 0
  m.at(0, 3, 5, 13) = 0.25f; // left shoulder at x = 5
  const Tensor f = eval::flip_heatmaps(m.t);
  auto at = [&](const Tensor& t, int y, int x, int c) { return t.data<float>()[(y * 6 + x) * 16 + c]; };
  EXPECT_EQ(at(f, 1, 4, 5), 1.0f) << "right ankle becomes left ankle at W-1-x";
  EXPECT_EQ(at(f, 1, 4, 0), 0.0f);
  EXPECT_EQ(at(f, 2, 5, 9), 0.5f);
  EXPECT_EQ(at(f, 3, 0, 12), 0.25f);
  EXPECT_TENSOR_NEAR(eval::flip_heatmaps(f), m.t, 1e-12, 0.0);
  // Shift right by one: column 0 kept, column x takes column x - 1.
  const Tensor s = eval::shift_heatmaps_right(m.t);
  EXPECT_EQ(at(s, 1, 2, 0), 1.0f);
  EXPECT_EQ(at(s, 1, 1, 0), 0.0f);
  EXPECT_EQ(at(s, 2, 0, 9), 0.5f);
  EXPECT_EQ(at(s, 2, 1, 9), 0.5f);
}

TEST(Decode, FlipTestOfSymmetricHeatmaps) {
  // A left/right symmetric scene: each joint's blob mirrors its pair's, and
  // unpaired joints sit on symmetric columns. Its flipped output is itself.
  const int W = 9;
  Maps m(1, 5, W, 16);
  for (auto [a, b] : eval::mpii_flip_pairs()) {
    m.at(0, 2, 2, a) = 1.0f;
    m.at(0, 2, 1, a) = 0.5f;
    m.at(0, 2, W - 1 - 2, b) = 1.0f;
    m.at(0, 2, W - 1 - 1, b) = 0.5f;
  }
  for (int c : {6, 7, 8, 9}) {
    m.at(0, 1, 4, c) = 1.0f;
    m.at(0, 1, 3, c) = 0.25f;
    m.at(0, 1, 5, c) = 0.25f;
  }
  const Tensor flipped_input_output = eval::flip_heatmaps(m.t);  // what the net gives for the mirrored image
  EXPECT_TENSOR_NEAR(flipped_input_output, m.t, 1e-12, 0.0);
  // Without the shift the average is the map itself.
  EXPECT_TENSOR_NEAR(eval::flip_test_average(m.t, flipped_input_output, /*shift=*/false), m.t, 1e-12, 0.0);
  // With SB's shift: (map + map shifted right by one) / 2.
  const Tensor avg = eval::flip_test_average(m.t, flipped_input_output, /*shift=*/true);
  auto at = [&](const Tensor& t, int y, int x, int c) { return t.data<float>()[(y * W + x) * 16 + c]; };
  EXPECT_FLOAT_EQ(at(avg, 2, 2, 0), 0.5f * (1.0f + 0.5f));
  EXPECT_FLOAT_EQ(at(avg, 2, 3, 0), 0.5f * (0.0f + 1.0f));
  EXPECT_FLOAT_EQ(at(avg, 1, 4, 9), 0.5f * (1.0f + 0.25f));
  EXPECT_FLOAT_EQ(at(avg, 1, 5, 9), 0.5f * (0.25f + 1.0f));
  // The unshifted average decodes to the symmetric peaks.
  const auto d = eval::decode_quarter_offset(eval::flip_test_average(m.t, flipped_input_output, false));
  EXPECT_DOUBLE_EQ(d.at(0, 9).x, 4.0);
  EXPECT_DOUBLE_EQ(d.at(0, 0).x + d.at(0, 5).x, double(W - 1)) << "mirror images about the centre column";
}

TEST(Decode, AcceptsFloat64AndRejectsWrongRank) {
  Tensor t = Tensor::zeros({1, 5, 5, 1}, DType::F64);
  t.data<double>()[2 * 5 + 3] = 2.0;
  const auto d = eval::argmax_joints(t);
  EXPECT_EQ(d.at(0, 0).x, 3.0);
  EXPECT_EQ(d.at(0, 0).y, 2.0);
  EXPECT_THROW(eval::argmax_joints(Tensor::zeros({5, 5, 1})), Error);
  EXPECT_THROW(eval::flip_heatmaps(Tensor::zeros({1, 2, 2, 3}), {{0, 3}}), Error);
}

}  // namespace
}  // namespace posenet
