// Single-stage networks: Simple Baselines (encoder + deconvolution decoder +
// 1x1 head) and the ResNet hourglass (the same with lateral channel-wise
// plus, the paper's Fig. 1). Names: encoder.*, decoder.*, head.weight,
// head.bias.
#pragma once
#include <memory>

#include "core/rng.h"
#include "layers/conv2d.h"
#include "models/decoder.h"
#include "models/pose_model.h"
#include "models/resnet.h"

namespace posenet::models {

class SingleStageModel : public PoseModel {
 public:
  SingleStageModel(const ModelSpec& spec, Generator& gen);

  // heatmaps: one element; features: P (the decoder output).
  PoseOutput forward_outputs(const Tensor& x) override;
  std::vector<std::pair<std::string, std::shared_ptr<ResNetEncoder>>> encoders() const override {
    return {{"encoder.", encoder_}};
  }

  const std::shared_ptr<ResNetEncoder>& encoder() const { return encoder_; }
  const std::shared_ptr<DeconvDecoder>& decoder() const { return decoder_; }
  const std::shared_ptr<Conv2d>& head() const { return head_; }

 private:
  std::shared_ptr<ResNetEncoder> encoder_;
  std::shared_ptr<DeconvDecoder> decoder_;
  std::shared_ptr<Conv2d> head_;
};

}  // namespace posenet::models
