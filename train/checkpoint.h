// Training checkpoints: one safetensors file holding the model's weights
// (PyTorch layouts and names, so the file is also a plain weights file),
// the optimizer state under "optimizer.", BN batch counters as I64, and in
// the metadata the training config, the model, and where the run stands
// (epoch, batch, global step, best PCKh). The loader's randomness is a pure
// function of (seed, epoch, sample), so those numbers are the whole RNG
// state; they are also stored explicitly under the "rng" key
// ({"seed", "epoch", "batch", "train_samples", "scheme"}), which resume
// checks: resuming replays exactly the batches an uninterrupted run would see.
//
// Files are written atomically (temporary file, fsync, rename): a crash or a
// full disk never leaves a truncated checkpoint in place of a good one.
#pragma once
#include <filesystem>
#include <map>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "core/tensor.h"
#include "eval/keypoint_set.h"
#include "kernels/optim.h"
#include "layers/module.h"
#include "models/pose_model.h"
#include "models/spec.h"
#include "train/config.h"

namespace posenet::train {

struct TrainingState {
  int64_t epoch = 0;        // the epoch in progress (or the next to run when batch == 0)
  int64_t batch = 0;        // the next batch of that epoch
  int64_t global_step = 0;  // optimizer steps taken
  // The best validation score so far (-1: none yet): Mean PCKh@0.5, or OKS
  // AP in percent for COCO keypoints.
  double best_score = -1.0;
  double last_loss = 0.0;
  int64_t train_samples = 0;  // training-set size: the augmentation stream is keyed by it
  int64_t world_size = 1;     // processes of the run (data parallel): a batch is world_size * batch_size samples
};

// The "rng" record: everything the run's random streams are derived from.
struct RngRecord {
  uint64_t seed = 0;
  int64_t epoch = 0, batch = 0;  // where the streams continue (equal to the progress record)
  int64_t train_samples = 0;
  std::string scheme;            // kRngScheme of the build that wrote it
};

void save_checkpoint(const std::filesystem::path& path, const Module& model, const Optimizer* optimizer,
                     const TrainConfig& config, const std::string& model_description, const TrainingState& state);

struct Checkpoint {
  std::filesystem::path path;
  std::map<std::string, Tensor> model_state;      // PyTorch names and layouts
  std::map<std::string, int64_t> counters;         // BN num_batches_tracked
  std::map<std::string, Tensor> optimizer_state;  // without the "optimizer." prefix
  std::map<std::string, std::string> metadata;
  bool has_config = false;
  TrainConfig config;  // valid when has_config
  TrainingState state;
  std::optional<RngRecord> rng;  // absent in checkpoints written before it was stored
};

// Reads a posenet checkpoint, or any safetensors weights file (then only
// model_state is filled). Errors name the file and the problem.
Checkpoint read_checkpoint(const std::filesystem::path& path);

// The model a training config describes (name plus size options; one
// heatmap per keypoint of config.keypoints).
models::ModelSpec model_spec_of(const TrainConfig& config);

// The keypoint set a checkpoint's model predicts (its config's; MPII for a
// plain weights file).
const eval::KeypointSet& keypoint_set_of(const Checkpoint& checkpoint);

// Rebuilds the model a posenet checkpoint was trained as, with its weights,
// in eval mode on `device`, each batch norm folded into the convolution
// before it (layers/fold_batch_norm.h).
std::shared_ptr<models::PoseModel> load_model_from_checkpoint(const Checkpoint& checkpoint, Device device);

// Loads model weights (strict: missing, unexpected and mis-shaped keys are
// all named in the error) and the BN counters.
void load_model_weights(Module& model, const Checkpoint& checkpoint);

}  // namespace posenet::train
