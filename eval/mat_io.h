// MATLAB .mat files of the standard MPII evaluation: the ground truth
// (gt_valid.mat) and the predictions (pred.mat): what the variables mean;
// eval/mat5.h does the byte-level reading and the atomic writing.
#pragma once
#include <array>
#include <filesystem>
#include <string>
#include <vector>

#include "eval/geometry.h"
#include "eval/mpii_joints.h"

namespace posenet::eval {

// The `dataset_joints` short names, in MPII joint order.
const std::array<std::string, kMpiiJointCount>& mpii_joint_short_names();

// The content of gt_valid.mat, one entry per person. Coordinates are MATLAB
// 1-based pixels; a missing joint is stored as (0, 0) with missing = true.
struct GroundTruth {
  std::vector<std::array<Point2, kMpiiJointCount>> joints;
  std::vector<std::array<bool, kMpiiJointCount>> missing;
  std::vector<HeadBox> headboxes;

  size_t size() const { return joints.size(); }
};

// Per person, 16 joints in MPII order, 1-based pixels (the pred.mat layout).
using Predictions = std::vector<std::array<Point2, kMpiiJointCount>>;

// Reads dataset_joints (1x16 cell of the standard names), jnt_missing (16xN),
// pos_gt_src (16x2xN) and headboxes_src (2x2xN). Any numeric class is
// accepted. Throws InputError naming the file and the variable on a missing
// variable, a wrong shape or class, an N mismatch, or an unreadable file.
GroundTruth read_ground_truth_mat(const std::filesystem::path& path);

// Writes the same four variables (MAT v5, uncompressed; jnt_missing as uint8,
// the rest double), so read_ground_truth_mat and scipy's loadmat read it back.
void write_ground_truth_mat(const std::filesystem::path& path, const GroundTruth& gt);

// One variable of a MATLAB file as its header describes it.
struct MatVariableInfo {
  std::string name;
  std::string class_name;  // "cell", "uint8", "double", "char", ...
  std::vector<size_t> dims;
};

// The variables of a MATLAB file, in file order (to compare a written file's
// layout with a reference one). Throws InputError naming the file when it
// cannot be read.
std::vector<MatVariableInfo> describe_mat_file(const std::filesystem::path& path);

// Reads `preds` (N x 16 x 2, double or single).
Predictions read_predictions_mat(const std::filesystem::path& path);

// Writes `preds` as an N x 16 x 2 double array (MAT v5), what
// scipy.io.savemat(path, {'preds': preds}) writes for preds.shape == (N,16,2).
void write_predictions_mat(const std::filesystem::path& path, const Predictions& preds);

}  // namespace posenet::eval
