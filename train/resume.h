// Resume policy: which checkpoint a run continues from, and which of the
// command line's settings a continued run takes.
//
// Settings that only steer how the run goes on (epochs, learning rate and its
// schedule, workers, device, progress, stop-after, save and validation
// settings) may change: each change takes effect and is logged. Settings the
// run's weights, data order or targets depend on (model, data, seed, sigmas,
// batch size, input size, augmentation, optimizer) may not: a different
// value given with --resume is refused, naming the option and both values.
#pragma once
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "train/checkpoint.h"
#include "train/config.h"

namespace posenet::train {

// A new run into a folder that holds one is refused (naming --resume).
void refuse_to_overwrite_a_run(const std::filesystem::path& out_dir);

// <out_dir>/last.safetensors with its training config; InputError when there
// is nothing to resume or the file is not a training checkpoint.
Checkpoint read_resume_checkpoint(const std::filesystem::path& out_dir);

// One setting a resumed run changed.
struct SettingChange {
  std::string option;  // the config key ("lr", "epochs", ...)
  nlohmann::json old_value, new_value;
  nlohmann::json to_log_record() const;  // {"type": "resume_change", "option", "old", "new"}
};

struct ResumedConfig {
  TrainConfig config;
  std::vector<SettingChange> changes;
};

// The config the continued run trains with: the checkpoint's, with the
// settings of `now` that may change taken over. A setting that may not
// change given with another value (a seed other than the run's included) is
// an InputError, and so is a checkpoint of another RNG scheme.
ResumedConfig resumed_config(const Checkpoint& checkpoint, const TrainConfig& now);

// The loader's streams are keyed by the training-set size: a warning when it
// changed since the checkpoint.
void warn_if_training_set_changed(const Checkpoint& checkpoint, size_t train_samples);

}  // namespace posenet::train
