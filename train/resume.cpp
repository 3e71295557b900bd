#include "train/resume.h"

#include <iostream>

#include "core/error.h"
#include "train/loader.h"

namespace posenet::train {

namespace fs = std::filesystem;

namespace {

fs::path last_checkpoint_in(const fs::path& out_dir) { return out_dir / "last.safetensors"; }

// The random streams must continue as they started: an explicit other seed
// is an error (not an override, which would silently stop the run being
// the one it continues), and so is a checkpoint of another RNG scheme.
void check_rng_record(const Checkpoint& ck, const TrainConfig& now) {
  if (now.seed_given && now.seed != ck.config.seed)
    throw InputError(detail::concat(ck.path.string(), ": the run was trained with --seed ", ck.config.seed,
                                    " but --resume was given --seed ", now.seed,
                                    "; the loader's random streams are keyed by the seed, so the run cannot continue "
                                    "under another one (drop --seed, or start a new run with another --out)"));
  if (ck.rng && ck.rng->scheme != kRngScheme)
    throw InputError(detail::concat(ck.path.string(), ": written with the random-number scheme '", ck.rng->scheme,
                                    "', this build uses '", kRngScheme, "': resuming would not replay the same batches"));
}

// Runtime settings a resumed run may change; everything else comes from
// the checkpoint so the run continues as it started.
void take_runtime_settings(TrainConfig& stored, const TrainConfig& now) {
  stored.device = now.device;
  stored.workers = now.workers;
  stored.progress = now.progress;
  stored.out = now.out;
  stored.stop_after = now.stop_after;
  stored.resume = true;
}

}  // namespace

void refuse_to_overwrite_a_run(const fs::path& out_dir) {
  if (fs::exists(last_checkpoint_in(out_dir)))
    throw InputError(out_dir.string() + " already holds a training run (last.safetensors): pass --resume to continue "
                     "it, or choose another --out");
}

Checkpoint read_resume_checkpoint(const fs::path& out_dir) {
  const fs::path last = last_checkpoint_in(out_dir);
  if (!fs::exists(last))
    throw InputError(last.string() + ": nothing to resume (no checkpoint in " + out_dir.string() + ")");
  Checkpoint ck = read_checkpoint(last);
  if (!ck.has_config) throw InputError(last.string() + ": not a posenet training checkpoint (no training config)");
  return ck;
}

TrainConfig resumed_config(const Checkpoint& checkpoint, const TrainConfig& now) {
  check_rng_record(checkpoint, now);
  TrainConfig config = checkpoint.config;
  take_runtime_settings(config, now);
  return config;
}

void warn_if_training_set_changed(const Checkpoint& checkpoint, size_t train_samples) {
  if (checkpoint.rng && checkpoint.rng->train_samples != int64_t(train_samples))
    std::cerr << "posenet: warning: " << checkpoint.path.string() << " was trained on "
              << checkpoint.rng->train_samples << " samples, the training set now has " << train_samples
              << ": the augmentation and order of the remaining batches differ from the uninterrupted run's\n";
}

}  // namespace posenet::train
