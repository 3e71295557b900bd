#include "models/spec.h"

#include <charconv>
#include <sstream>

#include "core/error.h"
#include "models/architecture.h"

namespace posenet::models {

namespace {

const char* kKnownModels =
    "expected simplebaseline:rD, hourglass:rD, multistage:rD,rD[,...] or multistage:N (D in 18, 34, 50, 101, "
    "152), tiny or tiny-multistage";

int parse_depth(const std::string& item, const std::string& name) {
  if (item.size() < 2 || item[0] != 'r')
    throw InputError(detail::concat("model '", name, "': '", item, "' is not a ResNet depth like r50"));
  int depth = 0;
  const char* begin = item.data() + 1;
  const char* end = item.data() + item.size();
  auto [ptr, ec] = std::from_chars(begin, end, depth);
  if (ec != std::errc() || ptr != end)
    throw InputError(detail::concat("model '", name, "': '", item, "' is not a ResNet depth like r50"));
  if (!is_supported_depth(depth))
    throw InputError(detail::concat("model '", name, "': unsupported ResNet depth ", depth,
                                    " (supported: 18, 34, 50, 101, 152)"));
  return depth;
}

std::vector<int> parse_depth_list(const std::string& list, const std::string& name) {
  std::vector<int> depths;
  size_t start = 0;
  while (true) {
    const size_t comma = list.find(',', start);
    const std::string item = list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (item.empty()) throw InputError(detail::concat("model '", name, "': empty entry in the depth list"));
    depths.push_back(parse_depth(item, name));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return depths;
}

std::string format_width(double w) {
  std::ostringstream os;
  os << w;
  return os.str();
}

}  // namespace

int64_t ModelSpec::decoder_width() const {
  return decoder_channels > 0 ? decoder_channels : scaled_channels(256, width);
}

std::string ModelSpec::name() const {
  std::string out;
  switch (kind) {
    case ModelKind::SimpleBaseline: out = "simplebaseline:"; break;
    case ModelKind::Hourglass: out = "hourglass:"; break;
    case ModelKind::MultiStage: out = "multistage:"; break;
  }
  for (size_t i = 0; i < depths.size(); ++i) out += (i ? ",r" : "r") + std::to_string(depths[i]);
  return out;
}

std::string ModelSpec::describe() const {
  std::string out = name() + " input=" + std::to_string(input_h) + "x" + std::to_string(input_w) +
                    " joints=" + std::to_string(joints) + " width=" + format_width(width) +
                    " decoder=" + std::to_string(decoder_width());
  if (kind == ModelKind::MultiStage) {
    out += tick ? " tick=on" : " tick=off";
    out += tock ? " tock=on" : " tock=off";
  }
  return out;
}

void ModelSpec::validate() const {
  const std::string n = name();
  if (depths.empty()) throw InputError(detail::concat("model '", n, "': no stage"));
  for (int d : depths)
    if (!is_supported_depth(d))
      throw InputError(detail::concat("model '", n, "': unsupported ResNet depth ", d,
                                      " (supported: 18, 34, 50, 101, 152)"));
  if (kind != ModelKind::MultiStage && depths.size() != 1)
    throw InputError(detail::concat("model '", n, "': a single-stage model takes one depth; use multistage:"));
  if (kind == ModelKind::MultiStage && depths.size() < 2)
    throw InputError(detail::concat("model '", n, "': a multi-stage model needs at least two stages"));
  if (!(width > 0) || !(width <= 16))
    throw InputError(detail::concat("model '", n, "': width multiplier must be in (0, 16], got ", width));
  if (joints < 1) throw InputError(detail::concat("model '", n, "': joint count must be positive, got ", joints));
  if (decoder_channels < 0)
    throw InputError(detail::concat("model '", n, "': decoder channels must be positive, got ", decoder_channels));
  // C5 is at 1/32 of the input and the decoder doubles it three times back to
  // C2's 1/4: both sides must be multiples of 32 for the shapes to meet.
  if (input_h < 32 || input_w < 32 || input_h % 32 != 0 || input_w % 32 != 0)
    throw InputError(detail::concat("model '", n, "': input size ", input_h, "x", input_w,
                                    " must be a positive multiple of 32 on both sides"));
}

ModelSpec parse_model_spec(const std::string& name, const ModelOptions& options) {
  ModelSpec spec;
  if (name == "tiny" || name == "tiny-multistage") {
    spec.kind = name == "tiny" ? ModelKind::Hourglass : ModelKind::MultiStage;
    spec.depths = name == "tiny" ? std::vector<int>{18} : std::vector<int>{18, 18, 18};
    spec.width = 0.25;
    spec.input_h = spec.input_w = 64;
  } else {
    const size_t colon = name.find(':');
    if (colon == std::string::npos)
      throw InputError(detail::concat("unknown model '", name, "': ", kKnownModels));
    const std::string kind = name.substr(0, colon);
    const std::string list = name.substr(colon + 1);
    if (kind == "simplebaseline") spec.kind = ModelKind::SimpleBaseline;
    else if (kind == "hourglass") spec.kind = ModelKind::Hourglass;
    else if (kind == "multistage") spec.kind = ModelKind::MultiStage;
    else throw InputError(detail::concat("unknown model '", name, "': ", kKnownModels));
    if (list.empty()) throw InputError(detail::concat("model '", name, "': no ResNet depth after ':'"));
    int count = 0;
    const auto [end, ec] = std::from_chars(list.data(), list.data() + list.size(), count);
    if (spec.kind == ModelKind::MultiStage && ec == std::errc() && end == list.data() + list.size()) {
      // multistage:N = the paper's configuration: ResNet-101, then ResNet-50s.
      if (count < 2 || count > 16)
        throw InputError(detail::concat("model '", name, "': stage count must be in 2..16, got ", count));
      spec.depths.assign(size_t(count), 50);
      spec.depths[0] = 101;
    } else {
      spec.depths = parse_depth_list(list, name);
    }
    if (spec.kind != ModelKind::MultiStage && spec.depths.size() != 1)
      throw InputError(detail::concat("model '", name, "': ", kind, " takes one depth; use multistage:", list));
    if (spec.kind == ModelKind::MultiStage && spec.depths.size() < 2)
      throw InputError(detail::concat("model '", name, "': a multi-stage model needs at least two depths, e.g. ",
                                      "multistage:r101,r50,r50 (use hourglass:", list, " for one stage)"));
  }
  if (options.input_h) spec.input_h = *options.input_h;
  if (options.input_w) spec.input_w = *options.input_w;
  if (options.width) spec.width = *options.width;
  if (options.joints) spec.joints = *options.joints;
  if (options.decoder_channels) spec.decoder_channels = *options.decoder_channels;
  if (options.tick) spec.tick = *options.tick;
  if (options.tock) spec.tock = *options.tock;
  spec.validate();
  return spec;
}

}  // namespace posenet::models
