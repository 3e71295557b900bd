#include "layers/batchnorm2d.h"

#include "core/autograd.h"
#include "kernels/conv_epilogue.h"
#include "layers/fold_batch_norm.h"

namespace posenet {

BatchNorm2d::BatchNorm2d(int64_t channels, double eps, double momentum)
    : Module("BatchNorm2d"), channels_(channels), eps_(eps), momentum_(momentum) {
  PN_CHECK(channels > 0, "BatchNorm2d: channels must be positive, got ", channels);
  PN_CHECK(eps > 0 && momentum >= 0 && momentum <= 1, "BatchNorm2d: invalid eps ", eps, " or momentum ", momentum);
  weight_ = register_parameter("weight", Tensor::full({channels}, 1.0));
  bias_ = register_parameter("bias", Tensor::zeros({channels}));
  running_mean_ = register_buffer("running_mean", Tensor::zeros({channels}));
  running_var_ = register_buffer("running_var", Tensor::full({channels}, 1.0));
  register_counter("num_batches_tracked", &num_batches_tracked_);
}

ops::BatchNormParams BatchNorm2d::params() const {
  ops::BatchNormParams p;
  p.training = is_training();
  p.momentum = momentum_;
  p.eps = eps_;
  return p;
}

Tensor BatchNorm2d::forward(const Tensor& x) {
  if (folded_bias_.defined() && !is_training()) return forward_add_relu(x, Tensor(), false);
  Tensor y = ops::batch_norm(x, weight_, bias_, running_mean_, running_var_, params());
  if (is_training()) ++num_batches_tracked_;
  return y;
}

Tensor BatchNorm2d::forward_add_relu(const Tensor& x, const Tensor& residual, bool relu) {
  if (folded_bias_.defined() && !is_training()) {
    // A folded model only infers (its folded weights carry no gradient).
    const NoGradGuard no_grad;
    Tensor y = x;  // the folded convolution's fresh output: updated in place
    return ops::conv_bias_residual_relu_(y, folded_for(folded_bias_, x, "BatchNorm2d"), residual, relu);
  }
  Tensor y = ops::batch_norm_add_relu(x, weight_, bias_, running_mean_, running_var_, params(), residual, relu);
  if (is_training()) ++num_batches_tracked_;
  return y;
}

}  // namespace posenet
