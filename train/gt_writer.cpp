#include "train/gt_writer.h"

#include <matio.h>

#include <memory>

#include "core/error.h"

namespace posenet::train {

namespace {

const char* const kMatJointNames[kNumJoints] = {"rank", "rkne", "rhip", "lhip", "lkne", "lank", "pelv", "thor",
                                                "neck", "head", "rwri", "relb", "rsho", "lsho", "lelb", "lwri"};

struct MatCloser {
  void operator()(mat_t* m) const { Mat_Close(m); }
};
struct VarFree {
  void operator()(matvar_t* v) const { Mat_VarFree(v); }
};
using MatFile = std::unique_ptr<mat_t, MatCloser>;
using MatVar = std::unique_ptr<matvar_t, VarFree>;

void write_var(mat_t* mat, matvar_t* var, const std::filesystem::path& path, const char* name) {
  PN_CHECK(var != nullptr, path.string(), ": cannot create MATLAB variable ", name);
  const int rc = Mat_VarWrite(mat, var, MAT_COMPRESSION_NONE);
  Mat_VarFree(var);
  PN_CHECK(rc == 0, path.string(), ": cannot write MATLAB variable ", name);
}

const char* class_name(matio_classes c) {
  switch (c) {
    case MAT_C_CELL: return "cell";
    case MAT_C_STRUCT: return "struct";
    case MAT_C_CHAR: return "char";
    case MAT_C_DOUBLE: return "double";
    case MAT_C_SINGLE: return "single";
    case MAT_C_INT8: return "int8";
    case MAT_C_UINT8: return "uint8";
    case MAT_C_INT16: return "int16";
    case MAT_C_UINT16: return "uint16";
    case MAT_C_INT32: return "int32";
    case MAT_C_UINT32: return "uint32";
    case MAT_C_INT64: return "int64";
    case MAT_C_UINT64: return "uint64";
    default: return "other";
  }
}

}  // namespace

void write_ground_truth_mat(const std::filesystem::path& path, const std::vector<GroundTruthPerson>& people) {
  const size_t n = people.size();
  MatFile mat(Mat_CreateVer(path.c_str(), nullptr, MAT_FT_MAT5));
  PN_CHECK(mat != nullptr, path.string(), ": cannot create MATLAB file");

  // dataset_joints: 1x16 cell of 1xL char arrays. The cell owns its
  // elements once set, so they are freed with it.
  {
    size_t dims[2] = {1, kNumJoints};
    matvar_t* cell = Mat_VarCreate("dataset_joints", MAT_C_CELL, MAT_T_CELL, 2, dims, nullptr, 0);
    PN_CHECK(cell != nullptr, path.string(), ": cannot create dataset_joints");
    for (int j = 0; j < kNumJoints; ++j) {
      size_t sdims[2] = {1, std::char_traits<char>::length(kMatJointNames[j])};
      matvar_t* s = Mat_VarCreate(nullptr, MAT_C_CHAR, MAT_T_UTF8, 2, sdims, const_cast<char*>(kMatJointNames[j]), 0);
      PN_CHECK(s != nullptr, path.string(), ": cannot create a joint name");
      Mat_VarSetCell(cell, j, s);
    }
    write_var(mat.get(), cell, path, "dataset_joints");
  }
  std::vector<uint8_t> missing(kNumJoints * n);
  std::vector<double> pos(kNumJoints * 2 * n, 0.0), boxes(4 * n);
  for (size_t p = 0; p < n; ++p) {
    const GroundTruthPerson& g = people[p];
    for (int j = 0; j < kNumJoints; ++j) {
      missing[p * kNumJoints + size_t(j)] = g.missing[size_t(j)] ? 1 : 0;
      if (!g.missing[size_t(j)]) {
        pos[p * kNumJoints * 2 + size_t(j)] = g.joints[size_t(j)].x;
        pos[p * kNumJoints * 2 + kNumJoints + size_t(j)] = g.joints[size_t(j)].y;
      }
    }
    boxes[p * 4 + 0] = g.head_top_left.x;
    boxes[p * 4 + 1] = g.head_bottom_right.x;
    boxes[p * 4 + 2] = g.head_top_left.y;
    boxes[p * 4 + 3] = g.head_bottom_right.y;
  }
  size_t dm[2] = {kNumJoints, n};
  write_var(mat.get(), Mat_VarCreate("jnt_missing", MAT_C_UINT8, MAT_T_UINT8, 2, dm, missing.data(), 0), path,
            "jnt_missing");
  size_t dp[3] = {kNumJoints, 2, n};
  write_var(mat.get(), Mat_VarCreate("pos_gt_src", MAT_C_DOUBLE, MAT_T_DOUBLE, 3, dp, pos.data(), 0), path,
            "pos_gt_src");
  size_t db[3] = {2, 2, n};
  write_var(mat.get(), Mat_VarCreate("headboxes_src", MAT_C_DOUBLE, MAT_T_DOUBLE, 3, db, boxes.data(), 0), path,
            "headboxes_src");
}

std::vector<GroundTruthPerson> ground_truth_from_samples(const std::vector<Sample>& samples) {
  std::vector<GroundTruthPerson> out(samples.size());
  for (size_t i = 0; i < samples.size(); ++i) {
    const Sample& s = samples[i];
    PN_CHECK(s.headbox.has_value(), s.source, ": entry ", s.source_index, " has no head box for the PCKh ground truth");
    for (int j = 0; j < kNumJoints; ++j) {
      out[i].missing[size_t(j)] = s.weight[size_t(j)] > 0 ? 0 : 1;
      out[i].joints[size_t(j)] = {s.joints[size_t(j)].x + 1, s.joints[size_t(j)].y + 1};
    }
    out[i].head_top_left = {s.headbox->top_left.x + 1, s.headbox->top_left.y + 1};
    out[i].head_bottom_right = {s.headbox->bottom_right.x + 1, s.headbox->bottom_right.y + 1};
  }
  return out;
}

std::vector<MatVariableInfo> describe_mat_file(const std::filesystem::path& path) {
  MatFile mat(Mat_Open(path.c_str(), MAT_ACC_RDONLY));
  if (!mat) throw InputError(detail::concat(path.string(), ": cannot open as a MATLAB file"));
  std::vector<MatVariableInfo> out;
  while (matvar_t* raw = Mat_VarReadNextInfo(mat.get())) {
    MatVar v(raw);
    MatVariableInfo info;
    info.name = v->name ? v->name : "";
    info.class_name = class_name(v->class_type);
    info.dims.assign(v->dims, v->dims + v->rank);
    out.push_back(std::move(info));
  }
  return out;
}

std::vector<GroundTruthPerson> read_ground_truth_mat(const std::filesystem::path& path) {
  MatFile mat(Mat_Open(path.c_str(), MAT_ACC_RDONLY));
  if (!mat) throw InputError(detail::concat(path.string(), ": cannot open as a MATLAB file"));
  auto read = [&](const char* name, matio_classes cls, int rank, size_t d1) {
    MatVar v(Mat_VarRead(mat.get(), name));
    if (!v) throw InputError(detail::concat(path.string(), ": no variable ", name));
    if (v->class_type != cls || v->rank != rank || v->dims[0] != d1 || (rank == 3 && v->dims[1] != 2))
      throw InputError(detail::concat(path.string(), ": variable ", name, " has an unexpected class or shape"));
    return v;
  };
  MatVar missing = read("jnt_missing", MAT_C_UINT8, 2, kNumJoints);
  MatVar pos = read("pos_gt_src", MAT_C_DOUBLE, 3, kNumJoints);
  MatVar boxes = read("headboxes_src", MAT_C_DOUBLE, 3, 2);
  const size_t n = missing->dims[1];
  if (pos->dims[2] != n || boxes->dims[2] != n)
    throw InputError(detail::concat(path.string(), ": variables disagree on the number of people"));
  const auto* m = static_cast<const uint8_t*>(missing->data);
  const auto* p = static_cast<const double*>(pos->data);
  const auto* b = static_cast<const double*>(boxes->data);
  std::vector<GroundTruthPerson> out(n);
  for (size_t i = 0; i < n; ++i) {
    for (int j = 0; j < kNumJoints; ++j) {
      out[i].missing[size_t(j)] = m[i * kNumJoints + size_t(j)];
      out[i].joints[size_t(j)] = {p[i * kNumJoints * 2 + size_t(j)], p[i * kNumJoints * 2 + kNumJoints + size_t(j)]};
    }
    out[i].head_top_left = {b[i * 4 + 0], b[i * 4 + 2]};
    out[i].head_bottom_right = {b[i * 4 + 1], b[i * 4 + 3]};
  }
  return out;
}

}  // namespace posenet::train
