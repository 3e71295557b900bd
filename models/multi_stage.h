// The multi-stage "tick-tock" network (the paper's section 2.2, Figs. 2 and
// 3). Stage 1 is a full hourglass (with the stem); stage s > 1 is a ResNet
// from layer1 on with its own decoder (with laterals) and head. With X_1 the
// stem output and P_s stage s's decoder output:
//   tick  X_s = X_{s-1} + ReLU(tick_bn_s(tick_s(P_{s-1})))   (1x1, decoder -> stem channels)
//   tock  P_s = decoder_s(encoder_s(X_s)) + P_{s-1}
//   H_s = head_s(P_s), every stage supervised.
// spec.tick / spec.tock switch either connection off (X_s = X_{s-1}, resp.
// P_s = decoder_s(...)). Names: stages.<s>.encoder.*, stages.<s>.decoder.*,
// stages.<s>.head.*, and for s >= 1 stages.<s>.tick.weight and
// stages.<s>.tick_bn.* (s counts from 0 in names).
#pragma once
#include <memory>
#include <vector>

#include "core/rng.h"
#include "layers/batchnorm2d.h"
#include "layers/conv2d.h"
#include "models/decoder.h"
#include "models/pose_model.h"
#include "models/resnet.h"

namespace posenet::models {

// One stage: encoder, decoder, head, and (s >= 1, tick on) the tick transform.
class Stage : public Module {
 public:
  Stage(int index, int depth, const ModelSpec& spec, Generator& gen);

  std::shared_ptr<ResNetEncoder> encoder;
  std::shared_ptr<DeconvDecoder> decoder;
  std::shared_ptr<Conv2d> head;
  std::shared_ptr<Conv2d> tick;           // null for stage 0 or with tick off
  std::shared_ptr<BatchNorm2d> tick_bn;
};

class MultiStageModel : public PoseModel {
 public:
  MultiStageModel(const ModelSpec& spec, Generator& gen);

  PoseOutput forward_outputs(const Tensor& x) override;
  std::vector<std::pair<std::string, std::shared_ptr<ResNetEncoder>>> encoders() const override;

  const std::vector<std::shared_ptr<Stage>>& stages() const { return stages_; }

 private:
  std::vector<std::shared_ptr<Stage>> stages_;
};

}  // namespace posenet::models
