#include "kernels/batchnorm_sync.h"

#include "core/autograd.h"
#include "kernels/batchnorm_kernels.h"
#include "kernels/batchnorm_sync_kernels.h"
#include "kernels/dispatch.h"

// The registry entries of this family's kernels (kernels/batchnorm_sync_kernels.h).
PN_DEFINE_KERNEL_ENTRIES(PN_BATCHNORM_SYNC_KERNELS)

namespace posenet::ops {

namespace {

thread_local const CrossProcessSum* active_sum = nullptr;

// Inputs (x, weight, bias, residual), as BatchNormNode's; the sum is kept so
// that backward reduces with the same processes as forward did.
struct SyncBatchNormNode final : Node {
  Tensor x, y, mean, invstd, weight;  // y only with relu (the mask)
  bool relu = false;
  bool need_dx = false, need_dweight = false, need_dbias = false, need_dresidual = false;
  CrossProcessSum sum;
  const char* name() const override { return "sync_batch_norm_add_relu"; }
  std::vector<Tensor> backward(const Tensor& g) override {
    const int64_t C = x.dim(-1);
    Tensor dx, dweight, dbias, dresidual;
    if (need_dweight) dweight = Tensor::empty({C}, x.dtype(), x.device());
    if (need_dbias) dbias = Tensor::empty({C}, x.dtype(), x.device());
    Tensor sums = Tensor::empty({2 * C + 1}, DType::F64, x.device());
    PN_DISPATCH(x.device(), batch_norm_backward_sums, x, y, g, mean, invstd, relu, sums, dweight, dbias);
    sum(sums);  // every process, whatever it needs: the collective must match
    if (need_dx) dx = Tensor::empty(x.shape(), x.dtype(), x.device());
    if (need_dresidual) dresidual = Tensor::empty(x.shape(), x.dtype(), x.device());
    if (need_dx || need_dresidual)
      PN_DISPATCH(x.device(), batch_norm_backward_from_sums, x, y, g, mean, invstd, weight, sums, relu, dx, dresidual);
    return {dx, dweight, dbias, dresidual};
  }
  void release() override { x = y = mean = invstd = weight = Tensor(); }
};

}  // namespace

SyncBatchNormScope::SyncBatchNormScope(CrossProcessSum sum) : previous_(active_sum), sum_(std::move(sum)) {
  active_sum = &sum_;
}

SyncBatchNormScope::~SyncBatchNormScope() { active_sum = previous_; }

const CrossProcessSum* active_batch_norm_sync() { return active_sum; }

Tensor sync_batch_norm_add_relu(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor& running_mean,
                                Tensor& running_var, const BatchNormParams& p, const Tensor& residual, bool relu,
                                const CrossProcessSum& sum) {
  const int64_t C = x.dim(-1);
  Tensor sums = Tensor::empty({2 * C + 1}, DType::F64, x.device());
  PN_DISPATCH(x.device(), batch_norm_shifted_sums, x, running_mean, sums);
  sum(sums);
  Tensor mean = Tensor::empty({C}, x.dtype(), x.device());
  Tensor invstd = Tensor::empty({C}, x.dtype(), x.device());
  PN_DISPATCH(x.device(), batch_norm_stats_from_sums, sums, p.eps, p.momentum, mean, invstd, running_mean, running_var);
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
  PN_DISPATCH(x.device(), batch_norm_apply, x, mean, invstd, weight, bias, residual, relu, y);

  if (any_requires_grad({&x, &weight, &bias, &residual})) {
    auto node = std::make_shared<SyncBatchNormNode>();
    node->x = x.detach();
    if (relu) node->y = y.detach();
    node->mean = mean;
    node->invstd = invstd;
    node->weight = weight.detach();
    node->relu = relu;
    node->need_dx = x.requires_grad();
    node->need_dweight = weight.requires_grad();
    node->need_dbias = bias.requires_grad();
    node->need_dresidual = residual.defined() && residual.requires_grad();
    node->sum = sum;
    record(y, node, {&x, &weight, &bias, &residual});
  }
  return y;
}

}  // namespace posenet::ops
