#include "models/decoder.h"

#include "core/error.h"
#include "layers/init.h"

namespace posenet::models {

namespace {
constexpr double kDecoderInitStd = 0.001;  // Simple Baselines' deconv and final-layer init
}

DeconvDecoder::DeconvDecoder(const std::array<int64_t, 4>& encoder_channels, int64_t channels, bool laterals,
                             Generator& gen)
    : Module("DeconvDecoder"), channels_(channels), laterals_(laterals) {
  PN_CHECK(channels > 0, "decoder channels must be positive, got ", channels);
  int64_t cin = encoder_channels[3];
  for (size_t i = 0; i < 3; ++i) {
    const std::string n = std::to_string(i + 1);
    deconv_[i] = register_module(
        "deconv" + n, std::make_shared<ConvTranspose2d>(ConvTranspose2dOptions{cin, channels, 4, 2, 1, 0, 1, false}, gen));
    init::normal_(deconv_[i]->weight(), TorchLayout::ChannelsLastToSecond, kDecoderInitStd, gen);
    deconv_bn_[i] = register_module("deconv_bn" + n, std::make_shared<BatchNorm2d>(channels));
    if (laterals) {
      lateral_[i] = register_module(
          "lateral" + n,
          std::make_shared<Conv2d>(Conv2dOptions{encoder_channels[2 - i], channels, 1, 1, 0, 1, false}, gen));
      init::normal_(lateral_[i]->weight(), TorchLayout::ChannelsLastToSecond, kDecoderInitStd, gen);
      lateral_bn_[i] = register_module("lateral_bn" + n, std::make_shared<BatchNorm2d>(channels));
    }
    cin = channels;
  }
}

Tensor DeconvDecoder::forward_features(const std::array<Tensor, 4>& features) {
  Tensor x = features[3];
  for (size_t i = 0; i < 3; ++i) {
    Tensor lateral;
    Tensor up = deconv_[i]->forward(x);
    if (laterals_) {
      const Tensor& c = features[2 - i];
      PN_CHECK(c.dim(1) == up.dim(1) && c.dim(2) == up.dim(2), "decoder: deconvolution ", i + 1, " gives ",
               shape_str(up.shape()), " but the encoder feature it is added to is ", shape_str(c.shape()),
               " (input sides must be multiples of 32)");
      lateral = lateral_bn_[i]->forward(lateral_[i]->forward(c));
    }
    x = deconv_bn_[i]->forward_add_relu(up, lateral, /*relu=*/true);
  }
  return x;
}

std::shared_ptr<Conv2d> make_heatmap_head(int64_t channels, int joints, Generator& gen) {
  auto head = std::make_shared<Conv2d>(Conv2dOptions{channels, joints, 1, 1, 0, 1, /*bias=*/true}, gen);
  init::normal_(head->weight(), TorchLayout::ChannelsLastToSecond, kDecoderInitStd, gen);
  Tensor bias = head->bias();
  bias.zero_();
  return head;
}

}  // namespace posenet::models
