// Everything a training run is configured by. The CLI fills it from a
// config file (TOML, CLI11's config support) and command-line overrides;
// checkpoints store it as JSON so `--resume` and `eval` know the run.
#pragma once
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace posenet::train {

struct TrainConfig {
  // Model (models/spec.h names: tiny, hourglass:r50, multistage:r101,r50,r50, ...).
  std::string model = "tiny";
  int input_size = 0;            // input height (the side of a square input); 0 = the model's default
  int input_width = 0;           // input width; 0 = input_size (square). Stored with input_size as [H, W]
  // The keypoint set the model predicts (eval/keypoint_set.h names): the
  // first data set's (train/dataset.h), set by the trainer, not an option.
  // Stored so that a checkpoint of one set is never read as another.
  std::string keypoints = "mpii";
  double width = 0.0;            // encoder channel multiplier; 0 = the model's default
  int64_t decoder_channels = 0;  // 0 = the model's default
  bool tick = true, tock = true;  // multi-stage connections (ablation switches)
  std::string pretrained;         // ImageNet ResNet weights (safetensors) per encoder depth: "r101=PATH,r50=PATH" or one PATH
  std::string init_from;          // stage-by-stage growth: a smaller multi-stage checkpoint

  // Data. "synthetic" renders the built-in figures into <out>/synthetic.
  std::string data = "synthetic";  // dataset specs (train/dataset.h), ',' joins several
  std::string val_data;            // default: the valid split next to the first mpii: train spec
  std::string val_gt;              // gt_valid.mat of the validation split (PCKh)
  int synthetic_count = 3000;      // images rendered for data = synthetic (10 % validation)
  int synthetic_size = 128;
  bool skip_bad = false;           // log and skip bad annotations/images instead of stopping
  bool synthesize_midpoints = false;  // COCO/AIC: pelvis, thorax = hip/shoulder midpoints (else weight 0)

  // Optimisation: the standard MPII recipe by default.
  int epochs = 140;
  int batch_size = 32;
  std::string optimizer = "adam";  // adam | sgd
  double lr = 1e-3;
  std::vector<int> lr_steps{90, 120};
  double lr_factor = 0.1;
  double weight_decay = 0.0;
  double momentum = 0.9;           // sgd only
  std::vector<double> sigmas;      // per stage; empty = 2 for one stage, 3 .. 2 arithmetic for several
  std::vector<double> sigmas_final;  // optional: sigmas reached at the last epoch (linear decrease)
  double scale_factor = 0.25, rotation_factor = 30.0, rotation_prob = 0.6;
  bool flip = true;

  // Running.
  std::string device = "cpu";
  // bf16 | tf32 | fp32 (train/precision.h); empty = the device's default.
  std::string precision;
  // The training step captured once as a CUDA graph and replayed
  // (train/train_step.h); CUDA only, off by default.
  bool cuda_graph = false;
  int workers = 4;
  uint64_t seed = 0;
  // Set when the command line or config file gave seed (not stored): with
  // resume, a seed other than the checkpoint's is an error.
  bool seed_given = false;
  // The settings the command line or config file gave, by their to_json()
  // key (not stored): with resume, only these are compared with the run's.
  std::set<std::string> given;
  std::string out = "runs/default";
  bool resume = false;
  int save_every = 0;        // also checkpoint every N steps (0: at the end of each epoch only)
  int max_steps = 0;         // cap on steps per epoch (0: the whole epoch)
  int64_t stop_after = 0;    // stop as if interrupted after this global step (0: never); resumable
  int val_every = 1;         // validate every N epochs (0: never)
  bool flip_test = true;
  bool progress = true;      // progress bar on stderr
  // Data-parallel runs (mpirun; docs/distributed.md): batch_size is per process.
  bool sync_bn = false;               // batch-norm statistics over every process's batch
  double collective_timeout = 300.0;  // seconds a collective may wait before the run is aborted

  nlohmann::json to_json() const;
  // source names the file the JSON came from, for error messages.
  static TrainConfig from_json(const nlohmann::json& j, const std::string& source);
  void validate() const;  // throws posenet::InputError naming the bad setting
  // The per-stage sigmas for `stages` stages (the explicit list, or the default).
  std::vector<double> stage_sigmas(int stages) const;
  // The per-stage final sigmas (empty: constant sigmas); one value applies to
  // every stage. Independent of `sigmas`, whose defaults stage_sigmas supplies.
  std::vector<double> stage_sigmas_final(int stages) const;
};

// The most data-loading workers validate() accepts on this machine.
int max_workers();

}  // namespace posenet::train
