#include "models/multi_stage.h"

#include "core/error.h"
#include "kernels/elementwise.h"
#include "layers/init.h"

namespace posenet::models {

namespace {
// The tick 1x1 convolution is initialised like the laterals, N(0, 0.001); a
// BN follows it, so only the direction of the initial weights matters.
constexpr double kTickInitStd = 0.001;
}  // namespace

Stage::Stage(int index, int depth, const ModelSpec& spec, Generator& gen) : Module("Stage") {
  encoder = register_module("encoder", std::make_shared<ResNetEncoder>(depth, spec.width, index == 0, gen));
  decoder = register_module("decoder", std::make_shared<DeconvDecoder>(encoder->out_channels(), spec.decoder_width(),
                                                                       spec.laterals(), gen));
  head = register_module("head", make_heatmap_head(spec.decoder_width(), spec.joints, gen));
  if (index > 0 && spec.tick) {
    tick = register_module("tick", std::make_shared<Conv2d>(Conv2dOptions{spec.decoder_width(),
                                                                          encoder->stem_channels(), 1, 1, 0, 1, false},
                                                            gen));
    init::normal_(tick->weight(), TorchLayout::ChannelsLastToSecond, kTickInitStd, gen);
    tick_bn = register_module("tick_bn", std::make_shared<BatchNorm2d>(encoder->stem_channels()));
  }
}

MultiStageModel::MultiStageModel(const ModelSpec& spec, Generator& gen) : PoseModel("MultiStage", spec) {
  spec.validate();
  PN_CHECK(spec.kind == ModelKind::MultiStage, "MultiStageModel built from ", spec.name());
  auto list = register_module("stages", std::make_shared<Module>("ModuleList"));
  for (int s = 0; s < spec.stages(); ++s)
    stages_.push_back(list->register_module(std::to_string(s), std::make_shared<Stage>(s, spec.depths[size_t(s)], spec, gen)));
}

PoseOutput MultiStageModel::forward_outputs(const Tensor& image) {
  PoseOutput out;
  Tensor x, p;
  for (size_t s = 0; s < stages_.size(); ++s) {
    Stage& st = *stages_[s];
    if (s == 0) x = st.encoder->forward_stem(image);                                    // X_1
    else if (st.tick) x = ops::add(x, st.tick_bn->forward_add_relu(st.tick->forward(p), Tensor(), true));  // tick
    Tensor decoded = st.decoder->forward_features(st.encoder->forward_layers(x));
    p = (s > 0 && spec().tock) ? ops::add(decoded, p) : decoded;                      // tock
    out.features.push_back(p);
    out.heatmaps.push_back(heatmaps_like(st.head->forward(p), image));
  }
  return out;
}

std::vector<std::pair<std::string, std::shared_ptr<ResNetEncoder>>> MultiStageModel::encoders() const {
  std::vector<std::pair<std::string, std::shared_ptr<ResNetEncoder>>> out;
  for (size_t s = 0; s < stages_.size(); ++s) out.emplace_back("stages." + std::to_string(s) + ".encoder.", stages_[s]->encoder);
  return out;
}

}  // namespace posenet::models
