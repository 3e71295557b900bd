#include "layers/conv2d.h"

#include "layers/fold_batch_norm.h"
#include "layers/init.h"
#include "layers/mixed_precision.h"

namespace posenet {

Conv2d::Conv2d(const Conv2dOptions& o, Generator& gen) : Module("Conv2d"), options_(o) {
  PN_CHECK(o.in_channels > 0 && o.out_channels > 0 && o.kernel_size > 0 && o.stride > 0 && o.padding >= 0 &&
               o.dilation > 0,
           "Conv2d: invalid options (in ", o.in_channels, ", out ", o.out_channels, ", kernel ", o.kernel_size,
           ", stride ", o.stride, ", padding ", o.padding, ", dilation ", o.dilation, ")");
  Tensor w = Tensor::zeros({o.out_channels, o.kernel_size, o.kernel_size, o.in_channels});
  init::kaiming_normal_fan_out_(w, TorchLayout::ChannelsLastToSecond, gen);
  weight_ = register_parameter("weight", w, TorchLayout::ChannelsLastToSecond);
  if (o.bias) bias_ = register_parameter("bias", Tensor::zeros({o.out_channels}));
}

Tensor Conv2d::forward(const Tensor& x) {
  const auto params = ops::Conv2dParams::square(options_.stride, options_.padding, options_.dilation);
  // Folded models infer in float32 only (eval and predict); folded_for names a mismatch.
  if (folded_weight_.defined() && !is_training())
    return ops::conv2d(x, folded_for(folded_weight_, x, "Conv2d"), Tensor(), params);
  return ops::conv2d(x, param_for(weight_, x), param_for(bias_, x), params);
}

}  // namespace posenet
