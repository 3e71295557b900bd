#include "train/checkpoint.h"

#include "core/error.h"
#include "core/rng.h"
#include "core/safetensors.h"
#include "layers/fold_batch_norm.h"
#include "train/loader.h"

namespace posenet::train {

namespace {
const std::string kOptimizerPrefix = "optimizer.";
const std::string kFormat = "posenet-checkpoint/1";
}  // namespace

void save_checkpoint(const std::filesystem::path& path, const Module& model, const Optimizer* optimizer,
                     const TrainConfig& config, const std::string& model_description, const TrainingState& state) {
  std::map<std::string, Tensor> tensors = model.state_dict();
  if (optimizer) {
    for (auto& [name, t] : optimizer->state()) tensors.emplace(kOptimizerPrefix + name, t);
  }
  std::map<std::string, safetensors::RawTensor> counters;
  for (const auto& [name, value] : model.named_counters()) {
    safetensors::RawTensor raw{"I64", {}, std::vector<uint8_t>(8)};
    for (int i = 0; i < 8; ++i) raw.bytes[size_t(i)] = uint8_t(uint64_t(*value) >> (8 * i));
    counters.emplace(name, std::move(raw));
  }
  nlohmann::json progress = {{"epoch", state.epoch},
                             {"batch", state.batch},
                             {"global_step", state.global_step},
                             {"best_score", state.best_score},
                             {"last_loss", state.last_loss},
                             {"world_size", state.world_size}};
  const nlohmann::json rng = {{"seed", config.seed},
                              {"epoch", state.epoch},
                              {"batch", state.batch},
                              {"train_samples", state.train_samples},
                              {"scheme", kRngScheme}};
  std::map<std::string, std::string> metadata = {{"format", "pt"},
                                                 {"posenet", kFormat},
                                                 {"model", model_description},
                                                 {"config", config.to_json().dump()},
                                                 {"progress", progress.dump()},
                                                 {"rng", rng.dump()}};
  safetensors::save(path, tensors, metadata, counters);
}

Checkpoint read_checkpoint(const std::filesystem::path& path) {
  if (!std::filesystem::exists(path)) throw InputError(path.string() + ": checkpoint file does not exist");
  auto file = safetensors::File::read(path);
  Checkpoint ck;
  ck.path = path;
  ck.metadata = file.metadata();
  for (const auto& e : file.entries()) {
    if (e.dtype == "I64" && e.numel() == 1) {
      uint64_t v = 0;
      for (int i = 7; i >= 0; --i) v = (v << 8) | e.data[i];
      ck.counters[e.name] = int64_t(v);
    } else if (e.name.rfind(kOptimizerPrefix, 0) == 0) {
      ck.optimizer_state.emplace(e.name.substr(kOptimizerPrefix.size()), file.tensor(e.name));
    } else {
      ck.model_state.emplace(e.name, file.tensor(e.name));
    }
  }
  auto it = ck.metadata.find("posenet");
  if (it == ck.metadata.end()) return ck;  // a plain weights file
  if (it->second != kFormat)
    throw InputError(path.string() + ": unsupported checkpoint format '" + it->second + "' (expected " + kFormat + ")");
  try {
    auto cfg = ck.metadata.find("config");
    if (cfg == ck.metadata.end()) throw InputError(path.string() + ": checkpoint has no training config");
    ck.config = TrainConfig::from_json(nlohmann::json::parse(cfg->second), path.string());
    ck.has_config = true;
    try {
      (void)eval::keypoint_set_named(ck.config.keypoints);
    } catch (const InputError& e) {
      throw InputError(path.string() + ": corrupt checkpoint config: " + e.what());
    }
    auto prog = ck.metadata.find("progress");
    if (prog == ck.metadata.end()) throw InputError(path.string() + ": checkpoint has no progress record");
    auto p = nlohmann::json::parse(prog->second);
    // Counters must be stored as integers: nlohmann's conversion of a float
    // outside int64's range is undefined behaviour.
    auto integer = [&](const nlohmann::json& record, const char* key, const char* what) {
      const nlohmann::json& v = record.at(key);
      if (!v.is_number_integer())
        throw InputError(detail::concat(path.string(), ": corrupt checkpoint ", what, ": '", key,
                                        "' is not an integer (", v.dump(), ")"));
      return v;
    };
    ck.state.epoch = integer(p, "epoch", "progress").get<int64_t>();
    ck.state.batch = integer(p, "batch", "progress").get<int64_t>();
    ck.state.global_step = integer(p, "global_step", "progress").get<int64_t>();
    // Checkpoints written before COCO training named the score for PCKh.
    ck.state.best_score = (p.contains("best_score") ? p.at("best_score") : p.at("best_pckh")).get<double>();
    ck.state.last_loss = p.value("last_loss", 0.0);
    if (p.contains("world_size")) ck.state.world_size = integer(p, "world_size", "progress").get<int64_t>();
    if (auto rng = ck.metadata.find("rng"); rng != ck.metadata.end()) {
      auto r = nlohmann::json::parse(rng->second);
      ck.rng = RngRecord{integer(r, "seed", "rng record").get<uint64_t>(),
                         integer(r, "epoch", "rng record").get<int64_t>(),
                         integer(r, "batch", "rng record").get<int64_t>(),
                         integer(r, "train_samples", "rng record").get<int64_t>(), r.at("scheme").get<std::string>()};
      ck.state.train_samples = ck.rng->train_samples;
    }
  } catch (const nlohmann::json::exception& e) {
    throw InputError(path.string() + ": corrupt checkpoint metadata: " + e.what());
  }
  if (ck.state.epoch < 0 || ck.state.batch < 0 || ck.state.global_step < 0 || ck.state.world_size < 1)
    throw InputError(path.string() + ": corrupt checkpoint progress (negative epoch, batch or step, or no process)");
  if (ck.rng && (ck.rng->seed != ck.config.seed || ck.rng->epoch != ck.state.epoch || ck.rng->batch != ck.state.batch))
    throw InputError(detail::concat(path.string(), ": corrupt checkpoint: its rng record (seed ", ck.rng->seed,
                                    ", epoch ", ck.rng->epoch, ", batch ", ck.rng->batch,
                                    ") disagrees with its config and progress (seed ", ck.config.seed, ", epoch ",
                                    ck.state.epoch, ", batch ", ck.state.batch, ")"));
  return ck;
}

models::ModelSpec model_spec_of(const TrainConfig& c) {
  models::ModelOptions o;
  if (c.input_size > 0) o.input_h = o.input_w = c.input_size;
  if (c.input_width > 0) o.input_w = c.input_width;
  o.joints = eval::keypoint_set_named(c.keypoints).count();
  if (c.width > 0) o.width = c.width;
  if (c.decoder_channels > 0) o.decoder_channels = c.decoder_channels;
  if (!c.tick) o.tick = false;
  if (!c.tock) o.tock = false;
  return models::parse_model_spec(c.model, o);
}

const eval::KeypointSet& keypoint_set_of(const Checkpoint& checkpoint) {
  return checkpoint.has_config ? eval::keypoint_set_named(checkpoint.config.keypoints) : eval::mpii_keypoint_set();
}

std::shared_ptr<models::PoseModel> load_model_from_checkpoint(const Checkpoint& checkpoint, Device device) {
  if (!checkpoint.has_config)
    throw InputError(checkpoint.path.string() +
                     ": not a posenet training checkpoint (it has no training config, so its model is unknown)");
  Generator gen(0);  // weights are overwritten by the checkpoint's
  auto model = models::build_model(model_spec_of(checkpoint.config), gen);
  load_model_weights(*model, checkpoint);
  model->to(device);
  model->eval();
  // eval and predict only infer: each batch norm folds into its convolution
  // (the checkpoint's tensors are untouched).
  fold_batch_norm(*model);
  return model;
}

void load_model_weights(Module& model, const Checkpoint& checkpoint) {
  LoadReport report = model.load_state_dict(checkpoint.model_state, true, checkpoint.path.string());
  (void)report;  // strict: problems have thrown, naming every key
  for (const auto& [name, value] : model.named_counters()) {
    auto it = checkpoint.counters.find(name);
    if (it != checkpoint.counters.end()) *value = it->second;
  }
}

}  // namespace posenet::train
