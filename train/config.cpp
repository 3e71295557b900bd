#include "train/config.h"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <thread>
#include <limits>
#include <type_traits>

#include "core/error.h"
#include "eval/keypoint_set.h"

namespace posenet::train {

nlohmann::json TrainConfig::to_json() const {
  return {{"model", model},
          {"input_size", input_width == 0 ? nlohmann::json(input_size) : nlohmann::json::array({input_size, input_width})},
          {"keypoints", keypoints},
          {"width", width},
          {"decoder_channels", decoder_channels},
          {"tick", tick},
          {"tock", tock},
          {"pretrained", pretrained},
          {"init_from", init_from},
          {"data", data},
          {"val_data", val_data},
          {"val_gt", val_gt},
          {"synthetic_count", synthetic_count},
          {"synthetic_size", synthetic_size},
          {"skip_bad", skip_bad},
          {"synthesize_midpoints", synthesize_midpoints},
          {"epochs", epochs},
          {"batch_size", batch_size},
          {"optimizer", optimizer},
          {"lr", lr},
          {"lr_steps", lr_steps},
          {"lr_factor", lr_factor},
          {"weight_decay", weight_decay},
          {"momentum", momentum},
          {"sigmas", sigmas},
          {"sigmas_final", sigmas_final},
          {"scale_factor", scale_factor},
          {"rotation_factor", rotation_factor},
          {"rotation_prob", rotation_prob},
          {"flip", flip},
          {"device", device},
          {"precision", precision},
          {"cuda_graph", cuda_graph},
          {"workers", workers},
          {"seed", seed},
          {"out", out},
          {"resume", resume},
          {"save_every", save_every},
          {"max_steps", max_steps},
          {"stop_after", stop_after},
          {"val_every", val_every},
          {"flip_test", flip_test},
          {"progress", progress},
          {"sync_bn", sync_bn},
          {"collective_timeout", collective_timeout}};
}

namespace {
// nlohmann converts a JSON float to an integer with a plain cast, undefined
// for values out of the integer's range: those are refused first.
template <typename T>
bool fits(const nlohmann::json& v) {
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
    if (!v.is_number_float()) return true;
    const double x = v.get<double>();
    return x >= double(std::numeric_limits<T>::min()) && x < double(std::numeric_limits<T>::max()) + 1.0;
  } else if constexpr (requires { typename T::value_type; } && !std::is_same_v<T, std::string>) {
    if (!v.is_array()) return true;
    for (const auto& e : v)
      if (!fits<typename T::value_type>(e)) return false;
  }
  return true;
}

template <typename T>
void read_field(const nlohmann::json& j, const char* key, T& field, const std::string& source) {
  auto it = j.find(key);
  if (it == j.end()) return;
  if (!fits<T>(*it))
    throw InputError(detail::concat(source, ": config value '", key, "' is out of range (", it->dump(), ")"));
  try {
    field = it->get<T>();
  } catch (const nlohmann::json::exception& e) {
    throw InputError(detail::concat(source, ": config value '", key, "' has the wrong type (", it->type_name(), ")"));
  }
}
}  // namespace

TrainConfig TrainConfig::from_json(const nlohmann::json& j, const std::string& source) {
  if (!j.is_object()) throw InputError(source + ": the stored training config is not a JSON object");
  TrainConfig c;
#define PN_READ(name) read_field(j, #name, c.name, source)
  // input_size: a side, or [H, W] for a non-square input.
  if (auto it = j.find("input_size"); it != j.end() && it->is_array()) {
    std::vector<int> hw;
    read_field(j, "input_size", hw, source);
    if (hw.size() != 2)
      throw InputError(detail::concat(source, ": config value 'input_size' must be a side or [height, width], got ",
                                      it->dump()));
    c.input_size = hw[0];
    c.input_width = hw[0] == hw[1] ? 0 : hw[1];
  } else {
    PN_READ(input_size);
  }
  PN_READ(model); PN_READ(keypoints); PN_READ(width); PN_READ(decoder_channels); PN_READ(tick); PN_READ(tock);
  PN_READ(pretrained); PN_READ(init_from); PN_READ(data); PN_READ(val_data); PN_READ(val_gt);
  PN_READ(synthetic_count); PN_READ(synthetic_size); PN_READ(skip_bad); PN_READ(synthesize_midpoints); PN_READ(epochs); PN_READ(batch_size);
  PN_READ(optimizer); PN_READ(lr); PN_READ(lr_steps); PN_READ(lr_factor); PN_READ(weight_decay); PN_READ(momentum);
  PN_READ(sigmas); PN_READ(sigmas_final); PN_READ(scale_factor); PN_READ(rotation_factor); PN_READ(rotation_prob);
  PN_READ(flip); PN_READ(device); PN_READ(precision); PN_READ(cuda_graph); PN_READ(workers); PN_READ(seed); PN_READ(out); PN_READ(resume);
  PN_READ(save_every); PN_READ(max_steps); PN_READ(stop_after); PN_READ(val_every); PN_READ(flip_test); PN_READ(progress);
  PN_READ(sync_bn); PN_READ(collective_timeout);
#undef PN_READ
  return c;
}

namespace {
std::string shown(double v) {
  std::ostringstream os;
  os << v;
  return os.str();
}
}  // namespace

int max_workers() {
  // Each worker is a thread with its own decoding buffers: far more than the
  // machine has cores only costs memory (100000 ended in "Resource
  // temporarily unavailable"). Four per hardware thread leaves room for
  // workers waiting on a slow disk; 256 keeps small machines usable.
  return std::max(256, 4 * int(std::thread::hardware_concurrency()));
}

