// ImageNet-pretrained ResNet weights (torchvision or timm checkpoints saved
// as safetensors: conv1.*, bn1.*, layer1..4.*, fc.*) into the encoders of a
// pose model, one file per ResNet depth: a multi-stage model mixes depths
// (multistage:r101,r50,r50 needs a ResNet-101 and a ResNet-50 file).
//
// Each encoder loads the file of its depth under its prefix ("encoder." or
// "stages.<s>.encoder."); fc.* and *.num_batches_tracked are ignored, and
// encoders without a stem (stages after the first) ignore conv1.*/bn1.*.
// Every file and every encoder is checked before anything is copied, so a
// failure leaves the model as it was. Strict (default): a missing,
// unexpected or mis-shaped key, or an encoder depth without a file, is one
// InputError naming the files and the full parameter names; lenient loads
// what matches, leaves encoders without a file at their initialisation and
// reports the rest. A file for a depth the model has no encoder of is an
// error in both modes.
#pragma once
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "layers/module.h"
#include "models/pose_model.h"
#include "models/resnet.h"
#include "models/spec.h"

namespace posenet::models {

// The weights of one ResNet depth and the file they came from (for messages).
struct ImageNetWeights {
  std::string source;
  std::map<std::string, Tensor> state;  // torchvision names, fc.* dropped
};
using ImageNetWeightsByDepth = std::map<int, ImageNetWeights>;
using PretrainedFiles = std::map<int, std::filesystem::path>;  // ResNet depth -> file

// The value of `--pretrained` (config key `pretrained`): "r101=PATH,r50=PATH"
// (one file per depth), or a plain PATH when every encoder of the model has
// the same depth. Checks the syntax and that each depth is one of the
// model's; reads no file. Empty value: no files. InputError otherwise,
// naming the value and showing the rD=PATH syntax.
PretrainedFiles parse_pretrained_files(const std::string& value, const ModelSpec& spec);
// The InputError strict loading gives for encoder depths of `spec` without a
// file, found before any file is read (a run fails before reading its data).
void check_every_depth_has_a_file(const PretrainedFiles& files, const ModelSpec& spec);

// Reads a checkpoint's float tensors, dropping fc.* and *.num_batches_tracked
// (stored as I64). Any other non-float entry is an InputError.
std::map<std::string, Tensor> read_imagenet_checkpoint(const std::filesystem::path& path);
ImageNetWeights read_imagenet_weights(const std::filesystem::path& path);
ImageNetWeightsByDepth read_imagenet_weights(const PretrainedFiles& files);

// Encoders of the model whose depth had no file (lenient loading only).
struct PretrainedReport : LoadReport {
  std::vector<std::string> without_weights;  // encoder prefixes, e.g. "stages.1.encoder."
};

// One encoder, named `prefix` in messages and in the report, from the
// weights of its depth; nothing is copied unless everything fits (strict).
PretrainedReport load_imagenet_encoder(ResNetEncoder& encoder, const ImageNetWeights& weights,
                                       const std::string& prefix, bool lenient = false);

// Every encoder of the model from the weights of its depth. The report's
// missing/mismatched/loaded names carry the encoder prefixes; unexpected
// names are the files' keys (once per file).
PretrainedReport load_pretrained(PoseModel& model, const ImageNetWeightsByDepth& weights, bool lenient = false);
PretrainedReport load_pretrained(PoseModel& model, const PretrainedFiles& files, bool lenient = false);
// One file for a model whose encoders all have one depth.
PretrainedReport load_pretrained(PoseModel& model, const std::filesystem::path& path, bool lenient = false);

}  // namespace posenet::models
