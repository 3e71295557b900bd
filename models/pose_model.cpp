#include "models/pose_model.h"

#include "kernels/cast.h"
#include "models/resnet.h"

namespace posenet::models {

void PoseModel::set_activation_dtype(DType dtype) {
  activation_dtype_ = dtype;
  const std::optional<DType> stem_cast = dtype == DType::BF16 ? std::optional<DType>(dtype) : std::nullopt;
  for (const auto& [prefix, encoder] : encoders())
    if (encoder->has_stem()) encoder->set_stem_output_dtype(stem_cast);
}

Tensor PoseModel::heatmaps_like(const Tensor& heatmaps, const Tensor& image) {
  return ops::cast(heatmaps, image.dtype());
}

}  // namespace posenet::models