void TrainConfig::validate() const {
  auto bad = [](const std::string& what) { throw InputError("invalid training setting: " + what); };
  auto finite_at_least = [&](const char* name, double v, double lo) {
    if (!std::isfinite(v) || v < lo) bad(detail::concat(name, " must be a finite number of at least ", lo, ", got ", shown(v)));
  };
  if (epochs < 1) bad("epochs must be at least 1, got " + std::to_string(epochs));
  if (batch_size < 1) bad("batch-size must be at least 1, got " + std::to_string(batch_size));
  if (!(lr > 0) || !std::isfinite(lr)) bad("lr must be a positive number, got " + shown(lr));
  if (!(lr_factor > 0) || !std::isfinite(lr_factor)) bad("lr-factor must be a positive finite number, got " + shown(lr_factor));
  for (size_t i = 0; i < lr_steps.size(); ++i) {
    if (lr_steps[i] < 0) bad("lr-steps must not be negative, got " + std::to_string(lr_steps[i]));
    if (i > 0 && lr_steps[i] <= lr_steps[i - 1])
      bad(detail::concat("lr-steps must increase, got ", lr_steps[i - 1], " then ", lr_steps[i]));
  }
  if (optimizer != "adam" && optimizer != "sgd") bad("optimizer must be adam or sgd, got '" + optimizer + "'");
  if (!precision.empty() && precision != "bf16" && precision != "tf32" && precision != "fp32")
    bad("precision must be bf16, tf32 or fp32, got '" + precision + "'");
  finite_at_least("weight-decay", weight_decay, 0.0);
  if (!(momentum >= 0 && momentum <= 1)) bad("momentum must be in [0, 1], got " + shown(momentum));
  for (double s : sigmas)
    if (!(s > 0) || !std::isfinite(s)) bad("every sigma must be a positive finite number, got " + shown(s));
  for (double s : sigmas_final)
    if (!(s > 0) || !std::isfinite(s)) bad("every final sigma must be a positive finite number, got " + shown(s));
  // The counts of sigmas and sigmas-final are checked against the model's
  // stages (stage_sigmas, stage_sigmas_final): either may rely on the defaults.
  if (workers < 0) bad("workers must not be negative");
  if (workers > max_workers())
    bad(detail::concat("workers must be at most ", max_workers(), " on this machine (4 per hardware thread, or 256), got ",
                       workers));
  try {
    (void)eval::keypoint_set_named(keypoints);
  } catch (const InputError& e) {
    bad(std::string("keypoints: ") + e.what());
  }
  if (input_size < 0 || (input_size > 0 && input_size % 32 != 0))
    bad("input size must be a positive multiple of 32, got " + std::to_string(input_size));
  if (input_width < 0 || (input_width > 0 && input_width % 32 != 0))
    bad("input width must be a positive multiple of 32, got " + std::to_string(input_width));
  if (input_width > 0 && input_size == 0) bad("an input width needs the input height (--input-size H W)");
  if (!std::isfinite(width) || width < 0) bad("width must be a positive number (0: the model's default), got " + shown(width));
  if (decoder_channels < 0)
    bad("decoder-channels must be positive (0: the model's default), got " + std::to_string(decoder_channels));
  if (synthetic_count < 10) bad("synthetic-count must be at least 10");
  if (synthetic_size < 32) bad("synthetic-size must be at least 32");
  if (save_every < 0 || max_steps < 0 || val_every < 0 || stop_after < 0)
    bad("save-every, max-steps, val-every and stop-after must not be negative");
  if (!(scale_factor >= 0 && scale_factor < 1)) bad("scale-factor must be in [0, 1), got " + shown(scale_factor));
  finite_at_least("rotation-factor", rotation_factor, 0.0);
  if (!(rotation_prob >= 0 && rotation_prob <= 1)) bad("rotation-prob must be in [0, 1], got " + shown(rotation_prob));
  if (out.empty()) bad("out must name a directory");
  if (!(collective_timeout > 0 && collective_timeout <= 86400))
    bad("collective-timeout must be in (0, 86400] seconds, got " + shown(collective_timeout));
}

std::vector<double> TrainConfig::stage_sigmas(int stages) const {
  if (!sigmas.empty()) {
    if (int(sigmas.size()) == stages) return sigmas;
    if (sigmas.size() == 1) return std::vector<double>(size_t(stages), sigmas[0]);
    throw InputError(detail::concat("invalid training setting: ", sigmas.size(), " sigmas given for a model with ",
                                    stages, " stages"));
  }
  if (stages == 1) return {2.0};
  // The paper's multi-kernel policy: an arithmetic series from 3 ending at 2.
  std::vector<double> out(static_cast<size_t>(stages));
  for (int s = 0; s < stages; ++s) out[size_t(s)] = 3.0 - double(s) / double(stages - 1);
  return out;
}

std::vector<double> TrainConfig::stage_sigmas_final(int stages) const {
  if (sigmas_final.empty()) return {};
  if (int(sigmas_final.size()) == stages) return sigmas_final;
  if (sigmas_final.size() == 1) return std::vector<double>(size_t(stages), sigmas_final[0]);
  throw InputError(detail::concat("invalid training setting: ", sigmas_final.size(),
                                  " sigmas-final given for a model with ", stages, " stages (give one per stage, or one for all)"));
}

}  // namespace posenet::train
