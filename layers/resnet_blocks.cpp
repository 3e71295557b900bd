#include "layers/resnet_blocks.h"

namespace posenet {

std::shared_ptr<Conv2d> conv3x3(int64_t in, int64_t out, int stride, Generator& gen) {
  return std::make_shared<Conv2d>(
      Conv2dOptions{.in_channels = in, .out_channels = out, .kernel_size = 3, .stride = stride, .padding = 1,
                    .bias = false},
      gen);
}

std::shared_ptr<Conv2d> conv1x1(int64_t in, int64_t out, int stride, Generator& gen) {
  return std::make_shared<Conv2d>(
      Conv2dOptions{.in_channels = in, .out_channels = out, .kernel_size = 1, .stride = stride, .bias = false}, gen);
}

namespace {

std::shared_ptr<Sequential> make_downsample(int64_t inplanes, int64_t out, int stride, Generator& gen) {
  if (stride == 1 && inplanes == out) return nullptr;
  auto seq = std::make_shared<Sequential>();
  seq->push_back(conv1x1(inplanes, out, stride, gen));
  seq->push_back(std::make_shared<BatchNorm2d>(out));
  return seq;
}

}  // namespace

BasicBlock::BasicBlock(int64_t inplanes, int64_t planes, int stride, Generator& gen)
    : Module("BasicBlock"), planes_(planes) {
  // Registration order follows torchvision's __init__ (parameter order).
  conv1 = register_module("conv1", conv3x3(inplanes, planes, stride, gen));
  bn1 = register_module("bn1", std::make_shared<BatchNorm2d>(planes));
  conv2 = register_module("conv2", conv3x3(planes, planes, 1, gen));
  bn2 = register_module("bn2", std::make_shared<BatchNorm2d>(planes));
  if (auto ds = make_downsample(inplanes, planes * expansion, stride, gen))
    downsample = register_module("downsample", ds);
}

Tensor BasicBlock::forward(const Tensor& x) {
  Tensor out = bn1->forward_add_relu(conv1->forward(x), Tensor(), true);
  out = conv2->forward(out);
  Tensor identity = downsample ? downsample->forward(x) : x;
  return bn2->forward_add_relu(out, identity, true);
}

Bottleneck::Bottleneck(int64_t inplanes, int64_t planes, int stride, Generator& gen)
    : Module("Bottleneck"), planes_(planes) {
  const int64_t width = planes;  // base_width 64, groups 1
  conv1 = register_module("conv1", conv1x1(inplanes, width, 1, gen));
  bn1 = register_module("bn1", std::make_shared<BatchNorm2d>(width));
  conv2 = register_module("conv2", conv3x3(width, width, stride, gen));
  bn2 = register_module("bn2", std::make_shared<BatchNorm2d>(width));
  conv3 = register_module("conv3", conv1x1(width, planes * expansion, 1, gen));
  bn3 = register_module("bn3", std::make_shared<BatchNorm2d>(planes * expansion));
  if (auto ds = make_downsample(inplanes, planes * expansion, stride, gen))
    downsample = register_module("downsample", ds);
}

Tensor Bottleneck::forward(const Tensor& x) {
  Tensor out = bn1->forward_add_relu(conv1->forward(x), Tensor(), true);
  out = bn2->forward_add_relu(conv2->forward(out), Tensor(), true);
  out = conv3->forward(out);
  Tensor identity = downsample ? downsample->forward(x) : x;
  return bn3->forward_add_relu(out, identity, true);
}

}  // namespace posenet
