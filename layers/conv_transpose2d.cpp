#include "layers/conv_transpose2d.h"

#include "layers/fold_batch_norm.h"
#include "layers/init.h"
#include "layers/mixed_precision.h"

namespace posenet {

ConvTranspose2d::ConvTranspose2d(const ConvTranspose2dOptions& o, Generator& gen)
    : Module("ConvTranspose2d"), options_(o) {
  PN_CHECK(o.in_channels > 0 && o.out_channels > 0 && o.kernel_size > 0 && o.stride > 0 && o.padding >= 0 &&
               o.output_padding >= 0 && o.dilation > 0,
           "ConvTranspose2d: invalid options (in ", o.in_channels, ", out ", o.out_channels, ", kernel ",
           o.kernel_size, ", stride ", o.stride, ", padding ", o.padding, ", output_padding ", o.output_padding,
           ", dilation ", o.dilation, ")");
  // PyTorch's rule: output_padding must be smaller than stride or dilation.
  PN_CHECK(o.output_padding < o.stride || o.output_padding < o.dilation, "ConvTranspose2d: output_padding ",
           o.output_padding, " must be smaller than stride ", o.stride, " or dilation ", o.dilation);
  Tensor w = Tensor::zeros({o.in_channels, o.kernel_size, o.kernel_size, o.out_channels});
  init::kaiming_normal_fan_out_(w, TorchLayout::ChannelsLastToSecond, gen);
  weight_ = register_parameter("weight", w, TorchLayout::ChannelsLastToSecond);
  if (o.bias) bias_ = register_parameter("bias", Tensor::zeros({o.out_channels}));
}

Tensor ConvTranspose2d::forward(const Tensor& x) {
  const auto params = ops::ConvTranspose2dParams::square(options_.stride, options_.padding, options_.output_padding,
                                                         options_.dilation);
  // Folded models infer in float32 only (eval and predict); folded_for names a mismatch.
  if (folded_weight_.defined() && !is_training())
    return ops::conv_transpose2d(x, folded_for(folded_weight_, x, "ConvTranspose2d"), Tensor(), params);
  return ops::conv_transpose2d(x, param_for(weight_, x), param_for(bias_, x), params);
}

}  // namespace posenet
