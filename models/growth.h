// Checkpoint surgery for stage-by-stage growth, apart from the model-name
// grammar (models/spec.h).
#pragma once
#include <map>
#include <memory>
#include <string>

#include "core/rng.h"
#include "core/tensor.h"
#include "models/spec.h"

namespace posenet::models {

struct ImageNetWeights;  // models/pretrained.h

// Stage-by-stage growth (the paper trains a triple-stage model, then turns it
// into a quad-stage one). grown_spec appends a stage of new_depth (0: the
// last stage's depth); a single-stage hourglass grows into a 2-stage model.
ModelSpec grown_spec(const ModelSpec& from, int new_depth = 0);

// Builds grown_spec(from, new_depth) and fills it from from_state (the
// N-stage model's state_dict(), PyTorch layouts): stages 1..N are copied
// exactly; the new stage's encoder comes from `imagenet` (torchvision/timm
// ResNet weights of the new stage's depth, fc.* ignored) when given, with
// its decoder, head and tick freshly initialised; otherwise the whole new
// stage (layer1..4, decoder, head, and the tick when the last stage has one)
// copies the last stage's weights. Throws InputError naming every missing,
// unexpected or mis-shaped key of from_state (source names it in messages)
// or of the ImageNet weights (with the new encoder's full names).
std::shared_ptr<PoseModel> grow_model(const ModelSpec& from, const std::map<std::string, Tensor>& from_state,
                                      Generator& gen, const ImageNetWeights* imagenet = nullptr,
                                      int new_depth = 0, const std::string& source = "checkpoint");

}  // namespace posenet::models
