#include "kernels/optim.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <set>

#include "core/async_transfers.h"
#include "core/autograd.h"
#include "kernels/optim_kernels.h"
#include "kernels/dispatch.h"
#include "kernels/optim_slots.h"

// The registry entries of this family's kernels (kernels/optim_kernels.h).
PN_DEFINE_KERNEL_ENTRIES(PN_OPTIM_KERNELS)

namespace posenet {

namespace {

void check_grad(const Tensor& param, const Tensor& grad, size_t i, const char* optimizer) {
  PN_CHECK(grad.shape() == param.shape() && grad.dtype() == param.dtype() && grad.device() == param.device(),
           optimizer, ": gradient of parameter ", i, " is ", grad.str(), " but the parameter is ", param.str());
}

// Runs one kernel per device over the slots (CPU ones, then CUDA ones).
template <typename Slot, typename Fn>
void run_by_device(const std::vector<Slot>& slots, Fn&& run) {
  std::vector<Slot> cpu_slots, cuda_slots;
  for (const Slot& s : slots) (s.param.is_cpu() ? cpu_slots : cuda_slots).push_back(s);
  if (!cpu_slots.empty()) run(cpu_slots);
  if (!cuda_slots.empty()) run(cuda_slots);
}

// "exp_avg.3" -> ("exp_avg", 3); false when the name has no ".<index>" suffix.
bool split_indexed(const std::string& key, std::string* prefix, size_t* index) {
  const size_t dot = key.rfind('.');
  if (dot == std::string::npos || dot + 1 >= key.size()) return false;
  size_t value = 0;
  for (size_t k = dot + 1; k < key.size(); ++k) {
    if (key[k] < '0' || key[k] > '9') return false;
    value = value * 10 + size_t(key[k] - '0');
    if (value > (size_t(1) << 40)) return false;
  }
  *prefix = key.substr(0, dot);
  *index = value;
  return true;
}

int64_t load_step(const std::map<std::string, Tensor>& state, const char* optimizer) {
  auto it = state.find("step");
  PN_CHECK(it != state.end(), optimizer, " state: missing entry 'step'");
  PN_CHECK(it->second.numel() == 1, optimizer, " state: 'step' must hold one value, got shape ",
           shape_str(it->second.shape()));
  const double v = it->second.item();
  PN_CHECK(std::isfinite(v) && v >= 0 && v == std::floor(v), optimizer, " state: 'step' must be a non-negative integer, got ",
           v);
  return int64_t(v);
}

// Validates every buffer entry (known prefix, index in range, shape of its
// parameter) before anything is changed; returns, per prefix, the tensors
// by parameter index.
std::map<std::string, std::vector<Tensor>> parse_buffers(const std::map<std::string, Tensor>& state,
                                                         const std::vector<Tensor>& params,
                                                         const std::set<std::string>& prefixes,
                                                         const char* optimizer) {
  std::map<std::string, std::vector<Tensor>> out;
  for (const auto& p : prefixes) out[p].resize(params.size());
  for (const auto& [key, value] : state) {
    if (key == "step") continue;
    std::string prefix;
    size_t index = 0;
    PN_CHECK(split_indexed(key, &prefix, &index) && prefixes.count(prefix), optimizer, " state: unknown entry '", key,
             "'");
    PN_CHECK(index < params.size(), optimizer, " state: entry '", key, "' refers to parameter ", index, " but there are ",
             params.size(), " parameters");
    PN_CHECK(value.defined() && value.shape() == params[index].shape(), optimizer, " state: '", key, "' has shape ",
             value.defined() ? shape_str(value.shape()) : std::string("(undefined)"), " but parameter ", index,
             " has shape ", shape_str(params[index].shape()));
    out[prefix][index] = value;
  }
  return out;
}

// A copy of src on the parameter's device and dtype.
Tensor buffer_like(const Tensor& param, const Tensor& src) {
  Tensor t = Tensor::empty(param.shape(), param.dtype(), param.device());
  t.copy_(src);
  return t;
}

}  // namespace

Tensor Optimizer::step_scalars(Device device, int64_t step) {
  Tensor* t = nullptr;
  for (Tensor& s : scalars_)
    if (s.device() == device) t = &s;
  if (t && scalars_staged_) return *t;  // uploaded before the graph's launch
  if (!t) t = &scalars_.emplace_back(Tensor::empty({kernels::kOptimizerScalars}, DType::F64, device));
  const double values[kernels::kOptimizerScalars] = {lr_, double(step)};
  // Queued after the previous step's kernels on the device's stream: they
  // have read the old values before these land.
  if (device.is_cpu()) std::memcpy(t->raw_data(), values, sizeof(values));
  else upload_async(device, t->raw_data(), values, sizeof(values));
  return *t;
}

void Optimizer::zero_grad() {
  for (Tensor& p : params_) p.set_grad(Tensor());
}

void Optimizer::zero_grad_keeping_buffers() {
  for (Tensor& p : params_) p.drop_grad_keeping_buffer();
}

void Optimizer::stage_next_step_scalars() {
  scalars_staged_ = false;
  std::vector<Device> devices;
  for (const Tensor& p : params_)
    if (std::find(devices.begin(), devices.end(), p.device()) == devices.end()) devices.push_back(p.device());
  for (Device d : devices) step_scalars(d, steps_ + 1);
  scalars_staged_ = true;
}

void Optimizer::count_replayed_step() {
  ++steps_;
  scalars_staged_ = false;
}

// ---------------------------------------------------------------- SGD

SGD::SGD(std::vector<Tensor> params, const SGDOptions& options) : Optimizer(std::move(params)), options_(options) {
  PN_CHECK(options.lr >= 0, "SGD: learning rate must be >= 0, got ", options.lr);
  PN_CHECK(options.momentum >= 0, "SGD: momentum must be >= 0, got ", options.momentum);
  PN_CHECK(options.weight_decay >= 0, "SGD: weight decay must be >= 0, got ", options.weight_decay);
  PN_CHECK(!options.nesterov || options.momentum > 0, "SGD: Nesterov momentum requires momentum > 0");
  lr_ = options.lr;
  momentum_.resize(params_.size());
}

void SGD::step() {
  NoGradGuard no_grad;
  std::vector<kernels::SgdSlot> slots;
  for (size_t i = 0; i < params_.size(); ++i) {
    const Tensor g = params_[i].grad();
    if (!g.defined()) continue;
    check_grad(params_[i], g, i, "SGD");
    kernels::SgdSlot slot{params_[i], g, Tensor(), false};
    if (options_.momentum != 0.0) {
      if (!momentum_[i].defined()) {
        momentum_[i] = Tensor::empty(params_[i].shape(), params_[i].dtype(), params_[i].device());
        slot.first = true;
      }
      slot.momentum = momentum_[i];
    }
    slots.push_back(slot);
  }
  ++steps_;
  run_by_device(slots, [&](const auto& s) {
    const Device device = s.front().param.device();
    const kernels::SgdStepArgs args{options_.momentum, options_.weight_decay, options_.nesterov,
                                    step_scalars(device, steps_), skip_};
    PN_DISPATCH(device, sgd_step, s, args);
  });
  scalars_staged_ = false;
}

std::map<std::string, Tensor> SGD::state() const {
  std::map<std::string, Tensor> out;
  out["step"] = Tensor::scalar(double(steps_), DType::F64);
  for (size_t i = 0; i < momentum_.size(); ++i)
    if (momentum_[i].defined()) out["momentum_buffer." + std::to_string(i)] = momentum_[i];
  return out;
}

void SGD::load_state(const std::map<std::string, Tensor>& state) {
  const int64_t steps = load_step(state, "SGD");
  auto buffers = parse_buffers(state, params_, {"momentum_buffer"}, "SGD");
  std::vector<Tensor> momentum(params_.size());
  for (size_t i = 0; i < params_.size(); ++i)
    if (buffers["momentum_buffer"][i].defined()) momentum[i] = buffer_like(params_[i], buffers["momentum_buffer"][i]);
  momentum_ = std::move(momentum);
  steps_ = steps;
}

// ---------------------------------------------------------------- Adam

Adam::Adam(std::vector<Tensor> params, const AdamOptions& options) : Optimizer(std::move(params)), options_(options) {
  PN_CHECK(options.lr >= 0, "Adam: learning rate must be >= 0, got ", options.lr);
  PN_CHECK(options.beta1 >= 0 && options.beta1 < 1, "Adam: beta1 must be in [0, 1), got ", options.beta1);
  PN_CHECK(options.beta2 >= 0 && options.beta2 < 1, "Adam: beta2 must be in [0, 1), got ", options.beta2);
  PN_CHECK(options.eps >= 0, "Adam: eps must be >= 0, got ", options.eps);
  PN_CHECK(options.weight_decay >= 0, "Adam: weight decay must be >= 0, got ", options.weight_decay);
  lr_ = options.lr;
  exp_avg_.resize(params_.size());
  exp_avg_sq_.resize(params_.size());
}

void Adam::step() {
  NoGradGuard no_grad;
  std::vector<kernels::AdamSlot> slots;
  for (size_t i = 0; i < params_.size(); ++i) {
    const Tensor g = params_[i].grad();
    if (!g.defined()) continue;
    check_grad(params_[i], g, i, "Adam");
    if (!exp_avg_[i].defined()) {
      exp_avg_[i] = Tensor::zeros(params_[i].shape(), params_[i].dtype(), params_[i].device());
      exp_avg_sq_[i] = Tensor::zeros(params_[i].shape(), params_[i].dtype(), params_[i].device());
    }
    slots.push_back({params_[i], g, exp_avg_[i], exp_avg_sq_[i]});
  }
  ++steps_;
  run_by_device(slots, [&](const auto& s) {
    const Device device = s.front().param.device();
    const kernels::AdamStepArgs args{options_.beta1, options_.beta2, options_.eps, options_.weight_decay,
                                     step_scalars(device, steps_), skip_};
    PN_DISPATCH(device, adam_step, s, args);
  });
  scalars_staged_ = false;
}

std::map<std::string, Tensor> Adam::state() const {
  std::map<std::string, Tensor> out;
  out["step"] = Tensor::scalar(double(steps_), DType::F64);
  for (size_t i = 0; i < exp_avg_.size(); ++i) {
    if (!exp_avg_[i].defined()) continue;
    out["exp_avg." + std::to_string(i)] = exp_avg_[i];
    out["exp_avg_sq." + std::to_string(i)] = exp_avg_sq_[i];
  }
  return out;
}

void Adam::load_state(const std::map<std::string, Tensor>& state) {
  const int64_t steps = load_step(state, "Adam");
  auto buffers = parse_buffers(state, params_, {"exp_avg", "exp_avg_sq"}, "Adam");
  std::vector<Tensor> m(params_.size()), v(params_.size());
  for (size_t i = 0; i < params_.size(); ++i) {
    const Tensor& a = buffers["exp_avg"][i];
    const Tensor& b = buffers["exp_avg_sq"][i];
    PN_CHECK(a.defined() == b.defined(), "Adam state: parameter ", i, " has '", a.defined() ? "exp_avg" : "exp_avg_sq",
             ".", i, "' but not '", a.defined() ? "exp_avg_sq" : "exp_avg", ".", i, "'");
    if (!a.defined()) continue;
    m[i] = buffer_like(params_[i], a);
    v[i] = buffer_like(params_[i], b);
  }
  exp_avg_ = std::move(m);
  exp_avg_sq_ = std::move(v);
  steps_ = steps;
}

}  // namespace posenet
