#include "train/train_step.h"

#include <cmath>

#include "core/async_transfers.h"
#include "core/autograd.h"
#include "core/error.h"
#include "kernels/elementwise.h"
#include "kernels/finite.h"
#include "kernels/targets.h"
#include "train/targets.h"

namespace posenet::train {

namespace {

// The batch's tensor on `device`: a CPU tensor is used in place; otherwise
// it is uploaded through pinned staging, without waiting.
Tensor upload(const Tensor& host, Device device) {
  if (host.device() == device) return host;
  PN_CHECK(host.is_cpu(), "upload: the batch must be on the CPU, got ", host.str());
  Tensor t = Tensor::empty(host.shape(), host.dtype(), device);
  upload_async(device, t.raw_data(), host.raw_data(), host.nbytes());
  return t;
}

// The sum of every element of every tensor (each mapped by f), read back
// once: one reduction per tensor and no copy back to the host.
double total_of(const std::vector<Tensor>& tensors, Tensor (*f)(const Tensor&)) {
  NoGradGuard no_grad;
  Tensor total;
  for (const Tensor& t : tensors) {
    if (!t.defined() || t.numel() == 0) continue;
    Tensor s = ops::sum(f(t));
    total = total.defined() ? ops::add(total, s) : s;
  }
  return total.defined() ? total.item() : 0.0;
}

}  // namespace

// A NaN or Inf makes the plain sum non-finite; so can an overflow of large
// finite values, which the exact test (x * 0 is 0 for every finite x, NaN for
// NaN and Inf) then tells apart.
bool all_finite(const std::vector<Tensor>& tensors) {
  if (std::isfinite(total_of(tensors, [](const Tensor& t) { return t; }))) return true;
  return std::isfinite(total_of(tensors, [](const Tensor& t) { return ops::scale(t, 0.0); }));
}

TrainStepper::TrainStepper(models::PoseModel& model, Optimizer& optimizer, Device device,
                           const ops::ImageNormalization& normalization, DataParallel* parallel)
    : model_(model), optimizer_(optimizer), device_(device), normalization_(normalization), parallel_(parallel) {
  found_inf_ = Tensor::zeros({1}, DType::F32, device);
  bad_weights_ = Tensor::zeros({1}, DType::F32, device);
  optimizer_.skip_updates_while(found_inf_);
}

std::optional<StepOutcome> TrainStepper::step(const Batch& batch) {
  // 8-bit crops go up as they are (a quarter of float32's bytes) and are
  // normalised on the device.
  Tensor images = upload(batch.images, device_);
  if (images.dtype() == DType::U8) images = ops::normalize_images(images, normalization_);
  const Tensor joints = upload(batch.joints, device_), weights = upload(batch.joint_weights, device_);
  std::vector<Tensor> heatmaps = model_.forward_heatmaps(images);
  PN_ASSERT(heatmaps.size() == batch.sigmas.size());
  std::vector<Tensor> losses;  // the total, then one per stage
  Tensor loss;
  for (size_t s = 0; s < heatmaps.size(); ++s) {
    // The stage's targets are made inside the loss, from the joints and the
    // stage's sigma of this epoch: no target map is rendered or uploaded.
    const HeatmapGeometry geometry{int(images.dim(2)), int(images.dim(1)), int(heatmaps[s].dim(2)),
                                   int(heatmaps[s].dim(1)), int(joints.dim(1))};
    Tensor l = ops::gaussian_weighted_mse(heatmaps[s], joints, weights, stage_target_spec(geometry, batch.sigmas, s));
    losses.push_back(l);
    loss = loss.defined() ? ops::add(loss, l) : l;
  }
  losses.insert(losses.begin(), loss);
  optimizer_.zero_grad();
  if (parallel_)
    parallel_->backward(loss, optimizer_.params());  // gradients averaged across ranks, overlapping backward
  else
    loss.backward();
  {
    NoGradGuard no_grad;
    std::vector<Tensor> checked{loss};
    for (const Tensor& p : optimizer_.params()) checked.push_back(p.grad());
    ops::flag_non_finite(checked, found_inf_);
    // Set on every rank when set on any (a rank's own loss may be the only
    // non-finite value), so all ranks skip the same updates.
    if (parallel_) parallel_->comm().all_reduce_sum(found_inf_);
    optimizer_.step();  // changes nothing while found_inf_ is set
    ops::flag_non_finite(optimizer_.params(), bad_weights_);
  }

  // This step's values, gathered into one small tensor and queued for the
  // host: [loss, stage losses..., found_inf, bad_weights].
  losses.push_back(found_inf_);
  losses.push_back(bad_weights_);
  Tensor values = Tensor::empty({int64_t(losses.size())}, DType::F32, device_);
  Backend& backend = backend_for(device_);
  for (size_t i = 0; i < losses.size(); ++i) {
    PN_ASSERT(losses[i].numel() == 1 && losses[i].dtype() == DType::F32);
    backend.copy_device_to_device(static_cast<float*>(values.raw_data()) + i, losses[i].raw_data(), sizeof(float));
  }
  const int slot = int(queued_ % kReadbackSlots);
  readback_async(device_, slot, values.raw_data(), values.nbytes());

  std::optional<StepOutcome> previous = flush();  // waits for the previous step only
  ++queued_;
  pending_ = true;
  pending_stages_ = heatmaps.size();
  return previous;
}

std::optional<StepOutcome> TrainStepper::flush() {
  if (!pending_) return std::nullopt;
  pending_ = false;
  return read_back(int((queued_ - 1) % kReadbackSlots), pending_stages_);
}

StepOutcome TrainStepper::read_back(int slot, size_t stages) {
  const float* v = static_cast<const float*>(readback_wait(device_, slot));
  StepOutcome out;
  out.loss = v[0];
  out.stage_losses.assign(v + 1, v + 1 + stages);
  // The logged losses are the means over the ranks; a non-finite loss on
  // any rank makes the mean non-finite on all.
  if (parallel_) parallel_->average_losses(out.loss, out.stage_losses);
  if (!std::isfinite(out.loss)) out.non_finite = NonFinite::kLoss;
  else if (v[stages + 1] != 0) out.non_finite = NonFinite::kGradient;
  else if (v[stages + 2] != 0) out.non_finite = NonFinite::kWeight;
  return out;
}

}  // namespace posenet::train
