#include "models/pretrained.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <set>

#include "core/error.h"
#include "core/safetensors.h"
#include "models/architecture.h"

namespace posenet::models {

namespace {

bool starts_with(const std::string& s, const std::string& prefix) { return s.compare(0, prefix.size(), prefix) == 0; }
bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}
bool ignored_key(const std::string& k) { return starts_with(k, "fc.") || ends_with(k, "num_batches_tracked"); }

std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    const size_t at = text.find(separator, start);
    out.push_back(text.substr(start, at == std::string::npos ? std::string::npos : at - start));
    if (at == std::string::npos) return out;
    start = at + 1;
  }
}

// "r50=..." (r, digits, '='): an entry of the per-depth syntax.
bool is_depth_entry(const std::string& item) {
  const size_t eq = item.find('=');
  if (eq == std::string::npos || eq < 2 || item[0] != 'r') return false;
  return std::all_of(item.begin() + 1, item.begin() + std::ptrdiff_t(eq), [](char c) { return c >= '0' && c <= '9'; });
}

// The model's encoder depths, each once, first stage first.
std::vector<int> distinct_depths(const ModelSpec& spec) {
  std::vector<int> out;
  for (int d : spec.depths)
    if (std::find(out.begin(), out.end(), d) == out.end()) out.push_back(d);
  return out;
}

std::string depth_names(const std::vector<int>& depths) {
  std::string out;
  for (int d : depths) out += (out.empty() ? "r" : ", r") + std::to_string(d);
  return out;
}

// "r101=PATH,r50=PATH" for these depths: the syntax, shown in errors.
std::string syntax_for(const std::vector<int>& depths) {
  std::string out;
  for (int d : depths) out += (out.empty() ? "r" : ",r") + std::to_string(d) + "=PATH";
  return out;
}

// The ResNet depth whose block table matches the file's layerN.i.* keys
// (0: none): tells the user a file of another depth was given.
int depth_of_weights(const std::map<std::string, Tensor>& state) {
  std::array<int, 4> blocks{};
  for (const auto& [k, v] : state) {
    for (int layer = 1; layer <= 4; ++layer) {
      const std::string prefix = "layer" + std::to_string(layer) + ".";
      if (!starts_with(k, prefix)) continue;
      int index = 0;
      const char* begin = k.data() + prefix.size();
      const auto [end, ec] = std::from_chars(begin, k.data() + k.size(), index);
      if (ec == std::errc() && end != begin) blocks[size_t(layer - 1)] = std::max(blocks[size_t(layer - 1)], index + 1);
    }
  }
  const bool bottleneck = state.count("layer1.0.conv3.weight") > 0;
  for (int d : {18, 34, 50, 101, 152}) {
    const ResNetArch arch = resnet_arch(d);
    if (arch.blocks == blocks && arch.bottleneck == bottleneck) return d;
  }
  return 0;
}

// The entries of `state` that `encoder` has names for (a stem-less encoder
// skips conv1.*/bn1.*, which belong to stage 1).
std::map<std::string, Tensor> entries_for(const ResNetEncoder& encoder, const std::map<std::string, Tensor>& state) {
  std::map<std::string, Tensor> wanted;
  for (const auto& [k, v] : state) {
    if (ignored_key(k)) continue;
    if (!encoder.has_stem() && (starts_with(k, "conv1.") || starts_with(k, "bn1."))) continue;
    wanted.emplace(k, v);
  }
  return wanted;
}

// One encoder to fill: its full-name prefix and the weights of its depth
// (null: no file given for that depth).
struct EncoderTarget {
  std::string prefix;
  ResNetEncoder* encoder = nullptr;
  const ImageNetWeights* weights = nullptr;
};

void append_prefixed(const std::string& prefix, const std::vector<std::string>& names, std::vector<std::string>& out) {
  for (const auto& n : names) out.push_back(prefix + n);
}

void append_once(const std::vector<std::string>& names, std::vector<std::string>& out) {
  for (const auto& n : names)
    if (std::find(out.begin(), out.end(), n) == out.end()) out.push_back(n);
}

void append_section(std::string& out, const char* what, const std::vector<std::string>& names) {
  if (names.empty()) return;
  out += detail::concat("\n    ", what, " (", names.size(), "):");
  for (const auto& n : names) out += "\n      " + n;
}

