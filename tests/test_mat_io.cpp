#include <cstring>
#include <fstream>

#include "eval/mat_io.h"
#include "mat5_test_writer.h"
#include "test_util.h"

namespace posenet {
namespace {

using eval::GroundTruth;
using eval::Predictions;
namespace mat5 = testing::mat5;

// Runs fn, expects an InputError whose message names the file and holds every
// fragment.
template <typename Fn>
void expect_input_error(Fn&& fn, const std::filesystem::path& file, std::vector<std::string> fragments) {
  try {
    fn();
    ADD_FAILURE() << "no error for " << file;
  } catch (const InputError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(file.string()), std::string::npos) << msg;
    for (const auto& f : fragments) EXPECT_NE(msg.find(f), std::string::npos) << "'" << f << "' not in: " << msg;
  }
}

GroundTruth small_ground_truth() {
  GroundTruth gt;
  for (int i = 0; i < 3; ++i) {
    std::array<eval::Point2, 16> joints{};
    std::array<bool, 16> missing{};
    for (int j = 0; j < 16; ++j) {
      joints[j] = {100.5 + 10 * i + j, 200.25 - 3 * i + 0.5 * j};
      missing[j] = (i + j) % 5 == 0;
      if (missing[j]) joints[j] = {0, 0};
    }
    gt.joints.push_back(joints);
    gt.missing.push_back(missing);
    gt.headboxes.push_back({10.0 + i, 20.0, 50.5, 70.0 + i});
  }
  return gt;
}

TEST(MatIo, ReadsSharedMpiiGroundTruth) {
  const auto path = testing::shared_data_dir() / "mpii/annot/gt_valid.mat";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << "MPII ground truth not found at " << path;
  const GroundTruth gt = eval::read_ground_truth_mat(path);
  ASSERT_EQ(gt.size(), 2958u);
  // Person 0's head box is (914, 79)-(1031, 237) (stored with float noise).
  EXPECT_NEAR(gt.headboxes[0].x1, 914.0, 1e-3);
  EXPECT_NEAR(gt.headboxes[0].y1, 79.0, 1e-3);
  EXPECT_NEAR(gt.headboxes[0].x2, 1031.0, 1e-3);
  EXPECT_NEAR(gt.headboxes[0].y2, 237.0, 1e-3);
  // Visible joints per joint over the split, as counted from the file by
  // the standard tooling (rank ... lwri).
  const long expected[16] = {2115, 2485, 2889, 2888, 2478, 2119, 2878, 2932,
                             2932, 2932, 2928, 2935, 2944, 2944, 2932, 2909};
  for (int j = 0; j < 16; ++j) {
    long visible = 0;
    for (size_t i = 0; i < gt.size(); ++i) visible += gt.missing[i][j] ? 0 : 1;
    EXPECT_EQ(visible, expected[j]) << "joint " << j;
  }
}

TEST(MatIo, GroundTruthWriteReadRoundTrip) {
  const auto dir = testing::temp_dir("mat_gt");
  const GroundTruth gt = small_ground_truth();
  eval::write_ground_truth_mat(dir / "gt.mat", gt);
  EXPECT_FALSE(std::filesystem::exists(dir / "gt.mat.tmp"));
  const GroundTruth back = eval::read_ground_truth_mat(dir / "gt.mat");
  ASSERT_EQ(back.size(), gt.size());
  for (size_t i = 0; i < gt.size(); ++i) {
    for (int j = 0; j < 16; ++j) {
      EXPECT_EQ(back.joints[i][j].x, gt.joints[i][j].x);
      EXPECT_EQ(back.joints[i][j].y, gt.joints[i][j].y);
      EXPECT_EQ(back.missing[i][j], gt.missing[i][j]);
    }
    EXPECT_EQ(back.headboxes[i].x1, gt.headboxes[i].x1);
    EXPECT_EQ(back.headboxes[i].y1, gt.headboxes[i].y1);
    EXPECT_EQ(back.headboxes[i].x2, gt.headboxes[i].x2);
    EXPECT_EQ(back.headboxes[i].y2, gt.headboxes[i].y2);
  }
}

TEST(MatIo, DescribesTheVariablesOfAWrittenGroundTruthFile) {
  const auto dir = testing::temp_dir("mat_describe");
  eval::write_ground_truth_mat(dir / "gt.mat", small_ground_truth());
  const auto vars = eval::describe_mat_file(dir / "gt.mat");
  const size_t n = small_ground_truth().size();
  ASSERT_EQ(vars.size(), 4u);
  EXPECT_EQ(vars[0].name, "dataset_joints");
  EXPECT_EQ(vars[0].class_name, "cell");
  EXPECT_EQ(vars[0].dims, (std::vector<size_t>{1, 16}));
  EXPECT_EQ(vars[1].name, "jnt_missing");
  EXPECT_EQ(vars[1].class_name, "uint8");
  EXPECT_EQ(vars[1].dims, (std::vector<size_t>{16, n}));
  EXPECT_EQ(vars[2].name, "pos_gt_src");
  EXPECT_EQ(vars[2].class_name, "double");
  EXPECT_EQ(vars[2].dims, (std::vector<size_t>{16, 2, n}));
  EXPECT_EQ(vars[3].name, "headboxes_src");
  EXPECT_EQ(vars[3].class_name, "double");
  EXPECT_EQ(vars[3].dims, (std::vector<size_t>{2, 2, n}));
  EXPECT_THROW(eval::describe_mat_file(dir / "absent.mat"), InputError);
}

TEST(MatIo, ReadsHandWrittenGroundTruthIncludingSinglePerson) {
  const auto dir = testing::temp_dir("mat_gt_hand");
  mat5::write(dir / "gt.mat", mat5::ground_truth_vars(2));
  GroundTruth gt = eval::read_ground_truth_mat(dir / "gt.mat");
  ASSERT_EQ(gt.size(), 2u);
  EXPECT_EQ(gt.joints[1][7].x, 17.0);
  EXPECT_EQ(gt.joints[1][7].y, 27.0);
  EXPECT_EQ(gt.headboxes[1].x2, 30.0);
  EXPECT_EQ(gt.headboxes[1].y2, 40.0);
  // MATLAB drops trailing singleton dimensions: one person is 16x1, 16x2, 2x2.
  auto vars = mat5::ground_truth_vars(1);
  vars[1].dims = {16, 1};
  vars[2].dims = {16, 2};
  vars[3].dims = {2, 2};
  mat5::write(dir / "one.mat", vars);
  EXPECT_EQ(eval::read_ground_truth_mat(dir / "one.mat").size(), 1u);
}

TEST(MatIo, PredictionsWriteReadRoundTripAndLayout) {
  const auto dir = testing::temp_dir("mat_pred");
  Predictions preds(3);
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 16; ++j) preds[i][j] = {1.5 + i * 100 + j, 2.25 + i * 100 - j};
  eval::write_predictions_mat(dir / "pred.mat", preds);
  const Predictions back = eval::read_predictions_mat(dir / "pred.mat");
  ASSERT_EQ(back.size(), 3u);
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 16; ++j) {
      EXPECT_EQ(back[i][j].x, preds[i][j].x);
      EXPECT_EQ(back[i][j].y, preds[i][j].y);
    }
  // Byte-level check of what scipy.io.savemat writes for an (N,16,2) double
  // array: a v5 header, then one miMATRIX named "preds" of class double with
  // dims [3, 16, 2] and the values in column-major order.
  const auto b = mat5::read_bytes(dir / "pred.mat");
  ASSERT_GE(b.size(), 128u + 8);
  EXPECT_EQ(std::string(b.begin(), b.begin() + 6), "MATLAB");
  EXPECT_EQ(b[124] | (b[125] << 8), 0x0100);
  EXPECT_EQ(b[126], 'I');
  EXPECT_EQ(b[127], 'M');
  auto u32 = [&](size_t off) { uint32_t v; std::memcpy(&v, &b[off], 4); return v; };
  EXPECT_EQ(u32(128), uint32_t(mat5::kMiMatrix));
  EXPECT_EQ(u32(136), uint32_t(mat5::kMiUint32));   // array flags
  EXPECT_EQ(u32(144) & 0xff, uint32_t(mat5::kDouble));
  EXPECT_EQ(u32(152), uint32_t(mat5::kMiInt32));    // dimensions
  EXPECT_EQ(u32(156), 12u);
  EXPECT_EQ(u32(160), 3u);
  EXPECT_EQ(u32(164), 16u);
  EXPECT_EQ(u32(168), 2u);
  // The name element may use the small (packed) format: type|size<<16, "preds".
  const bool small = (u32(176) >> 16) != 0;
  const size_t name_at = small ? 180 : 184;
  EXPECT_EQ(std::string(b.begin() + long(name_at), b.begin() + long(name_at) + 5), "preds");
  const size_t data_tag = small ? 184 : 192;
  EXPECT_EQ(u32(data_tag), uint32_t(mat5::kMiDouble));
  EXPECT_EQ(u32(data_tag + 4), 3u * 16 * 2 * 8);
  double first[2];
  std::memcpy(first, &b[data_tag + 8], 16);
  EXPECT_EQ(first[0], preds[0][0].x);  // (0, 0, x)
  EXPECT_EQ(first[1], preds[1][0].x);  // (1, 0, x): N varies fastest
}

