#include "models/pretrained.h"
#include <algorithm>

#include "core/error.h"
#include "core/safetensors.h"

namespace posenet::models {

namespace {
bool starts_with(const std::string& s, const std::string& prefix) { return s.compare(0, prefix.size(), prefix) == 0; }
bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}
bool ignored_key(const std::string& k) { return starts_with(k, "fc.") || ends_with(k, "num_batches_tracked"); }
}  // namespace

std::map<std::string, Tensor> read_imagenet_checkpoint(const std::filesystem::path& path) {
  const safetensors::File file = safetensors::File::read(path);
  std::map<std::string, Tensor> out;
  for (const auto& e : file.entries())
    if (!ignored_key(e.name)) out.emplace(e.name, file.tensor(e.name));
  if (out.empty()) throw InputError(detail::concat(path.string(), ": no ResNet weights in this file"));
  return out;
}

LoadReport load_imagenet_encoder(ResNetEncoder& encoder, const std::map<std::string, Tensor>& state, bool lenient,
                                 const std::string& source) {
  std::map<std::string, Tensor> wanted;
  for (const auto& [k, v] : state) {
    if (ignored_key(k)) continue;
    if (!encoder.has_stem() && (starts_with(k, "conv1.") || starts_with(k, "bn1."))) continue;
    wanted.emplace(k, v);
  }
  return encoder.load_state_dict(wanted, !lenient, source);
}

LoadReport load_pretrained(PoseModel& model, const std::map<std::string, Tensor>& state, bool lenient,
                           const std::string& source) {
  LoadReport total;
  auto prefixed = [](const std::string& prefix, const std::vector<std::string>& names, std::vector<std::string>& out) {
    for (const auto& n : names) out.push_back(prefix + n);
  };
  for (const auto& [prefix, encoder] : model.encoders()) {
    const LoadReport r = load_imagenet_encoder(*encoder, state, lenient, source);
    prefixed(prefix, r.missing, total.missing);
    prefixed(prefix, r.mismatched, total.mismatched);
    prefixed(prefix, r.loaded, total.loaded);
    // A key unexpected by one encoder is unexpected for all (they share names).
    for (const auto& n : r.unexpected)
      if (std::find(total.unexpected.begin(), total.unexpected.end(), n) == total.unexpected.end())
        total.unexpected.push_back(n);
  }
  return total;
}

LoadReport load_pretrained(PoseModel& model, const std::filesystem::path& path, bool lenient) {
  return load_pretrained(model, read_imagenet_checkpoint(path), lenient, path.string());
}

}  // namespace posenet::models
