#include "kernels/batchnorm.h"

#include "core/autograd.h"
#include "kernels/batchnorm_kernels.h"
#include "kernels/batchnorm_sync.h"
#include "kernels/dispatch.h"

// The registry entries of this family's kernels (kernels/batchnorm_kernels.h).
PN_DEFINE_KERNEL_ENTRIES(PN_BATCHNORM_KERNELS)

namespace posenet::ops {

namespace {

// One node for the whole fused op: inputs (x, weight, bias, residual).
struct BatchNormNode final : Node {
  Tensor x, y, mean, invstd, weight;  // y only with relu (the mask)
  bool relu = false, training = true;
  bool need_dx = false, need_dweight = false, need_dbias = false, need_dresidual = false;
  const char* name() const override { return "batch_norm_add_relu"; }
  std::vector<Tensor> backward(const Tensor& g) override {
    const Shape cshape{x.dim(-1)};
    Tensor dx, dweight, dbias, dresidual;
    if (need_dx) dx = Tensor::empty(x.shape(), x.dtype(), x.device());
    if (need_dweight) dweight = Tensor::empty(cshape, compute_dtype(x.dtype()), x.device());
    if (need_dbias) dbias = Tensor::empty(cshape, compute_dtype(x.dtype()), x.device());
    if (need_dresidual) dresidual = Tensor::empty(x.shape(), x.dtype(), x.device());
    PN_DISPATCH(x.device(), batch_norm_backward, x, y, g, mean, invstd, weight, relu, training, dx, dweight, dbias,
                dresidual);
    return {dx, dweight, dbias, dresidual};
  }
  void release() override { x = y = mean = invstd = weight = Tensor(); }
};

void check_channel_tensor(const Tensor& t, const Tensor& x, const char* what) {
  PN_CHECK(t.defined(), "batch_norm: ", what, " is undefined");
  PN_CHECK(t.ndim() == 1 && t.dim(0) == x.dim(-1), "batch_norm: ", what, " has shape ", shape_str(t.shape()),
           ", expected [", x.dim(-1), "] for input ", shape_str(x.shape()));
  // bfloat16 activations keep float32 statistics and affine parameters.
  PN_CHECK(t.device() == x.device() && t.dtype() == compute_dtype(x.dtype()), "batch_norm: ", what, " is ",
           t.str(), ", expected ", dtype_name(compute_dtype(x.dtype())), " on ", x.device().str(), " for input ",
           x.str());
}

}  // namespace

Tensor batch_norm_add_relu(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor& running_mean,
                           Tensor& running_var, const BatchNormParams& p, const Tensor& residual, bool relu) {
  PN_CHECK(x.defined() && x.ndim() >= 2, "batch_norm: input must have at least 2 dimensions (channels last), got ",
           x.defined() ? shape_str(x.shape()) : std::string("an undefined tensor"));
  const int64_t C = x.dim(-1);
  PN_CHECK(C > 0 && x.numel() > 0, "batch_norm: empty input ", shape_str(x.shape()));
  check_channel_tensor(weight, x, "weight");
  check_channel_tensor(bias, x, "bias");
  check_channel_tensor(running_mean, x, "running_mean");
  check_channel_tensor(running_var, x, "running_var");
  if (residual.defined()) {
    check_same_device_dtype(residual, x, "batch_norm_add_relu");
    PN_CHECK(residual.shape() == x.shape(), "batch_norm_add_relu: residual shape ", shape_str(residual.shape()),
             " differs from input shape ", shape_str(x.shape()));
  }
  PN_CHECK(p.eps > 0, "batch_norm: eps must be positive, got ", p.eps);
  const int64_t per_channel = x.numel() / C;
  PN_CHECK(!p.training || per_channel > 1, "batch_norm: expected more than 1 value per channel when training, got input of shape ",
           shape_str(x.shape()), " (batch statistics of a single value are undefined; use eval mode or a larger batch)");
  if (const CrossProcessSum* sum = p.training ? active_batch_norm_sync() : nullptr)
    return sync_batch_norm_add_relu(x, weight, bias, running_mean, running_var, p, residual, relu, *sum);

  Tensor mean = Tensor::empty({C}, compute_dtype(x.dtype()), x.device());
  Tensor invstd = Tensor::empty({C}, compute_dtype(x.dtype()), x.device());
  if (p.training) {
    PN_DISPATCH(x.device(), batch_norm_train_stats, x, p.eps, p.momentum, mean, invstd, running_mean, running_var);
  } else {
    PN_DISPATCH(x.device(), batch_norm_eval_stats, running_mean, running_var, p.eps, mean, invstd);
  }
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
  PN_DISPATCH(x.device(), batch_norm_apply, x, mean, invstd, weight, bias, residual, relu, y);

  if (any_requires_grad({&x, &weight, &bias, &residual})) {
    auto node = std::make_shared<BatchNormNode>();
    node->x = x.detach();
    if (relu) node->y = y.detach();
    node->mean = mean;
    node->invstd = invstd;
    node->weight = weight.detach();
    node->relu = relu;
    node->training = p.training;
    node->need_dx = x.requires_grad();
    node->need_dweight = weight.requires_grad();
    node->need_dbias = bias.requires_grad();
    node->need_dresidual = residual.defined() && residual.requires_grad();
    record(y, node, {&x, &weight, &bias, &residual});
  }
  return y;
}

Tensor batch_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor& running_mean,
                  Tensor& running_var, const BatchNormParams& p) {
  return batch_norm_add_relu(x, weight, bias, running_mean, running_var, p, Tensor(), false);
}

}  // namespace posenet::ops
