// PoseModel: what every pose network offers the trainer and the evaluator.
// A forward pass returns the heatmaps of every stage (one for single-stage
// models), NHWC [N, H/4, W/4, J], and each stage's decoder output P_s
// ([N, H/4, W/4, decoder channels]).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "layers/module.h"
#include "models/spec.h"

namespace posenet::models {

class ResNetEncoder;

struct PoseOutput {
  std::vector<Tensor> heatmaps;  // H_1 .. H_S
  std::vector<Tensor> features;  // P_1 .. P_S
};

class PoseModel : public Module {
 public:
  PoseModel(std::string type_name, ModelSpec spec) : Module(std::move(type_name)), spec_(std::move(spec)) {}

  const ModelSpec& spec() const { return spec_; }
  int num_stages() const { return spec_.stages(); }

  // Heatmaps come in the image's dtype whatever the activations' (below).
  virtual PoseOutput forward_outputs(const Tensor& x) = 0;
  // Heatmaps of every stage, first stage first.
  std::vector<Tensor> forward_heatmaps(const Tensor& x) { return forward_outputs(x).heatmaps; }
  // The last stage's heatmaps (Module's single-output forward).
  Tensor forward(const Tensor& x) override { return forward_outputs(x).heatmaps.back(); }

  // Every ResNet encoder with the prefix of its names in state_dict()
  // ("encoder." or "stages.<s>.encoder."), first stage first.
  virtual std::vector<std::pair<std::string, std::shared_ptr<ResNetEncoder>>> encoders() const = 0;

  // Mixed precision: with DType::BF16, the activations after the stem
  // convolution (and their gradients) are bfloat16; weights, batch-norm
  // statistics and the optimizer's state stay in the parameters' dtype
  // (layers/mixed_precision.h), and the heatmaps are cast back to the
  // image's dtype, so the loss is float32. Any other dtype: no casts.
  void set_activation_dtype(DType dtype);
  DType activation_dtype() const { return activation_dtype_; }

 protected:
  // A head's output in the image's dtype (the cast back of mixed precision).
  static Tensor heatmaps_like(const Tensor& heatmaps, const Tensor& image);

 private:
  ModelSpec spec_;
  DType activation_dtype_ = DType::F32;
};

}  // namespace posenet::models
