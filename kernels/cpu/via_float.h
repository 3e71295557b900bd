// bfloat16 on the CPU: the kernel's tensors of that dtype are converted to
// float32 copies, the float32 kernel runs, and the outputs are rounded back
// (to nearest even, core/dtype.h). Honest rather than fast: the CPU path
// exists so that every bfloat16 CUDA kernel has a reference to match, and so
// that CPU training can emulate bfloat16's rounding.
//
// Usage, first line of a CPU kernel:
//   if (uses_bf16(x)) return run_via_float(&kernel, x, y, ...);
// Arguments that are `const Tensor&` are inputs (copied to float32),
// `Tensor&` outputs (copied in, since some kernels update in place, and
// written back); tensors of other dtypes and other arguments pass unchanged.
#pragma once
#include <tuple>
#include <type_traits>
#include <utility>

#include "core/tensor.h"

namespace posenet::kernels::cpu {

inline bool uses_bf16(const Tensor& t) { return t.defined() && t.dtype() == DType::BF16; }

namespace via_float_detail {

inline Tensor float_copy(const Tensor& t) { return uses_bf16(t) ? t.to(DType::F32) : t; }

template <typename Arg>
struct Slot {  // anything but a tensor: passed through
  Arg& value;
  explicit Slot(Arg& v) : value(v) {}
  Arg& get() { return value; }
  void finish() {}
};
template <>
struct Slot<const Tensor> {  // an input
  Tensor copy;
  explicit Slot(const Tensor& t) : copy(float_copy(t)) {}
  const Tensor& get() { return copy; }
  void finish() {}
};
template <>
struct Slot<Tensor> {  // an output (possibly read first)
  Tensor& target;
  Tensor copy;
  explicit Slot(Tensor& t) : target(t), copy(float_copy(t)) {}
  Tensor& get() { return copy; }
  void finish() {
    if (!copy.same(target)) target.copy_(copy);
  }
};

}  // namespace via_float_detail

template <typename... Params, typename... Args>
void run_via_float(void (*kernel)(Params...), Args&... args) {
  std::tuple<via_float_detail::Slot<std::remove_reference_t<Args>>...> slots{
      via_float_detail::Slot<std::remove_reference_t<Args>>(args)...};
  std::apply([&](auto&... s) { kernel(s.get()...); }, slots);
  std::apply([](auto&... s) { (s.finish(), ...); }, slots);
}

}  // namespace posenet::kernels::cpu
