// The PCKh ground truth (eval::GroundTruth, what gt_valid.mat holds) of
// training samples. Written and read by eval/mat_io.
#pragma once
#include <vector>

#include "eval/mat_io.h"
#include "train/dataset.h"

namespace posenet::train {

static_assert(kNumJoints == eval::kMpiiJointCount, "samples use the MPII joint order of gt_valid.mat");

// Samples hold 0-based pixels; the ground truth holds MATLAB's 1-based ones.
// Joints with weight 0 become missing and are stored as (0, 0), as in the
// real gt_valid.mat. Every sample needs a head box (the PCKh normaliser).
eval::GroundTruth ground_truth_from_samples(const std::vector<Sample>& samples);

}  // namespace posenet::train
