#include "train/train_step.h"

#include <cmath>

#include "core/autograd.h"
#include "core/error.h"
#include "kernels/elementwise.h"
#include "kernels/loss.h"

namespace posenet::train {

namespace {
Tensor on(const Tensor& t, Device device) { return t.device() == device ? t : t.to(device); }
}  // namespace

StepOutcome train_step(models::PoseModel& model, Optimizer& optimizer, const Batch& batch, Device device) {
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
  if (!std::isfinite(out.loss)) return out;  // the caller stops before any update
  optimizer.zero_grad();
  loss.backward();
  optimizer.step();
  out.applied = true;
  return out;
}

}  // namespace posenet::train
