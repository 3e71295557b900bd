#include "train/train_step.h"

#include <cmath>
#include <utility>

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
                           const ops::ImageNormalization& normalization, DataParallel* parallel, bool cuda_graph)
    : model_(model),
      optimizer_(optimizer),
      device_(device),
      normalization_(normalization),
      parallel_(parallel),
      cuda_graph_(cuda_graph) {
  PN_CHECK(!cuda_graph || device.is_cuda(), "CUDA graphs (--cuda-graph) need a CUDA device, got ", device.str());
  // The gradient all-reduces are started and waited for by the host.
  PN_CHECK(!cuda_graph || parallel == nullptr, "CUDA graphs (--cuda-graph) are for one process; a data-parallel run "
           "steps eagerly");
  found_inf_ = Tensor::zeros({1}, DType::F32, device);
  bad_weights_ = Tensor::zeros({1}, DType::F32, device);
  optimizer_.skip_updates_while(found_inf_);
}

Tensor TrainStepper::queue_step(const StepInputs& in, const std::vector<double>& sigmas) {
  // 8-bit crops go up as they are (a quarter of float32's bytes) and are
  // normalised on the device.
  const Tensor images =
      in.images.dtype() == DType::U8 ? ops::normalize_images(in.images, normalization_) : in.images;
  const Tensor& joints = in.joints;
  std::vector<Tensor> heatmaps = model_.forward_heatmaps(images);
  PN_ASSERT(heatmaps.size() == sigmas.size());
  std::vector<Tensor> losses;  // the total, then one per stage
  Tensor loss;
  for (size_t s = 0; s < heatmaps.size(); ++s) {
    // The stage's targets are made inside the loss, from the joints and the
    // stage's sigma of this epoch: no target map is rendered or uploaded.
    const HeatmapGeometry geometry{int(images.dim(2)), int(images.dim(1)), int(heatmaps[s].dim(2)),
                                   int(heatmaps[s].dim(1)), int(joints.dim(1))};
    Tensor l = ops::gaussian_weighted_mse(heatmaps[s], joints, in.weights, stage_target_spec(geometry, sigmas, s));
    losses.push_back(l);
    loss = loss.defined() ? ops::add(loss, l) : l;
  }
  losses.insert(losses.begin(), loss);
  optimizer_.zero_grad_keeping_buffers();  // the gradients keep their addresses
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

  // This step's values, gathered into one small tensor for the host:
  // [loss, stage losses..., found_inf, bad_weights].
  losses.push_back(found_inf_);
  losses.push_back(bad_weights_);
  Tensor values = Tensor::empty({int64_t(losses.size())}, DType::F32, device_);
  Backend& backend = backend_for(device_);
  for (size_t i = 0; i < losses.size(); ++i) {
    PN_ASSERT(losses[i].numel() == 1 && losses[i].dtype() == DType::F32);
    backend.copy_device_to_device(static_cast<float*>(values.raw_data()) + i, losses[i].raw_data(), sizeof(float));
  }
  return values;
}

Tensor TrainStepper::run_eagerly(const Batch& batch) {
  last_kind_ = "eager";
  const StepInputs in{upload(batch.images, device_), upload(batch.joints, device_),
                      upload(batch.joint_weights, device_)};
  return queue_step(in, batch.sigmas);
}

Tensor TrainStepper::run_as_graph(const Batch& batch) {
  const GraphKey key{batch.images.shape(), batch.joints.shape(), batch.joint_weights.shape(), batch.images.dtype(),
                     batch.sigmas};
  if (graph_ && !(key == last_key_)) {  // another shape or new sigmas: captured again after a warm-up
    graph_.reset();
    graph_inputs_ = StepInputs{};
    graph_values_ = Tensor();
  }
  if (!graph_) {
    same_key_steps_ = key == last_key_ ? same_key_steps_ + 1 : 1;
    last_key_ = key;
    // Eager steps first: they create the gradients, the optimizer state and
    // the cached blocks the capture then reuses.
    if (same_key_steps_ <= kWarmupSteps) return run_eagerly(batch);
    graph_inputs_ = StepInputs{Tensor::empty(batch.images.shape(), batch.images.dtype(), device_),
                               Tensor::empty(batch.joints.shape(), batch.joints.dtype(), device_),
                               Tensor::empty(batch.joint_weights.shape(), batch.joint_weights.dtype(), device_)};
  }
  // Staged before the launch, in stream order after the previous replay.
  for (auto [dst, src] : {std::pair{&graph_inputs_.images, &batch.images}, std::pair{&graph_inputs_.joints, &batch.joints},
                          std::pair{&graph_inputs_.weights, &batch.joint_weights}}) {
    PN_CHECK(src->is_cpu() && src->dtype() == dst->dtype(), "cuda-graph step: the batch must be on the CPU, got ",
             src->str());
    upload_async(device_, dst->raw_data(), src->raw_data(), src->nbytes());
  }
  optimizer_.stage_next_step_scalars();
  if (graph_) {
    optimizer_.count_replayed_step();
    last_kind_ = "replay";
  } else {
    begin_graph_capture(device_);
    try {
      graph_values_ = queue_step(graph_inputs_, batch.sigmas);
      graph_ = end_graph_capture(device_);
    } catch (...) {
      abort_graph_capture(device_);
      graph_values_ = Tensor();
      throw;
    }
    last_kind_ = "capture";
  }
  graph_->launch();  // the capture recorded the step; this runs it
  return graph_values_;
}

std::optional<StepOutcome> TrainStepper::step(const Batch& batch) {
  const Tensor values = cuda_graph_ ? run_as_graph(batch) : run_eagerly(batch);
  const int slot = int(queued_ % kReadbackSlots);
  readback_async(device_, slot, values.raw_data(), values.nbytes());

  std::optional<StepOutcome> previous = flush();  // waits for the previous step only
  ++queued_;
  pending_ = true;
  pending_stages_ = batch.sigmas.size();
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
