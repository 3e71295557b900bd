// Optimizers over a list of parameters. They read each parameter's .grad
// (parameters without one are skipped) and update the parameter in place,
// outside autograd. Their state is a set of named tensors, so checkpoints
// can hold it and a resumed run continues bit for bit.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace posenet {

class Optimizer {
 public:
  explicit Optimizer(std::vector<Tensor> params) : params_(std::move(params)) {}
  virtual ~Optimizer() = default;
  virtual void step() = 0;
  void zero_grad();  // drops every parameter's .grad
  // Drops every parameter's .grad as zero_grad() does (a parameter that
  // then gets no gradient is skipped), keeping each buffer for the next
  // backward pass to write into: a training step's gradients then live at
  // the same addresses every step (a CUDA graph replays them there) and are
  // not allocated again (Tensor::drop_grad_keeping_buffer).
  void zero_grad_keeping_buffers();
  int64_t steps() const { return steps_; }
  // For a step run as a CUDA graph (train/train_step.h): uploads the coming
  // step's {lr, step} now, before the graph is launched, so that step()
  // (captured) reads them without an upload of its own, which a graph would
  // replay with stale bytes. A replayed step does not run step() on the
  // host; count_replayed_step() counts it instead.
  void stage_next_step_scalars();
  void count_replayed_step();
  double lr() const { return lr_; }
  void set_lr(double lr) { lr_ = lr; }
  const std::vector<Tensor>& params() const { return params_; }
  // A device-side condition for every later step(): while `flag` (one
  // float32 element on the parameters' device; undefined = none) is
  // non-zero, the update kernels change nothing. The host never reads it;
  // the step count still advances (the caller stops training on it).
  void skip_updates_while(Tensor flag) { skip_ = std::move(flag); }
  // Named state ("step", "exp_avg.3", ...) for checkpoints; load checks
  // names and shapes and fails with a clear message on any mismatch.
  virtual std::map<std::string, Tensor> state() const = 0;
  virtual void load_state(const std::map<std::string, Tensor>& state) = 0;

 protected:
  // The step's {lr, step} in device memory on `device` (written there
  // without waiting), for the kernels to read (kernels/optim_slots.h).
  Tensor step_scalars(Device device, int64_t step);

  std::vector<Tensor> params_;
  double lr_ = 1e-3;
  Tensor skip_;
  std::vector<Tensor> scalars_;  // one per device the parameters live on
  bool scalars_staged_ = false;  // stage_next_step_scalars() ran for the coming step
  int64_t steps_ = 0;
};

struct SGDOptions {
  double lr = 0.01;
  double momentum = 0.0;
  double weight_decay = 0.0;
  bool nesterov = false;
};

// PyTorch's SGD: g += wd * p; buf = momentum * buf + g (buf = g at the first
// step); g = nesterov ? g + momentum * buf : buf; p -= lr * g.
class SGD final : public Optimizer {
 public:
  SGD(std::vector<Tensor> params, const SGDOptions& options);
  void step() override;
  std::map<std::string, Tensor> state() const override;
  void load_state(const std::map<std::string, Tensor>& state) override;

 private:
  SGDOptions options_;
  std::vector<Tensor> momentum_;
};

struct AdamOptions {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;  // L2 added to the gradient, as torch.optim.Adam
};

// PyTorch's Adam with bias correction:
//   m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2;
//   p -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
class Adam final : public Optimizer {
 public:
  Adam(std::vector<Tensor> params, const AdamOptions& options);
  void step() override;
  std::map<std::string, Tensor> state() const override;
  void load_state(const std::map<std::string, Tensor>& state) override;

 private:
  AdamOptions options_;
  std::vector<Tensor> exp_avg_, exp_avg_sq_;
};

}  // namespace posenet