TEST(MatIo, ReadsSinglePrecisionPredictions) {
  const auto dir = testing::temp_dir("mat_pred_single");
  mat5::Var v{"preds", mat5::kSingle, {2, 16, 2}, std::vector<double>(64), {}, {}};
  for (size_t k = 0; k < v.values.size(); ++k) v.values[k] = 0.5 * double(k);
  mat5::write(dir / "pred.mat", {v});
  const Predictions p = eval::read_predictions_mat(dir / "pred.mat");
  ASSERT_EQ(p.size(), 2u);
  EXPECT_EQ(p[1][3].x, 0.5 * (1 + 2 * 3));            // (1, 3, 0)
  EXPECT_EQ(p[1][3].y, 0.5 * (1 + 2 * (3 + 16 * 1)));  // (1, 3, 1)
}

TEST(MatIo, MalformedPredictionsNameTheFile) {
  const auto dir = testing::temp_dir("mat_pred_bad");
  expect_input_error([&] { eval::read_predictions_mat(dir / "absent.mat"); }, dir / "absent.mat", {"no such file"});

  std::ofstream(dir / "text.mat") << "this is not a MAT file at all, just some text long enough to look like one "
                                     "if the reader only checked the size of the header ................................";
  expect_input_error([&] { eval::read_predictions_mat(dir / "text.mat"); }, dir / "text.mat", {"MAT"});
  std::ofstream(dir / "empty.mat").close();
  expect_input_error([&] { eval::read_predictions_mat(dir / "empty.mat"); }, dir / "empty.mat", {});

  mat5::write(dir / "other.mat", {mat5::Var{"predictions", mat5::kDouble, {1, 16, 2}, std::vector<double>(32), {}, {}}});
  expect_input_error([&] { eval::read_predictions_mat(dir / "other.mat"); }, dir / "other.mat",
                     {"missing variable 'preds'", "predictions"});

  mat5::write(dir / "shape.mat", {mat5::Var{"preds", mat5::kDouble, {4, 14, 2}, std::vector<double>(112), {}, {}}});
  expect_input_error([&] { eval::read_predictions_mat(dir / "shape.mat"); }, dir / "shape.mat",
                     {"'preds'", "4x14x2", "Nx16x2"});

  mat5::write(dir / "class.mat", {mat5::Var{"preds", mat5::kUint8, {1, 16, 2}, std::vector<double>(32), {}, {}}});
  expect_input_error([&] { eval::read_predictions_mat(dir / "class.mat"); }, dir / "class.mat", {"uint8", "double"});

  // A valid file cut in the middle of its data.
  Predictions preds(50);
  eval::write_predictions_mat(dir / "full.mat", preds);
  auto bytes = mat5::read_bytes(dir / "full.mat");
  bytes.resize(bytes.size() / 2);
  std::ofstream(dir / "cut.mat", std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), long(bytes.size()));
  expect_input_error([&] { eval::read_predictions_mat(dir / "cut.mat"); }, dir / "cut.mat", {"truncated"});
  // A ground truth whose last variable loses its last 8 bytes.
  mat5::write(dir / "gt_full.mat", mat5::ground_truth_vars(3));
  auto gt_bytes = mat5::read_bytes(dir / "gt_full.mat");
  gt_bytes.resize(gt_bytes.size() - 8);
  std::ofstream(dir / "gt_cut.mat", std::ios::binary)
      .write(reinterpret_cast<const char*>(gt_bytes.data()), long(gt_bytes.size()));
  expect_input_error([&] { eval::read_ground_truth_mat(dir / "gt_cut.mat"); }, dir / "gt_cut.mat", {"truncated"});
}

