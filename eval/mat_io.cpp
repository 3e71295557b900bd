#include "eval/mat_io.h"

#include <cstdint>
#include <vector>

#include "core/error.h"
#include "eval/mat5.h"

namespace posenet::eval {

const std::array<std::string, kMpiiJointCount>& mpii_joint_short_names() {
  static const std::array<std::string, kMpiiJointCount> names = {
      "rank", "rkne", "rhip", "lhip", "lkne", "lank", "pelv", "thor",
      "neck", "head", "rwri", "relb", "rsho", "lsho", "lelb", "lwri"};
  return names;
}

using namespace mat5;

namespace {

void check_joint_names(matvar_t* v, const std::filesystem::path& path) {
  const char* name = "dataset_joints";
  if (v->class_type != MAT_C_CELL)
    throw InputError(detail::concat(path.string(), ": variable '", name, "' is a ", class_name(v->class_type),
                                    " array, expected a 1x16 cell of joint names"));
  check_dims(v, path, name, {1, kMpiiJointCount}, "1x16");
  const auto& expected = mpii_joint_short_names();
  for (int j = 0; j < kMpiiJointCount; ++j) {
    const matvar_t* cell = Mat_VarGetCell(v, j);
    const std::string got = cell ? char_array_string(cell) : std::string();
    if (got != expected[j])
      throw InputError(detail::concat(path.string(), ": variable '", name, "' entry ", j, " is '", got,
                                      "', expected '", expected[j],
                                      "' (joints must be in the standard MPII order)"));
  }
}

}  // namespace

GroundTruth read_ground_truth_mat(const std::filesystem::path& path) {
  MatFile mat = open_for_reading(path);
  MatVar names = read_variable(mat.get(), path, "dataset_joints");
  MatVar missing = read_variable(mat.get(), path, "jnt_missing");
  MatVar pos = read_variable(mat.get(), path, "pos_gt_src");
  MatVar boxes = read_variable(mat.get(), path, "headboxes_src");
  check_joint_names(names.get(), path);
  check_dims(missing.get(), path, "jnt_missing", {kMpiiJointCount, -1}, "16xN");
  check_dims(pos.get(), path, "pos_gt_src", {kMpiiJointCount, 2, -1}, "16x2xN");
  check_dims(boxes.get(), path, "headboxes_src", {2, 2, -1}, "2x2xN");
  const size_t n = dim_or_one(missing.get(), 1);
  if (dim_or_one(pos.get(), 2) != n || dim_or_one(boxes.get(), 2) != n)
    throw InputError(detail::concat(path.string(), ": person counts disagree: jnt_missing has ", n,
                                    ", pos_gt_src has ", dim_or_one(pos.get(), 2), ", headboxes_src has ",
                                    dim_or_one(boxes.get(), 2)));
  const auto miss = numeric_values(missing.get(), path, "jnt_missing");
  const auto xy = numeric_values(pos.get(), path, "pos_gt_src");
  const auto hb = numeric_values(boxes.get(), path, "headboxes_src");

  GroundTruth gt;
  gt.joints.resize(n);
  gt.missing.resize(n);
  gt.headboxes.resize(n);
  for (size_t i = 0; i < n; ++i) {
    for (int j = 0; j < kMpiiJointCount; ++j) {
      const double m = miss[j + kMpiiJointCount * i];
      if (m != 0.0 && m != 1.0)
        throw InputError(detail::concat(path.string(), ": variable 'jnt_missing' holds ", m, " at joint ", j,
                                        " of person ", i, ", expected 0 or 1"));
      gt.missing[i][j] = m != 0.0;
      // column-major 16x2xN: (j, c, i) at j + 16 * (c + 2 * i)
      gt.joints[i][j] = {xy[j + kMpiiJointCount * (0 + 2 * i)], xy[j + kMpiiJointCount * (1 + 2 * i)]};
    }
    // column-major 2x2xN: (corner, coord, i) at corner + 2 * (coord + 2 * i)
    gt.headboxes[i] = {hb[0 + 2 * (0 + 2 * i)], hb[0 + 2 * (1 + 2 * i)], hb[1 + 2 * (0 + 2 * i)],
                       hb[1 + 2 * (1 + 2 * i)]};
  }
  return gt;
}

void write_ground_truth_mat(const std::filesystem::path& path, const GroundTruth& gt) {
  const size_t n = gt.size();
  PN_CHECK(gt.missing.size() == n && gt.headboxes.size() == n, path.string(),
           ": ground truth has inconsistent sizes (joints ", n, ", missing ", gt.missing.size(), ", headboxes ",
           gt.headboxes.size(), ")");
  std::vector<uint8_t> miss(kMpiiJointCount * n);
  std::vector<double> xy(kMpiiJointCount * 2 * n), hb(4 * n);
  for (size_t i = 0; i < n; ++i) {
    for (int j = 0; j < kMpiiJointCount; ++j) {
      miss[j + kMpiiJointCount * i] = gt.missing[i][j] ? 1 : 0;
      xy[j + kMpiiJointCount * (0 + 2 * i)] = gt.joints[i][j].x;
      xy[j + kMpiiJointCount * (1 + 2 * i)] = gt.joints[i][j].y;
    }
    hb[0 + 2 * (0 + 2 * i)] = gt.headboxes[i].x1;
    hb[0 + 2 * (1 + 2 * i)] = gt.headboxes[i].y1;
    hb[1 + 2 * (0 + 2 * i)] = gt.headboxes[i].x2;
    hb[1 + 2 * (1 + 2 * i)] = gt.headboxes[i].y2;
  }
  write_atomically(path, [&](mat_t* mat, const std::filesystem::path& file) {
    size_t cell_dims[2] = {1, kMpiiJointCount};
    MatVar cell(Mat_VarCreate("dataset_joints", MAT_C_CELL, MAT_T_CELL, 2, cell_dims, nullptr, 0));
    PN_CHECK(cell != nullptr, file.string(), ": cannot create variable 'dataset_joints'", matio_detail());
    for (int j = 0; j < kMpiiJointCount; ++j) {
      std::string name = mpii_joint_short_names()[j];
      size_t dims[2] = {1, name.size()};
      // Copied by matio (flag 0) and owned by the cell afterwards.
      matvar_t* s = Mat_VarCreate(nullptr, MAT_C_CHAR, MAT_T_UINT8, 2, dims, name.data(), 0);
      PN_CHECK(s != nullptr, file.string(), ": cannot create joint name '", name, "'", matio_detail());
      Mat_VarSetCell(cell.get(), j, s);
    }
    if (Mat_VarWrite(mat, cell.get(), MAT_COMPRESSION_NONE) != 0)
      throw Error(detail::concat(file.string(), ": cannot write variable 'dataset_joints'", matio_detail()));
    write_array(mat, file, "jnt_missing", MAT_C_UINT8, MAT_T_UINT8, {size_t(kMpiiJointCount), n}, miss.data());
    write_array(mat, file, "pos_gt_src", MAT_C_DOUBLE, MAT_T_DOUBLE, {size_t(kMpiiJointCount), 2, n}, xy.data());
    write_array(mat, file, "headboxes_src", MAT_C_DOUBLE, MAT_T_DOUBLE, {2, 2, n}, hb.data());
  });
}

std::vector<MatVariableInfo> describe_mat_file(const std::filesystem::path& path) {
  MatFile mat = open_for_reading(path);
  std::vector<MatVariableInfo> out;
  while (matvar_t* raw = Mat_VarReadNextInfo(mat.get())) {
    MatVar v(raw);
    out.push_back({v->name ? v->name : "", class_name(v->class_type), std::vector<size_t>(v->dims, v->dims + v->rank)});
  }
  return out;
}

Predictions read_predictions_mat(const std::filesystem::path& path) {
  MatFile mat = open_for_reading(path);
  MatVar var = read_variable(mat.get(), path, "preds");
  if (var->class_type != MAT_C_DOUBLE && var->class_type != MAT_C_SINGLE)
    throw InputError(detail::concat(path.string(), ": variable 'preds' is a ", class_name(var->class_type),
                                    " array, expected double or single"));
  if (var->rank != 3 || var->dims[1] != size_t(kMpiiJointCount) || var->dims[2] != 2)
    throw InputError(detail::concat(path.string(), ": variable 'preds' has shape ", dims_str(var.get()),
                                    ", expected Nx16x2"));
  const size_t n = var->dims[0];
  const auto v = numeric_values(var.get(), path, "preds");
  Predictions preds(n);
  for (size_t i = 0; i < n; ++i)
    for (int j = 0; j < kMpiiJointCount; ++j)
      // column-major Nx16x2: (i, j, c) at i + N * (j + 16 * c)
      preds[i][j] = {v[i + n * (j + kMpiiJointCount * 0)], v[i + n * (j + kMpiiJointCount * 1)]};
  return preds;
}

void write_predictions_mat(const std::filesystem::path& path, const Predictions& preds) {
  const size_t n = preds.size();
  std::vector<double> v(n * kMpiiJointCount * 2);
  for (size_t i = 0; i < n; ++i)
    for (int j = 0; j < kMpiiJointCount; ++j) {
      v[i + n * (j + kMpiiJointCount * 0)] = preds[i][j].x;
      v[i + n * (j + kMpiiJointCount * 1)] = preds[i][j].y;
    }
  write_atomically(path, [&](mat_t* mat, const std::filesystem::path& file) {
    write_array(mat, file, "preds", MAT_C_DOUBLE, MAT_T_DOUBLE, {n, size_t(kMpiiJointCount), 2}, v.data());
  });
}

}  // namespace posenet::eval
