// Resume policy: which checkpoint a run continues from, and which of the
// command line's settings a continued run takes.
#pragma once
#include <filesystem>

#include "train/checkpoint.h"
#include "train/config.h"

namespace posenet::train {

// A new run into a folder that holds one is refused (naming --resume).
void refuse_to_overwrite_a_run(const std::filesystem::path& out_dir);

// <out_dir>/last.safetensors with its training config; InputError when there
// is nothing to resume or the file is not a training checkpoint.
Checkpoint read_resume_checkpoint(const std::filesystem::path& out_dir);

// The config the continued run trains with: the checkpoint's, with the
// settings a resumed run may change taken from `now`. A seed other than the
// run's, or a checkpoint of another RNG scheme, is refused.
TrainConfig resumed_config(const Checkpoint& checkpoint, const TrainConfig& now);

// The loader's streams are keyed by the training-set size: a warning when it
// changed since the checkpoint.
void warn_if_training_set_changed(const Checkpoint& checkpoint, size_t train_samples);

}  // namespace posenet::train
