// ImageNet-pretrained ResNet weights (torchvision or timm checkpoints saved
// as safetensors: conv1.*, bn1.*, layer1..4.*, fc.*) into the encoders of a
// pose model. fc.* and *.num_batches_tracked are ignored; every encoder gets
// the weights under its prefix ("encoder." or "stages.<s>.encoder."), and
// encoders without a stem (stages after the first) ignore conv1.*/bn1.*.
// Strict (default): any missing, unexpected or mis-shaped key is an
// InputError naming the file and every such key; lenient loads what matches
// and reports the rest.
#pragma once
#include <filesystem>
#include <map>
#include <string>

#include "core/tensor.h"
#include "layers/module.h"
#include "models/pose_model.h"
#include "models/resnet.h"

namespace posenet::models {

// Reads a checkpoint's float tensors, dropping fc.* and *.num_batches_tracked
// (stored as I64). Any other non-float entry is an InputError.
std::map<std::string, Tensor> read_imagenet_checkpoint(const std::filesystem::path& path);

// One encoder from a torchvision-named state dict.
LoadReport load_imagenet_encoder(ResNetEncoder& encoder, const std::map<std::string, Tensor>& state, bool lenient,
                                 const std::string& source);

// Every encoder of the model; the report's names carry the encoder prefixes.
LoadReport load_pretrained(PoseModel& model, const std::map<std::string, Tensor>& state, bool lenient,
                           const std::string& source);
LoadReport load_pretrained(PoseModel& model, const std::filesystem::path& path, bool lenient = false);

}  // namespace posenet::models
