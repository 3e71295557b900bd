#include "kernels/optim_kernels.h"

#include "kernels/dispatch.h"
#include "kernels/optim_math.h"

namespace posenet::kernels::cpu {

namespace {

// Parameters below this many elements in all are updated on one thread.
constexpr int64_t kParallelElements = 65536;

// The whole step runs in one parallel region: each parameter's elements are
// split over the team without a barrier between parameters (they are
// independent), instead of one fork/join per parameter.
template <typename Slot, typename Fn>
void for_each_slot_parallel(const std::vector<Slot>& slots, const char* op, Fn&& update) {
  int64_t total = 0;
  for (const Slot& slot : slots) {
    // Checked here: an exception must not leave the parallel region.
    dispatch_float(slot.param.dtype(), op, [](auto) {});
    total += slot.param.numel();
  }
#pragma omp parallel if (total > kParallelElements)
  for (const Slot& slot : slots) {
    if (slot.param.dtype() == DType::F32) update(slot, float{});
    else update(slot, double{});
  }
}

// The step's {lr, step} (optim_slots.h).
const double* scalars_of(const Tensor& t) {
  PN_CHECK(t.defined() && t.numel() == kOptimizerScalars && t.dtype() == DType::F64 && t.is_cpu(),
           "optimizer: the step's scalars must be ", kOptimizerScalars, " float64 values on the CPU");
  return t.data<double>();
}

// The step's skip condition (optim_slots.h), read where the kernels run.
bool skipped(const Tensor& flag) {
  if (!flag.defined()) return false;
  PN_CHECK(flag.numel() == 1 && flag.dtype() == DType::F32 && flag.is_cpu(),
           "optimizer: the skip flag must be one float32 element on the CPU, got ", flag.str());
  return *static_cast<const float*>(flag.raw_data()) != 0.0f;
}

}  // namespace

void sgd_step(const std::vector<SgdSlot>& slots, const SgdStepArgs& args) {
  if (skipped(args.skip)) return;
  const double* sc = scalars_of(args.scalars);  // checked outside the parallel region
  for_each_slot_parallel(slots, "SGD", [&](const SgdSlot& slot, auto tag) {
    using T = decltype(tag);
    const int64_t n = slot.param.numel();
    const SgdScalars<T> s{T(sc[0]), T(args.momentum), T(args.weight_decay), args.nesterov};
    T* p = slot.param.data<T>();
    const T* g = slot.grad.data<T>();
    T* buf = slot.momentum.defined() ? slot.momentum.data<T>() : nullptr;
    const bool first = slot.first;
#pragma omp for schedule(static) nowait
    for (int64_t i = 0; i < n; ++i) sgd_update_element(p[i], g[i], buf ? buf + i : nullptr, first, s);
  });
}

void adam_step(const std::vector<AdamSlot>& slots, const AdamStepArgs& args) {
  if (skipped(args.skip)) return;
  const double* sc = scalars_of(args.scalars);
  for_each_slot_parallel(slots, "Adam", [&](const AdamSlot& slot, auto tag) {
    using T = decltype(tag);
    const int64_t n = slot.param.numel();
    const AdamScalars<T> s = adam_scalars<T>(sc[0], args.beta1, args.beta2, args.eps, args.weight_decay, sc[1]);
    T* p = slot.param.data<T>();
    const T* g = slot.grad.data<T>();
    T* m = slot.exp_avg.data<T>();
    T* v = slot.exp_avg_sq.data<T>();
#pragma omp for schedule(static) nowait
    for (int64_t i = 0; i < n; ++i) adam_update_element(p[i], g[i], m[i], v[i], s);
  });
}

}  // namespace posenet::kernels::cpu
