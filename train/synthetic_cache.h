// The synthetic data a `--data synthetic` run renders into <out>/synthetic,
// rendered once and reused by later runs and resumes. Its record
// (<dir>/.complete, JSON, written last) says what it was rendered with:
// count, seed, size and renderer version; data rendered with anything else
// is rendered again.
#pragma once
#include <filesystem>

#include <nlohmann/json.hpp>

#include "train/config.h"

namespace posenet::train {

// What a run with this config renders: {"count", "seed", "size", "renderer"}.
nlohmann::json synthetic_record(const TrainConfig& config);

// Renders the synthetic data set into dir unless a complete one with the
// same record is there.
void ensure_synthetic_data(const std::filesystem::path& dir, const TrainConfig& config);

}  // namespace posenet::train
