#include "models/single_stage.h"

#include "core/error.h"

namespace posenet::models {

SingleStageModel::SingleStageModel(const ModelSpec& spec, Generator& gen)
    : PoseModel(spec.kind == ModelKind::SimpleBaseline ? "SimpleBaseline" : "Hourglass", spec) {
  spec.validate();
  PN_CHECK(spec.kind != ModelKind::MultiStage && spec.stages() == 1, "SingleStageModel built from ", spec.name());
  encoder_ = register_module("encoder", std::make_shared<ResNetEncoder>(spec.depths[0], spec.width, true, gen));
  decoder_ = register_module("decoder", std::make_shared<DeconvDecoder>(encoder_->out_channels(), spec.decoder_width(),
                                                                        spec.laterals(), gen));
  head_ = register_module("head", make_heatmap_head(spec.decoder_width(), spec.joints, gen));
}

PoseOutput SingleStageModel::forward_outputs(const Tensor& x) {
  Tensor p = decoder_->forward_features(encoder_->forward_features(x));
  return {{heatmaps_like(head_->forward(p), x)}, {p}};
}

}  // namespace posenet::models
