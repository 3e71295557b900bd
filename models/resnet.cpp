#include "models/resnet.h"

#include "core/error.h"
#include "kernels/cast.h"
#include "layers/resnet_blocks.h"

namespace posenet::models {

ResNetEncoder::ResNetEncoder(int depth, double width, bool with_stem, Generator& gen)
    : Module("ResNet"),
      arch_(resnet_arch(depth)),
      width_(width),
      with_stem_(with_stem),
      stem_channels_(models::stem_channels(width)),
      out_channels_(encoder_channels(arch_, width)) {
  if (with_stem) {
    conv1_ = register_module("conv1", std::make_shared<Conv2d>(
                                          Conv2dOptions{3, stem_channels_, 7, 2, 3, 1, /*bias=*/false}, gen));
    bn1_ = register_module("bn1", std::make_shared<BatchNorm2d>(stem_channels_));
    maxpool_ = register_module("maxpool", std::make_shared<MaxPool2d>(3, 2, 1));
  }
  // torchvision's _make_layer: the first block of layer2..4 has stride 2;
  // the blocks decide themselves whether they need a downsample branch.
  int64_t inplanes = stem_channels_;
  for (int layer = 1; layer <= 4; ++layer) {
    auto seq = std::make_shared<Sequential>();
    const int64_t planes = layer_planes(layer, width);
    for (int b = 0; b < arch_.blocks[size_t(layer - 1)]; ++b) {
      const int stride = (b == 0 && layer > 1) ? 2 : 1;
      if (arch_.bottleneck) seq->push_back(std::make_shared<Bottleneck>(inplanes, planes, stride, gen));
      else seq->push_back(std::make_shared<BasicBlock>(inplanes, planes, stride, gen));
      inplanes = planes * arch_.expansion();
    }
    layers_[size_t(layer - 1)] = register_module("layer" + std::to_string(layer), seq);
  }
}

Tensor ResNetEncoder::forward_stem(const Tensor& image) {
  PN_CHECK(with_stem_, "ResNet encoder without stem: forward_stem is not available");
  PN_CHECK(image.ndim() == 4 && image.dim(3) == 3, "ResNet encoder: expected an NHWC image batch [N, H, W, 3], got ",
           shape_str(image.shape()));
  Tensor stem = conv1_->forward(image);
  if (stem_output_dtype_) stem = ops::cast(stem, *stem_output_dtype_);
  Tensor y = bn1_->forward_add_relu(stem, Tensor(), /*relu=*/true);
  return maxpool_->forward(y);
}

std::array<Tensor, 4> ResNetEncoder::forward_layers(const Tensor& x) {
  PN_CHECK(x.ndim() == 4 && x.dim(3) == stem_channels_, "ResNet encoder: layer1 expects [N, H, W, ", stem_channels_,
           "], got ", shape_str(x.shape()));
  std::array<Tensor, 4> out;
  Tensor h = x;
  for (size_t i = 0; i < 4; ++i) out[i] = h = layers_[i]->forward(h);
  return out;
}

}  // namespace posenet::models
