#include "kernels/loss.h"

#include "core/autograd.h"
#include "kernels/loss_kernels.h"
#include "kernels/dispatch.h"

// The registry entries of this family's kernels (kernels/loss_kernels.h).
PN_DEFINE_KERNEL_ENTRIES(PN_LOSS_KERNELS)

namespace posenet::ops {

namespace {

struct WeightedMseNode final : Node {
  Tensor pred, target, weight;
  const char* name() const override { return "weighted_mse"; }
  std::vector<Tensor> backward(const Tensor& g) override {
    Tensor dpred = Tensor::empty(pred.shape(), pred.dtype(), pred.device());
    PN_DISPATCH(pred.device(), weighted_mse_backward, pred, target, weight, g, dpred);
    return {dpred};
  }
  void release() override { pred = target = weight = Tensor(); }
};

}  // namespace

Tensor weighted_mse(const Tensor& pred, const Tensor& target, const Tensor& weight) {
  check_rank(pred, 4, "weighted_mse", "prediction");
  check_rank(target, 4, "weighted_mse", "target");
  check_rank(weight, 2, "weighted_mse", "weight");
  check_same_device_dtype(pred, target, "weighted_mse");
  check_same_device_dtype(pred, weight, "weighted_mse");
  PN_CHECK(pred.shape() == target.shape(), "weighted_mse: prediction ", shape_str(pred.shape()), " and target ",
           shape_str(target.shape()), " differ in shape");
  PN_CHECK(weight.dim(0) == pred.dim(0) && weight.dim(1) == pred.dim(3), "weighted_mse: weight has shape ",
           shape_str(weight.shape()), ", expected [", pred.dim(0), ", ", pred.dim(3), "] (batch, joints) for heatmaps ",
           shape_str(pred.shape()));
  PN_CHECK(pred.numel() > 0, "weighted_mse: empty prediction ", shape_str(pred.shape()));
  Tensor out = Tensor::empty({}, pred.dtype(), pred.device());
  PN_DISPATCH(pred.device(), weighted_mse_forward, pred, target, weight, out);
  if (any_requires_grad({&pred})) {
    auto node = std::make_shared<WeightedMseNode>();
    node->pred = pred.detach();
    node->target = target.detach();
    node->weight = weight.detach();
    record(out, node, {&pred});
  }
  return out;
}

}  // namespace posenet::ops
