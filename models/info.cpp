#include "models/info.h"

#include <cstdio>
#include <sstream>

#include "core/error.h"
#include "models/architecture.h"

namespace posenet::models {

namespace {

// Accumulates one stage's counts while walking its layers at their shapes
// (per image: the batch dimension is 1).
struct Walker {
  int element_bytes;
  StageInfo stage;

  void saved(int64_t h, int64_t w, int64_t c) { stage.activation_bytes += h * w * c * element_bytes; }

  // Convolution with square kernel k; returns the output extent. The output
  // is saved (by the BN that always follows, or by the loss for the head).
  int64_t conv(int64_t h, int64_t cin, int64_t cout, int k, int stride, int pad, bool bias, int64_t* out_w,
               int64_t w) {
    const int64_t oh = (h + 2 * pad - k) / stride + 1, ow = (w + 2 * pad - k) / stride + 1;
    stage.params += cout * cin * k * k + (bias ? cout : 0);
    stage.macs += oh * ow * cout * cin * k * k;
    saved(oh, ow, cout);
    *out_w = ow;
    return oh;
  }
  void bn(int64_t c) { stage.params += 2 * c; }
};

// A residual block at input [h, w, cin]; returns the output channels and
// updates h, w for the stride.
int64_t block(Walker& wk, const ResNetArch& arch, int64_t& h, int64_t& w, int64_t cin, int64_t planes, int stride) {
  const int64_t cout = planes * arch.expansion();
  int64_t h1, w1, h2, w2;
  if (arch.bottleneck) {
    h1 = wk.conv(h, cin, planes, 1, 1, 0, false, &w1, w);
    wk.bn(planes);
    wk.saved(h1, w1, planes);  // ReLU output
    h2 = wk.conv(h1, planes, planes, 3, stride, 1, false, &w2, w1);
    wk.bn(planes);
    wk.saved(h2, w2, planes);
    int64_t w3;
    const int64_t h3 = wk.conv(h2, planes, cout, 1, 1, 0, false, &w3, w2);
    wk.bn(cout);
    h2 = h3, w2 = w3;
  } else {
    h1 = wk.conv(h, cin, planes, 3, stride, 1, false, &w1, w);
    wk.bn(planes);
    wk.saved(h1, w1, planes);
    h2 = wk.conv(h1, planes, planes, 3, 1, 1, false, &w2, w1);
    wk.bn(planes);
  }
  if (stride != 1 || cin != cout) {  // downsample.0 / downsample.1
    int64_t wd;
    wk.conv(h, cin, cout, 1, stride, 0, false, &wd, w);
    wk.bn(cout);
  }
  wk.saved(h2, w2, cout);  // ReLU(BN(.) + residual)
  h = h2, w = w2;
  return cout;
}

// Encoder from layer1 on (input [h, w, cin]); fills C2..C5 shapes.
void encoder_layers(Walker& wk, const ResNetArch& arch, double width, int64_t h, int64_t w, int64_t cin,
                    std::array<int64_t, 4>& hs, std::array<int64_t, 4>& ws) {
  int64_t c = cin;
  for (int layer = 1; layer <= 4; ++layer) {
    const int64_t planes = layer_planes(layer, width);
    for (int b = 0; b < arch.blocks[size_t(layer - 1)]; ++b)
      c = block(wk, arch, h, w, c, planes, (b == 0 && layer > 1) ? 2 : 1);
    hs[size_t(layer - 1)] = h, ws[size_t(layer - 1)] = w;
  }
}

// Stem on [h, w, 3]: returns [h/4, w/4] through h, w.
void stem(Walker& wk, double width, int64_t& h, int64_t& w) {
  const int64_t c = stem_channels(width);
  wk.saved(h, w, 3);  // the image, saved by conv1
  int64_t ow;
  const int64_t oh = wk.conv(h, 3, c, 7, 2, 3, false, &ow, w);
  wk.bn(c);
  wk.saved(oh, ow, c);  // ReLU output, saved by the max-pool
  h = (oh + 2 - 3) / 2 + 1, w = (ow + 2 - 3) / 2 + 1;
  wk.saved(h, w, c);  // max-pool output
}

// Decoder on C5 with optional laterals; returns P's extent through h, w.
void decoder(Walker& wk, const std::array<int64_t, 4>& enc_c, const std::array<int64_t, 4>& hs,
             const std::array<int64_t, 4>& ws, int64_t channels, bool laterals, int64_t& h, int64_t& w) {
  int64_t cin = enc_c[3];
  h = hs[3], w = ws[3];
  for (int i = 1; i <= 3; ++i) {
    const int64_t oh = 2 * h, ow = 2 * w;  // 4x4, stride 2, padding 1
    wk.stage.params += cin * channels * 16;
    wk.stage.macs += h * w * cin * channels * 16;
    wk.saved(oh, ow, channels);
    wk.bn(channels);
    if (laterals) {
      const size_t level = size_t(3 - i);  // C4, C3, C2
      int64_t lw;
      wk.conv(hs[level], enc_c[level], channels, 1, 1, 0, false, &lw, ws[level]);
      wk.bn(channels);
    }
    wk.saved(oh, ow, channels);  // ReLU output
    h = oh, w = ow, cin = channels;
  }
}

void append_json_number(std::ostringstream& os, const char* key, int64_t v, bool comma = true) {
  os << '"' << key << "\": " << v << (comma ? ", " : "");
}

std::string human(double v, const char* unit) {
  char buf[64];
  if (v >= 1e9) std::snprintf(buf, sizeof buf, "%.2f G%s", v / 1e9, unit);
  else if (v >= 1e6) std::snprintf(buf, sizeof buf, "%.2f M%s", v / 1e6, unit);
  else if (v >= 1e3) std::snprintf(buf, sizeof buf, "%.2f k%s", v / 1e3, unit);
  else std::snprintf(buf, sizeof buf, "%.0f %s", v, unit);
  return buf;
}

std::string json_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

}  // namespace

ModelInfo model_info(const ModelSpec& spec, int element_bytes) {
  spec.validate();
  PN_CHECK(element_bytes > 0, "element size must be positive");
  ModelInfo info;
  info.spec = spec;
  const int64_t dec = spec.decoder_width();
  const int64_t stem_c = stem_channels(spec.width);
  int64_t xh = spec.input_h, xw = spec.input_w;
  for (int s = 0; s < spec.stages(); ++s) {
    Walker wk{element_bytes, {}};
    wk.stage.depth = spec.depths[size_t(s)];
    const ResNetArch arch = resnet_arch(wk.stage.depth);
    if (s == 0) {
      stem(wk, spec.width, xh, xw);
    } else if (spec.tick) {
      int64_t tw;
      wk.conv(xh, dec, stem_c, 1, 1, 0, false, &tw, xw);  // tick 1x1 on P_{s-1} (same extent as X)
      wk.bn(stem_c);
      wk.saved(xh, xw, stem_c);  // ReLU output
      wk.saved(xh, xw, stem_c);  // X_s = X_{s-1} + ...
    }
    std::array<int64_t, 4> hs{}, ws{};
    encoder_layers(wk, arch, spec.width, xh, xw, stem_c, hs, ws);
    int64_t ph, pw;
    decoder(wk, encoder_channels(arch, spec.width), hs, ws, dec, spec.laterals(), ph, pw);
    if (s > 0 && spec.tock) wk.saved(ph, pw, dec);  // P_s = decoder output + P_{s-1}
    int64_t hw;
    wk.conv(ph, dec, spec.joints, 1, 1, 0, true, &hw, pw);  // head; heatmaps saved by the loss
    info.params += wk.stage.params;
    info.macs += wk.stage.macs;
    info.activation_bytes += wk.stage.activation_bytes;
    info.stages.push_back(wk.stage);
  }
  return info;
}

int64_t encoder_param_count(int depth, double width, bool with_stem) {
  Walker wk{4, {}};
  const ResNetArch arch = resnet_arch(depth);
  int64_t h = 224, w = 224;
  if (with_stem) stem(wk, width, h, w);
  else h = w = 56;
  std::array<int64_t, 4> hs{}, ws{};
  encoder_layers(wk, arch, width, h, w, stem_channels(width), hs, ws);
  return wk.stage.params;
}

std::string ModelInfo::json() const {
  std::ostringstream os;
  os << "{\"model\": \"" << json_escape(spec.name()) << "\", \"input\": [" << spec.input_h << ", " << spec.input_w
     << "], \"joints\": " << spec.joints << ", \"width\": " << spec.width
     << ", \"decoder_channels\": " << spec.decoder_width() << ", ";
  append_json_number(os, "params", params);
  append_json_number(os, "macs", macs);
  append_json_number(os, "activation_bytes", activation_bytes);
  os << "\"stages\": [";
  for (size_t i = 0; i < stages.size(); ++i) {
    os << (i ? ", " : "") << "{\"stage\": " << i + 1 << ", \"depth\": " << stages[i].depth << ", ";
    append_json_number(os, "params", stages[i].params);
    append_json_number(os, "macs", stages[i].macs);
    append_json_number(os, "activation_bytes", stages[i].activation_bytes, false);
    os << "}";
  }
  os << "]}";
  return os.str();
}

std::string ModelInfo::table() const {
  std::ostringstream os;
  os << spec.describe() << "\n";
  char line[160];
  std::snprintf(line, sizeof line, "%-8s %-6s %16s %20s %22s\n", "stage", "depth", "params", "MACs/image",
                "train activations/image");
  os << line;
  auto row = [&](const std::string& label, const std::string& depth, int64_t p, int64_t m, int64_t a) {
    std::snprintf(line, sizeof line, "%-8s %-6s %16s %20s %22s\n", label.c_str(), depth.c_str(),
                  (std::to_string(p) + " (" + human(double(p), "") + ")").c_str(), human(double(m), "MAC").c_str(),
                  human(double(a), "B").c_str());
    os << line;
  };
  for (size_t i = 0; i < stages.size(); ++i) {
    std::string depth = "r";
    depth += std::to_string(stages[i].depth);  // (not "r" + ...: GCC 12 warns falsely on that)
    row(std::to_string(i + 1), depth, stages[i].params, stages[i].macs, stages[i].activation_bytes);
  }
  row("total", "", params, macs, activation_bytes);
  return os.str();
}

}  // namespace posenet::models
