// Writes the MPII PCKh ground truth file (gt_valid.mat, MATLAB v5) in the
// layout the standard evaluation reads, and describes the variables of a
// .mat file (to compare with the real one).
#pragma once
#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "train/dataset.h"

namespace posenet::train {

// Per person, in MATLAB's 1-based pixels.
struct GroundTruthPerson {
  std::array<Point2, kNumJoints> joints{};       // ignored where missing
  std::array<uint8_t, kNumJoints> missing{};     // 1 = not annotated
  Point2 head_top_left, head_bottom_right;       // PCKh normaliser: 0.6 x diagonal
};

// Variables (MATLAB column-major):
//   dataset_joints 1x16 cell of char names (rank rkne ... lwri),
//   jnt_missing    16xN uint8,
//   pos_gt_src     16x2xN double (missing joints stored as 0, 0),
//   headboxes_src  2x2xN double, [corner (ul, br), coord (x, y), person].
// Throws Error naming the file when it cannot be written.
void write_ground_truth_mat(const std::filesystem::path& path, const std::vector<GroundTruthPerson>& people);

// The ground truth of samples whose coordinates are 0-based (joints with
// weight 0 become missing); every sample needs a headbox.
std::vector<GroundTruthPerson> ground_truth_from_samples(const std::vector<Sample>& samples);

struct MatVariableInfo {
  std::string name;
  std::string class_name;  // "cell", "uint8", "double", "char", ...
  std::vector<size_t> dims;
};
// The variables of a MATLAB file, in file order. Throws InputError naming
// the file when it cannot be read.
std::vector<MatVariableInfo> describe_mat_file(const std::filesystem::path& path);
// Reads back a ground truth file written in the layout above.
std::vector<GroundTruthPerson> read_ground_truth_mat(const std::filesystem::path& path);

}  // namespace posenet::train
