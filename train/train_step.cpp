#include "train/train_step.h"

#include <cmath>

#include "core/autograd.h"
#include "core/error.h"
#include "kernels/elementwise.h"
#include "kernels/loss.h"

namespace posenet::train {

namespace {
Tensor on(const Tensor& t, Device device) { return t.device() == device ? t : t.to(device); }

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

std::vector<Tensor> gradients(const std::vector<Tensor>& params) {
  std::vector<Tensor> out;
  for (const Tensor& p : params) out.push_back(p.grad());
  return out;
}
}  // namespace

// A NaN or Inf makes the plain sum non-finite; so can an overflow of large
// finite values, which the exact test (x * 0 is 0 for every finite x, NaN for
// NaN and Inf) then tells apart.
bool all_finite(const std::vector<Tensor>& tensors) {
  if (std::isfinite(total_of(tensors, [](const Tensor& t) { return t; }))) return true;
  return std::isfinite(total_of(tensors, [](const Tensor& t) { return ops::scale(t, 0.0); }));
}

StepOutcome train_step(models::PoseModel& model, Optimizer& optimizer, const Batch& batch, Device device,
                       DataParallel* parallel) {
  const Tensor images = on(batch.images, device);
  const Tensor weight = on(batch.target_weight, device);
  std::vector<Tensor> heatmaps = model.forward_heatmaps(images);
  PN_ASSERT(heatmaps.size() == batch.targets.size());
  StepOutcome out;
  Tensor loss;
  for (size_t s = 0; s < heatmaps.size(); ++s) {
    Tensor l = ops::weighted_mse(heatmaps[s], on(batch.targets[s], device), weight);
    out.stage_losses.push_back(l.item());
    loss = loss.defined() ? ops::add(loss, l) : l;
  }
  out.loss = loss.item();
  if (parallel) parallel->average_losses(out.loss, out.stage_losses);  // every rank decides alike below
  if (!std::isfinite(out.loss)) {  // the caller stops before any update
    out.non_finite = NonFinite::kLoss;
    return out;
  }
  optimizer.zero_grad();
  if (parallel)
    parallel->backward(loss, optimizer.params());  // gradients averaged across ranks, overlapping backward
  else
    loss.backward();
  if (!all_finite(gradients(optimizer.params()))) {
    out.non_finite = NonFinite::kGradient;
    return out;
  }
  optimizer.step();
  if (!all_finite(optimizer.params())) out.non_finite = NonFinite::kWeight;
  return out;
}

}  // namespace posenet::train
