#include "kernels/targets.h"

#include <cmath>

#include "core/autograd.h"
#include "kernels/targets_kernels.h"
#include "kernels/dispatch.h"

// The registry entries of this family's kernels (kernels/targets_kernels.h).
PN_DEFINE_KERNEL_ENTRIES(PN_TARGETS_KERNELS)

namespace posenet::ops {

void GaussianTargetSpec::validate() const {
  PN_CHECK(height > 0 && width > 0, "gaussian targets: heatmap size must be positive, got ", height, "x", width);
  PN_CHECK(stride_x > 0 && stride_y > 0 && std::isfinite(stride_x) && std::isfinite(stride_y),
           "gaussian targets: stride must be positive, got ", stride_x, "x", stride_y);
  PN_CHECK(sigma > 0 && std::isfinite(sigma), "gaussian targets: sigma must be positive, got ", sigma);
  PN_CHECK(cutoff_sigma >= 0 && std::isfinite(cutoff_sigma),
           "gaussian targets: cut-off sigma must be positive (or 0 = sigma), got ", cutoff_sigma);
}

namespace {

void check_joints(const Tensor& joints, const Tensor& weight, const char* op) {
  check_rank(joints, 3, op, "joints");
  check_rank(weight, 2, op, "weight");
  check_same_device_dtype(joints, weight, op);
  PN_CHECK(joints.dim(2) == 2, op, ": joints have shape ", shape_str(joints.shape()), ", expected [B, J, 2]");
  PN_CHECK(weight.dim(0) == joints.dim(0) && weight.dim(1) == joints.dim(1), op, ": weight has shape ",
           shape_str(weight.shape()), ", expected [", joints.dim(0), ", ", joints.dim(1), "] for joints ",
           shape_str(joints.shape()));
}

struct GaussianWeightedMseNode final : Node {
  Tensor pred, joints, weight;
  GaussianTargetSpec spec;
  const char* name() const override { return "gaussian_weighted_mse"; }
  std::vector<Tensor> backward(const Tensor& g) override {
    Tensor dpred = Tensor::empty(pred.shape(), pred.dtype(), pred.device());
    PN_DISPATCH(pred.device(), gaussian_weighted_mse_backward, pred, joints, weight, spec, g, dpred);
    return {dpred};
  }
  void release() override { pred = joints = weight = Tensor(); }
};

}  // namespace

GaussianTargets gaussian_targets(const Tensor& joints, const Tensor& weight, const GaussianTargetSpec& spec) {
  spec.validate();
  check_joints(joints, weight, "gaussian_targets");
  const int64_t B = joints.dim(0), J = joints.dim(1);
  GaussianTargets t;
  t.maps = Tensor::empty({B, spec.height, spec.width, J}, joints.dtype(), joints.device());
  t.weights = Tensor::empty({B, J}, joints.dtype(), joints.device());
  if (B * J == 0) return t;
  PN_DISPATCH(joints.device(), gaussian_targets, joints.detach(), weight.detach(), spec, t.maps, t.weights);
  return t;
}

Tensor gaussian_weighted_mse(const Tensor& pred, const Tensor& joints, const Tensor& weight,
                             const GaussianTargetSpec& spec) {
  spec.validate();
  check_joints(joints, weight, "gaussian_weighted_mse");
  check_rank(pred, 4, "gaussian_weighted_mse", "prediction");
  check_same_device_dtype(pred, joints, "gaussian_weighted_mse");
  PN_CHECK(pred.dim(0) == joints.dim(0) && pred.dim(1) == spec.height && pred.dim(2) == spec.width &&
               pred.dim(3) == joints.dim(1),
           "gaussian_weighted_mse: prediction ", shape_str(pred.shape()), ", expected [", joints.dim(0), ", ",
           spec.height, ", ", spec.width, ", ", joints.dim(1), "] (batch, heatmap size, joints)");
  PN_CHECK(pred.numel() > 0, "gaussian_weighted_mse: empty prediction ", shape_str(pred.shape()));
  Tensor out = Tensor::empty({}, pred.dtype(), pred.device());
  PN_DISPATCH(pred.device(), gaussian_weighted_mse_forward, pred, joints.detach(), weight.detach(), spec, out);
  if (any_requires_grad({&pred})) {
    auto node = std::make_shared<GaussianWeightedMseNode>();
    node->pred = pred.detach();
    node->joints = joints.detach();
    node->weight = weight.detach();
    node->spec = spec;
    record(out, node, {&pred});
  }
  return out;
}

}  // namespace posenet::ops
