#include "kernels/cpu/optim.h"

#include "kernels/dispatch.h"
#include "kernels/optim_math.h"

namespace posenet::kernels::cpu {

void sgd_step(const std::vector<SgdSlot>& slots, const SgdStepArgs& args) {
  for (const SgdSlot& slot : slots) {
    const int64_t n = slot.param.numel();
    dispatch_float(slot.param.dtype(), "SGD", [&](auto tag) {
      using T = decltype(tag);
      const SgdScalars<T> s{T(args.lr), T(args.momentum), T(args.weight_decay), args.nesterov};
      T* p = slot.param.data<T>();
      const T* g = slot.grad.data<T>();
      T* buf = slot.momentum.defined() ? slot.momentum.data<T>() : nullptr;
      const bool first = slot.first;
#pragma omp parallel for schedule(static) if (n > 65536)
      for (int64_t i = 0; i < n; ++i) sgd_update_element(p[i], g[i], buf ? buf + i : nullptr, first, s);
    });
  }
}

void adam_step(const std::vector<AdamSlot>& slots, const AdamStepArgs& args) {
  for (const AdamSlot& slot : slots) {
    const int64_t n = slot.param.numel();
    dispatch_float(slot.param.dtype(), "Adam", [&](auto tag) {
      using T = decltype(tag);
      const AdamScalars<T> s = adam_scalars<T>(args.lr, args.beta1, args.beta2, args.eps, args.weight_decay, args.step);
      T* p = slot.param.data<T>();
      const T* g = slot.grad.data<T>();
      T* m = slot.exp_avg.data<T>();
      T* v = slot.exp_avg_sq.data<T>();
#pragma omp parallel for schedule(static) if (n > 65536)
      for (int64_t i = 0; i < n; ++i) adam_update_element(p[i], g[i], m[i], v[i], s);
    });
  }
}

}  // namespace posenet::kernels::cpu
