// Model names and their specification.
//
// Names (on the command line and in configs):
//   simplebaseline:rD           ResNet-D + three deconvolutions (Simple Baselines)
//   hourglass:rD                the same decoder with lateral "channel-wise plus"
//   multistage:rD1,rD2,...      tick-tock multi-stage network, stage 1 first
//   multistage:N                N stages: ResNet-101, then ResNet-50s (the paper's)
//   tiny                        hourglass:r18, width 0.25, 64x64 input
//   tiny-multistage             multistage:r18,r18,r18, width 0.25, 64x64 input
// with D in {18, 34, 50, 101, 152}. Options (input size, joints, width
// multiplier, decoder channels, tick/tock switches) are fields of ModelSpec;
// ModelOptions overrides a name's defaults.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/rng.h"
#include "core/tensor.h"

namespace posenet::models {

class PoseModel;

enum class ModelKind { SimpleBaseline, Hourglass, MultiStage };

struct ModelSpec {
  ModelKind kind = ModelKind::Hourglass;
  std::vector<int> depths{50};   // ResNet depth of each stage (one for single-stage)
  double width = 1.0;            // channel multiplier of the encoders
  int64_t decoder_channels = 0;  // 0: 256 * width
  int joints = 16;
  int input_h = 256, input_w = 256;
  bool tick = true;  // multi-stage: carry the previous stage's P into X_s
  bool tock = true;  // multi-stage: add P_{s-1} to stage s's decoder output

  int stages() const { return int(depths.size()); }
  bool laterals() const { return kind != ModelKind::SimpleBaseline; }
  int64_t decoder_width() const;  // decoder_channels resolved
  int heatmap_h() const { return input_h / 4; }
  int heatmap_w() const { return input_w / 4; }
  // Canonical name: "hourglass:r50", "multistage:r101,r50,r50".
  std::string name() const;
  // A one-line description with the options: "hourglass:r18 width=0.25 ...".
  std::string describe() const;
  // Throws posenet::InputError naming the problem when a field is invalid.
  void validate() const;
};

struct ModelOptions {
  std::optional<int> input_h, input_w;
  std::optional<double> width;
  std::optional<int> joints;
  std::optional<int64_t> decoder_channels;
  std::optional<bool> tick, tock;
};

// Parses a model name (see above) with that name's defaults, then applies the
// options and validates. Throws posenet::InputError for an unknown model, a
// malformed or unsupported depth list, or invalid options.
ModelSpec parse_model_spec(const std::string& name, const ModelOptions& options = {});

// The registry: a SingleStageModel for simplebaseline/hourglass, a
// MultiStageModel for multistage; weights initialised from gen (float32, CPU).
std::shared_ptr<PoseModel> build_model(const ModelSpec& spec, Generator& gen);

}  // namespace posenet::models
