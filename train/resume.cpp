#include "train/resume.h"

#include <iostream>
#include <set>

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

// Settings that steer only how the run goes on. The runtime ones are taken
// from the command line whether given or not (a resumed run starts on the
// default device unless told otherwise); the others only when given.
const std::set<std::string> kRuntimeSettings = {"device", "workers", "progress", "out", "stop_after",
                                                "collective_timeout", "cuda_graph"};
const std::set<std::string> kChangeableWhenGiven = {"epochs",   "lr",         "lr_steps",  "lr_factor",
                                                    "save_every", "max_steps", "val_every", "flip_test",
                                                    "val_data", "val_gt", "precision", "sync_bn"};
// Settings that are not the run's to compare: the seed has its own check.
const std::set<std::string> kNotCompared = {"resume", "seed"};

std::string option_name(std::string key) {
  for (char& c : key)
    if (c == '_') c = '-';
  return "--" + key;
}

std::string shown(const nlohmann::json& v) {
  if (!v.is_string()) return v.dump();
  std::string text = "'";  // appended, not "'" + s: GCC 12 warns falsely (-Wrestrict) on that
  text += v.get<std::string>();
  text += "'";
  return text;
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

nlohmann::json SettingChange::to_log_record() const {
  return {{"type", "resume_change"}, {"option", option}, {"old", old_value}, {"new", new_value}};
}

ResumedConfig resumed_config(const Checkpoint& checkpoint, const TrainConfig& now) {
  check_rng_record(checkpoint, now);
  nlohmann::json merged = checkpoint.config.to_json();
  const nlohmann::json wanted = now.to_json();
  ResumedConfig out;
  for (const auto& [key, value] : wanted.items()) {
    if (kNotCompared.count(key) || merged.value(key, nlohmann::json()) == value) continue;
    const bool given = now.given.count(key) > 0;
    if (kRuntimeSettings.count(key) || (given && kChangeableWhenGiven.count(key))) {
      out.changes.push_back({key, merged[key], value});
      merged[key] = value;
    } else if (given) {
      throw InputError(detail::concat(checkpoint.path.string(), ": the run was trained with ", option_name(key), " ",
                                      shown(merged[key]), " but --resume was given ", option_name(key), " ",
                                      shown(value), "; it cannot change in a resumed run (drop it, or start a "
                                      "new run with another --out)"));
    }
  }
  // TF32 is a CUDA math mode: a run trained with it continues in float32
  // when resumed on the CPU without another --precision.
  if (!now.given.count("precision") && merged.value("precision", "") == "tf32" &&
      merged.value("device", "cpu") == "cpu") {
    out.changes.push_back({"precision", merged["precision"], "fp32"});
    merged["precision"] = "fp32";
  }
  merged["resume"] = true;
  out.config = TrainConfig::from_json(merged, checkpoint.path.string());
  // "out" and the runtime settings do not describe the run: not logged as changes.
  std::erase_if(out.changes, [](const SettingChange& c) { return c.option == "out" || c.option == "progress"; });
  return out;
}

void warn_if_training_set_changed(const Checkpoint& checkpoint, size_t train_samples) {
  if (checkpoint.rng && checkpoint.rng->train_samples != int64_t(train_samples))
    std::cerr << "posenet: warning: " << checkpoint.path.string() << " was trained on "
              << checkpoint.rng->train_samples << " samples, the training set now has " << train_samples
              << ": the augmentation and order of the remaining batches differ from the uninterrupted run's\n";
}

}  // namespace posenet::train
