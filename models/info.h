// Size and cost of a model, computed from its specification's layer shapes
// (no tensor is allocated, so it answers instantly for full-size models).
//
// params: every learnable parameter (conv/deconv weights and biases, BN
//   weight and bias; BN running statistics are buffers and not counted).
// macs: multiply-accumulates per image of the convolutions, deconvolutions
//   and the head: a convolution costs (output elements) * Cin * R * S, a
//   deconvolution (input elements) * Cout * R * S (the GEMM it performs).
//   BN, ReLU, pooling and additions are not counted (the usual convention).
// activation_bytes: training activation memory per image, estimated as the
//   tensors that backward keeps, each counted once: the input image (saved by
//   conv1), every convolution and deconvolution output (saved by the BN after
//   it), every ReLU output (saved for its mask and by the next convolution),
//   the max-pool output, the tick sums X_s and tock sums P_s, and the
//   heatmaps (saved by the loss). BN outputs that only feed an addition are
//   transient and not counted. Bytes at the given element size (4 = float32).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "models/spec.h"

namespace posenet::models {

struct StageInfo {
  int depth = 0;
  int64_t params = 0;
  int64_t macs = 0;
  int64_t activation_bytes = 0;
};

struct ModelInfo {
  ModelSpec spec;
  int64_t params = 0;
  int64_t macs = 0;
  int64_t activation_bytes = 0;
  std::vector<StageInfo> stages;
  std::string json() const;  // one JSON object
  std::string table() const;  // human-readable, several lines
};

ModelInfo model_info(const ModelSpec& spec, int element_bytes = 4);

// Parameters of a ResNet encoder alone (the torchvision model without fc at
// width 1), for checking the architecture tables.
int64_t encoder_param_count(int depth, double width = 1.0, bool with_stem = true);

}  // namespace posenet::models