// Checks every target against its weights, throws (strict) before anything
// is copied, then copies. `what` names the model in messages.
PretrainedReport check_then_load(const std::vector<EncoderTarget>& targets, bool lenient, const std::string& what) {
  struct Checked {
    const EncoderTarget* target;
    std::map<std::string, Tensor> wanted;
    LoadReport report;
  };
  std::vector<Checked> checked;
  std::map<int, std::vector<const EncoderTarget*>> without_file;  // by depth
  for (const EncoderTarget& t : targets) {
    if (!t.weights) {
      without_file[t.encoder->arch().depth].push_back(&t);
      continue;
    }
    Checked c{&t, entries_for(*t.encoder, t.weights->state), {}};
    c.report = t.encoder->check_state_dict(c.wanted);
    checked.push_back(std::move(c));
  }

  const bool files_fit = std::all_of(checked.begin(), checked.end(), [](const Checked& c) { return c.report.ok(); });
  if (!lenient && (!files_fit || !without_file.empty())) {
    std::string message = "ImageNet weights do not fit " + what + "; nothing was loaded:";
    for (const auto& [depth, encoders] : without_file) {
      message += detail::concat("\n  no file for ResNet-", depth, " (");
      for (size_t i = 0; i < encoders.size(); ++i) message += (i ? ", " : "") + encoders[i]->prefix;
      message += detail::concat("): give it as r", depth, "=PATH");
    }
    // One section per file: the encoders sharing it report the same file keys.
    std::vector<const ImageNetWeights*> files;
    for (const Checked& c : checked)
      if (!c.report.ok() && std::find(files.begin(), files.end(), c.target->weights) == files.end())
        files.push_back(c.target->weights);
    for (const ImageNetWeights* file : files) {
      LoadReport merged;
      int encoder_depth = 0;
      for (const Checked& c : checked) {
        if (c.target->weights != file) continue;
        encoder_depth = c.target->encoder->arch().depth;
        append_prefixed(c.target->prefix, c.report.missing, merged.missing);
        append_prefixed(c.target->prefix, c.report.mismatched, merged.mismatched);
        append_once(c.report.unexpected, merged.unexpected);
      }
      message += detail::concat("\n  ", file->source, " (for the ResNet-", encoder_depth, " encoders)");
      const int file_depth = depth_of_weights(file->state);
      if (file_depth != 0 && file_depth != encoder_depth)
        message += detail::concat(": it holds ResNet-", file_depth, " weights");
      message += ":";
      append_section(message, "missing keys", merged.missing);
      append_section(message, "unexpected keys", merged.unexpected);
      append_section(message, "shape mismatches", merged.mismatched);
    }
    throw InputError(message);
  }

  PretrainedReport total;
  // Lenient: encoders without a file keep their initialisation; every one of
  // their names counts as missing.
  for (const auto& [depth, encoders] : without_file) {
    for (const EncoderTarget* t : encoders) {
      total.without_weights.push_back(t->prefix);
      append_prefixed(t->prefix, t->encoder->check_state_dict({}).missing, total.missing);
    }
  }
  for (const Checked& c : checked) {
    const LoadReport r = c.target->encoder->load_state_dict(c.wanted, /*strict=*/!lenient, c.target->weights->source);
    append_prefixed(c.target->prefix, r.missing, total.missing);
    append_prefixed(c.target->prefix, r.mismatched, total.mismatched);
    append_prefixed(c.target->prefix, r.loaded, total.loaded);
    append_once(r.unexpected, total.unexpected);
  }
  return total;
}

// One file for every encoder: only when they all have the same depth.
PretrainedFiles single_file(const std::string& path, const ModelSpec& spec) {
  const std::vector<int> depths = distinct_depths(spec);
  if (depths.size() != 1)
    throw InputError(detail::concat("pretrained '", path, "': one file fits a model whose encoders all have one ",
                                    "depth, but ", spec.name(), " has ", depth_names(depths),
                                    " encoders: give a file for each depth, as ", syntax_for(depths)));
  return {{depths[0], path}};
}

// A file for a depth the model has no encoder of is a mistake in either mode.
void refuse_depth_the_model_lacks(int depth, const std::string& source, const ModelSpec& spec) {
  const std::vector<int> depths = distinct_depths(spec);
  if (std::find(depths.begin(), depths.end(), depth) == depths.end())
    throw InputError(detail::concat(source, ": given as ResNet-", depth, " weights, but ", spec.name(),
                                    " has no ResNet-", depth, " encoder (its depths: ", depth_names(depths), ")"));
}

}  // namespace

