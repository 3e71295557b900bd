// Probes and housekeeping of a run's output folder, done before any data is
// read or rendered.
#pragma once
#include <filesystem>

namespace posenet::train {

// Creates the folder when needed and checks that a file can be written in
// it; InputError naming the folder otherwise.
void check_writable_directory(const std::filesystem::path& dir);

// A run killed while writing a checkpoint, pred_valid.mat or config.json
// leaves its hidden temporary file; the file itself is intact. Removes them.
void remove_stale_temporaries(const std::filesystem::path& dir);

}  // namespace posenet::train