TEST(MatIo, MalformedGroundTruthNamesFileAndVariable) {
  const auto dir = testing::temp_dir("mat_gt_bad");
  auto write_variant = [&](const std::string& name, auto&& edit) {
    auto vars = mat5::ground_truth_vars(3);
    edit(vars);
    mat5::write(dir / name, vars);
    return dir / name;
  };
  auto missing = write_variant("missing.mat", [](auto& v) { v.erase(v.begin() + 3); });
  expect_input_error([&] { eval::read_ground_truth_mat(missing); }, missing,
                     {"missing variable 'headboxes_src'", "jnt_missing"});

  auto shape = write_variant("shape.mat", [](auto& v) {
    v[2].dims = {16, 3, 2};
    v[2].values.resize(96);
  });
  expect_input_error([&] { eval::read_ground_truth_mat(shape); }, shape, {"'pos_gt_src'", "16x3x2", "16x2xN"});

  auto count = write_variant("count.mat", [](auto& v) {
    v[3].dims = {2, 2, 2};
    v[3].values.resize(8);
  });
  expect_input_error([&] { eval::read_ground_truth_mat(count); }, count, {"person counts disagree", "headboxes_src"});

  auto cls = write_variant("class.mat", [](auto& v) {
    v[1] = mat5::Var{"jnt_missing", mat5::kChar, {16, 3}, {}, std::string(48, 'a'), {}};
  });
  expect_input_error([&] { eval::read_ground_truth_mat(cls); }, cls, {"'jnt_missing'", "char", "numeric"});

  auto names = write_variant("names.mat", [](auto& v) { std::swap(v[0].cells[0], v[0].cells[5]); });
  expect_input_error([&] { eval::read_ground_truth_mat(names); }, names, {"'dataset_joints'", "lank", "rank"});

  auto flags = write_variant("flags.mat", [](auto& v) { v[1].values[5] = 2; });
  expect_input_error([&] { eval::read_ground_truth_mat(flags); }, flags, {"'jnt_missing'", "0 or 1"});
}

}  // namespace
}  // namespace posenet