PretrainedFiles parse_pretrained_files(const std::string& value, const ModelSpec& spec) {
  PretrainedFiles files;
  if (value.empty()) return files;
  const std::vector<int> depths = distinct_depths(spec);
  const std::vector<std::string> items = split(value, ',');
  if (!is_depth_entry(items[0])) return single_file(value, spec);  // a plain path, commas and all
  for (const std::string& item : items) {
    if (!is_depth_entry(item))
      throw InputError(detail::concat("pretrained '", value, "': '", item, "' is not rD=PATH (expected ",
                                      syntax_for(depths), ")"));
    const size_t eq = item.find('=');
    int depth = 0;
    std::from_chars(item.data() + 1, item.data() + eq, depth);
    const std::string path = item.substr(eq + 1);
    if (!is_supported_depth(depth))
      throw InputError(detail::concat("pretrained '", value, "': unsupported ResNet depth ", depth,
                                      " (supported: 18, 34, 50, 101, 152)"));
    if (path.empty()) throw InputError(detail::concat("pretrained '", value, "': no file after 'r", depth, "='"));
    if (std::find(depths.begin(), depths.end(), depth) == depths.end())
      throw InputError(detail::concat("pretrained '", value, "': a ResNet-", depth, " file is given, but ", spec.name(),
                                      " has no ResNet-", depth, " encoder (its depths: ", depth_names(depths), ")"));
    if (!files.emplace(depth, path).second)
      throw InputError(detail::concat("pretrained '", value, "': r", depth, " is given twice"));
  }
  return files;
}

void check_every_depth_has_a_file(const PretrainedFiles& files, const ModelSpec& spec) {
  std::string message;
  for (int depth : distinct_depths(spec)) {
    if (files.count(depth)) continue;
    std::string encoders;
    for (int s = 0; s < spec.stages(); ++s)
      if (spec.depths[size_t(s)] == depth)
        encoders += (encoders.empty() ? "" : ", ") +
                    (spec.kind == ModelKind::MultiStage ? "stages." + std::to_string(s) + ".encoder." : "encoder.");
    message += detail::concat("\n  no file for ResNet-", depth, " (", encoders, "): give it as r", depth, "=PATH");
  }
  if (!message.empty())
    throw InputError(detail::concat("ImageNet weights do not fit ", spec.name(), "; nothing was loaded:", message));
}

std::map<std::string, Tensor> read_imagenet_checkpoint(const std::filesystem::path& path) {
  const safetensors::File file = safetensors::File::read(path);
  std::map<std::string, Tensor> out;
  for (const auto& e : file.entries())
    if (!ignored_key(e.name)) out.emplace(e.name, file.tensor(e.name));
  if (out.empty()) throw InputError(detail::concat(path.string(), ": no ResNet weights in this file"));
  return out;
}

ImageNetWeights read_imagenet_weights(const std::filesystem::path& path) {
  return ImageNetWeights{path.string(), read_imagenet_checkpoint(path)};
}

ImageNetWeightsByDepth read_imagenet_weights(const PretrainedFiles& files) {
  ImageNetWeightsByDepth out;
  for (const auto& [depth, path] : files) out.emplace(depth, read_imagenet_weights(path));
  return out;
}

PretrainedReport load_imagenet_encoder(ResNetEncoder& encoder, const ImageNetWeights& weights,
                                       const std::string& prefix, bool lenient) {
  return check_then_load({EncoderTarget{prefix, &encoder, &weights}}, lenient, "encoder " + prefix);
}

PretrainedReport load_pretrained(PoseModel& model, const ImageNetWeightsByDepth& weights, bool lenient) {
  const ModelSpec& spec = model.spec();
  for (const auto& [depth, w] : weights) refuse_depth_the_model_lacks(depth, w.source, spec);
  std::vector<EncoderTarget> targets;
  for (const auto& [prefix, encoder] : model.encoders()) {
    const auto it = weights.find(encoder->arch().depth);
    targets.push_back({prefix, encoder.get(), it == weights.end() ? nullptr : &it->second});
  }
  return check_then_load(targets, lenient, spec.name());
}

PretrainedReport load_pretrained(PoseModel& model, const PretrainedFiles& files, bool lenient) {
  for (const auto& [depth, path] : files) refuse_depth_the_model_lacks(depth, path.string(), model.spec());
  // Every file is read before any encoder changes: a bad file fails first.
  return load_pretrained(model, read_imagenet_weights(files), lenient);
}

PretrainedReport load_pretrained(PoseModel& model, const std::filesystem::path& path, bool lenient) {
  return load_pretrained(model, single_file(path.string(), model.spec()), lenient);
}

}  // namespace posenet::models
