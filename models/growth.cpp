#include "models/growth.h"

#include "core/error.h"
#include "models/multi_stage.h"
#include "models/pretrained.h"
#include "models/single_stage.h"

namespace posenet::models {

ModelSpec grown_spec(const ModelSpec& from, int new_depth) {
  from.validate();
  if (from.kind == ModelKind::SimpleBaseline)
    throw InputError(detail::concat("cannot grow ", from.name(),
                                    ": multi-stage models are built from hourglass stages (use hourglass:)"));
  ModelSpec spec = from;
  spec.kind = ModelKind::MultiStage;
  spec.depths.push_back(new_depth == 0 ? from.depths.back() : new_depth);
  spec.validate();
  return spec;
}

namespace {

// The name of `key` in the grown model: single-stage names get "stages.0.".
std::string grown_name(const ModelSpec& from, const std::string& key) {
  return from.kind == ModelKind::MultiStage ? key : "stages.0." + key;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Entries of `state` under `prefix`, with the prefix removed.
std::map<std::string, Tensor> strip_prefix(const std::map<std::string, Tensor>& state, const std::string& prefix) {
  std::map<std::string, Tensor> out;
  for (const auto& [k, v] : state)
    if (k.compare(0, prefix.size(), prefix) == 0) out.emplace(k.substr(prefix.size()), v);
  return out;
}

}  // namespace

std::shared_ptr<PoseModel> grow_model(const ModelSpec& from, const std::map<std::string, Tensor>& from_state,
                                      Generator& gen, const ImageNetWeights* imagenet, int new_depth,
                                      const std::string& source) {
  const ModelSpec spec = grown_spec(from, new_depth);
  auto model = build_model(spec, gen);
  auto& multi = dynamic_cast<MultiStageModel&>(*model);
  const size_t old_stages = size_t(from.stages());

  // Stages 1..N: exactly the checkpoint's weights.
  std::map<std::string, Tensor> renamed;
  std::vector<std::string> unexpected;
  for (const auto& [k, v] : from_state) {
    const std::string name = grown_name(from, k);
    bool known = false;
    for (size_t s = 0; s < old_stages && !known; ++s)
      known = name.compare(0, 7 + std::to_string(s).size() + 1, "stages." + std::to_string(s) + ".") == 0;
    if (known) renamed.emplace(name, v);
    else if (!ends_with(k, "num_batches_tracked")) unexpected.push_back(k);
  }
  if (!unexpected.empty()) {
    std::string list;
    for (const auto& k : unexpected) list += "\n  unexpected: " + k;
    throw InputError(detail::concat(source, ": not a checkpoint of ", from.describe(), ":", list));
  }
  for (size_t s = 0; s < old_stages; ++s)
    multi.stages()[s]->load_state_dict(strip_prefix(renamed, "stages." + std::to_string(s) + "."), true, source);

  // Stage N+1.
  Stage& fresh = *multi.stages()[old_stages];
  if (imagenet) {
    load_imagenet_encoder(*fresh.encoder, *imagenet, "stages." + std::to_string(old_stages) + ".encoder.");
  } else {
    const Stage& last = *multi.stages()[old_stages - 1];
    if (last.encoder->arch().depth != fresh.encoder->arch().depth)
      throw InputError(detail::concat("cannot initialise the new ResNet-", fresh.encoder->arch().depth,
                                      " stage from the last stage (ResNet-", last.encoder->arch().depth,
                                      "): give ImageNet weights (pretrained r", fresh.encoder->arch().depth,
                                      "=PATH) or grow with the same depth"));
    std::map<std::string, Tensor> copy;
    for (const auto& [k, v] : last.state_dict())
      if (k.rfind("encoder.conv1.", 0) != 0 && k.rfind("encoder.bn1.", 0) != 0) copy.emplace(k, v);
    const LoadReport report = fresh.load_state_dict(copy, /*strict=*/false, "stage " + std::to_string(old_stages));
    // Only the tick may be absent (stage 1 has none): everything else must match.
    bool ok = report.unexpected.empty() && report.mismatched.empty();
    for (const auto& k : report.missing) ok = ok && k.rfind("tick", 0) == 0;
    PN_CHECK(ok, "growing ", from.name(), ": the new stage does not match the last one:\n", report.str());
  }
  return model;
}

}  // namespace posenet::models
