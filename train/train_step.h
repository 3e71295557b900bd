// One optimisation step: forward pass of every stage, the summed per-stage
// weighted MSE (targets made inside the loss), backward pass, a device-side
// non-finite check and the optimizer update it allows. Steps are queued
// without the host waiting; each step's values are read back while the next
// one runs.
#pragma once
#include <memory>
#include <optional>
#include <vector>

#include "core/device.h"
#include "core/device_graph.h"
#include "kernels/normalize.h"
#include "kernels/optim.h"
#include "models/pose_model.h"
#include "train/data_parallel.h"
#include "train/loader.h"

namespace posenet::train {

enum class NonFinite { kNone, kLoss, kGradient, kWeight };

struct StepOutcome {
  double loss = 0.0;                 // the summed loss of all stages
  std::vector<double> stage_losses;  // one per stage
  // What went non-finite: the loss or a gradient (the update was skipped on
  // the device), or a weight after the update (the update was applied; the
  // model must not be saved). After a non-finite loss or gradient every
  // later update is skipped too; after a non-finite weight the next step's
  // gradients are non-finite in practice, which then skips its update.
  NonFinite non_finite = NonFinite::kNone;
  bool ok() const { return non_finite == NonFinite::kNone; }
};

// True when every element of every tensor (undefined ones skipped) is
// finite. Works on CPU and CUDA tensors, reading back one number.
bool all_finite(const std::vector<Tensor>& tensors);

// Queues training steps on one device and hands back each step's outcome
// one step late: step(k) returns step k-1's, flush() the last one's. The
// host waits once per step, for the previous step's few values (loss,
// stage losses, the non-finite flags), never for the step it just queued.
//
// The non-finite check is AMP's found_inf: a device flag set when the loss
// or any gradient is non-finite, read by the optimizer kernels, which then
// change nothing. The flags are sticky: after the first non-finite step no
// update is applied any more, so the weights stay those from before it even
// though the next step was already queued when the host learns of it.
//
// Gradients keep their buffers from step to step (written in place). With
// cuda_graph (--cuda-graph, CUDA only), after kWarmupSteps eager steps of
// one batch shape and sigmas the whole step (forward, loss, backward,
// non-finite flag, optimizer update, the gathering of the values read back)
// is captured once as a CUDA graph and then replayed with one launch per
// step. The uploads (the batch into fixed device tensors, the optimizer's
// {lr, step}) are queued before each launch through the pinned staging ring,
// and the readback of the graph's fixed values tensor after it: a graph's
// own copy from pinned memory would replay a buffer the host may already be
// refilling for the next step. A batch of another shape (a partial batch,
// another input size) or other sigmas (a new epoch's) drops the graph: that
// step runs eagerly, and a new graph is captured after kWarmupSteps steps
// with the new key.
class TrainStepper {
 public:
  static constexpr int kWarmupSteps = 3;

  // normalization: how a batch of uint8 images becomes the network's input
  // (on the device); float32 batches are used as they are. With `parallel`
  // (data-parallel runs) the gradients are averaged across the ranks before
  // the update, the non-finite flag is set on all ranks when set on any,
  // and the losses handed back are the means over the ranks.
  TrainStepper(models::PoseModel& model, Optimizer& optimizer, Device device,
               const ops::ImageNormalization& normalization, DataParallel* parallel = nullptr,
               bool cuda_graph = false);
  TrainStepper(const TrainStepper&) = delete;
  TrainStepper& operator=(const TrainStepper&) = delete;

  // Queues one step on `batch` (uploaded without waiting) and returns the
  // outcome of the step queued before it (nullopt for the first).
  std::optional<StepOutcome> step(const Batch& batch);
  // Waits for the last queued step and returns its outcome (nullopt when
  // every queued step has been handed back).
  std::optional<StepOutcome> flush();

  // How the last queued step ran: "eager", "capture" or "replay".
  const char* last_step_kind() const { return last_kind_; }

 private:
  // What a captured graph depends on besides device memory: the shapes and
  // dtypes of the batch and the sigmas, passed to kernels as values.
  struct GraphKey {
    Shape images, joints, weights;
    DType image_dtype = DType::F32;
    std::vector<double> sigmas;
    bool operator==(const GraphKey& o) const {
      return images == o.images && joints == o.joints && weights == o.weights && image_dtype == o.image_dtype &&
             sigmas == o.sigmas;
    }
  };
  struct StepInputs {
    Tensor images, joints, weights;  // on the device
  };

  // The step's device work on uploaded inputs; returns the values tensor
  // ([loss, stage losses..., found_inf, bad_weights]).
  Tensor queue_step(const StepInputs& in, const std::vector<double>& sigmas);
  // Eager or through the graph; returns the values tensor.
  Tensor run_eagerly(const Batch& batch);
  Tensor run_as_graph(const Batch& batch);
  StepOutcome read_back(int slot, size_t stages);

  models::PoseModel& model_;
  Optimizer& optimizer_;
  Device device_;
  ops::ImageNormalization normalization_;
  DataParallel* parallel_ = nullptr;
  Tensor found_inf_;    // [1] float32: the loss or a gradient was non-finite
  Tensor bad_weights_;  // [1] float32: a weight was non-finite after an update
  int64_t queued_ = 0;  // steps queued; step k's values go to slot k % kReadbackSlots
  bool pending_ = false;
  size_t pending_stages_ = 0;

  bool cuda_graph_ = false;
  GraphKey last_key_;          // the key of the last eager steps
  int same_key_steps_ = 0;     // eager steps in a row with last_key_
  std::unique_ptr<DeviceGraph> graph_;
  StepInputs graph_inputs_;    // fixed: what the graph reads
  Tensor graph_values_;        // fixed: what the graph writes for the readback
  const char* last_kind_ = "eager";
};

}  // namespace posenet::train
