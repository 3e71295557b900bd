// The synthetic data a `--data synthetic` run renders into <out>/synthetic,
// rendered once and reused by later runs and resumes.
#pragma once
#include <filesystem>

#include "train/config.h"

namespace posenet::train {

// Renders the synthetic data set into dir unless a complete one is there.
void ensure_synthetic_data(const std::filesystem::path& dir, const TrainConfig& config);

}  // namespace posenet::train
