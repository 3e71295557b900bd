// The op registry: one table of kernels per op, keyed by backend.
//
// Each op family declares its kernel signatures once, in
// kernels/<family>_kernels.h, as a list
//   #define PN_FAMILY_KERNELS(X) X(op_name, (parameters)) ...
// PN_DECLARE_KERNELS(list) turns the list into, per op: the signature type
// op_name_fn, the declarations cpu::op_name and cuda::op_name (each backend
// defines its own), and the registry entry op_name_op(). Backends register
// their functions in one place each (kernels/cpu/register_kernels.cpp,
// kernels/cuda/register_kernels.cu) with what they support; dispatch asks
// supports(shapes, dtype) before calling, so an unsupported case fails with
// the op, backend, shapes and dtype named instead of deep inside a kernel.
//
// Registration is explicit and lazy (the first look-up registers every
// backend), so no static-initialisation order is involved.
//
// Included by .cu files: keep this header C++17.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/cuda_device.h"
#include "core/error.h"
#include "core/op_scope.h"
#include "core/tensor.h"

namespace posenet::kernels {

// Kernels are registered per backend, i.e. per kind of device.
constexpr int kBackendCount = 2;
const char* backend_name(DeviceKind backend);  // "cpu", "cuda"

// An op call as supports() sees it: the shapes of its tensor arguments in
// order (undefined tensors left out), the dtype of the first one, and the
// integer parameters that shapes do not tell (a convolution's strides),
// written and read by the family's own describe_arg and accessor.
struct OpArgs {
  std::vector<Shape> shapes;
  DType dtype = DType::F32;
  bool has_dtype = false;
  std::vector<int64_t> params;

  void add(const Tensor& t) {
    if (!t.defined()) return;
    if (!has_dtype) dtype = t.dtype(), has_dtype = true;
    shapes.push_back(t.shape());
  }
  std::string str() const;  // "float32 [2, 3] [2, 3]"
};

// How a call contributes to its OpArgs; families with other argument types
// (optimizer slots) add overloads next to their types, found by ADL.
inline void describe_arg(OpArgs& args, const Tensor& t) { args.add(t); }
template <typename T>
void describe_arg(OpArgs&, const T&) {}

// The cases one backend's kernel takes: these dtypes, and the shapes and
// parameters the predicate accepts when one is given.
struct Support {
  std::vector<DType> dtypes{DType::F32, DType::F64};
  bool (*shapes_ok)(const OpArgs&) = nullptr;

  bool operator()(const OpArgs& args) const;
  std::string str() const;  // "float32, float64"
};

// Registers every backend compiled in, once; every look-up calls it first.
void ensure_backends_registered();

[[noreturn]] void fail_unsupported(const char* op, DeviceKind backend, const OpArgs& args, bool registered,
                                   const Support& support);

template <typename Fn>
class Op;

template <typename... Params>
class Op<void(Params...)> {
 public:
  using Fn = void(Params...);
  explicit Op(const char* name) : name_(name) {}

  const char* name() const { return name_; }

  // Called by the backends' registration functions only.
  void add(DeviceKind backend, Fn* fn, Support support = {}) { entries_[size_t(backend)] = {fn, std::move(support)}; }

  bool registered(DeviceKind backend) const {
    ensure_backends_registered();
    return entries_[size_t(backend)].fn != nullptr;
  }
  bool supports(DeviceKind backend, const OpArgs& args) const {
    ensure_backends_registered();
    const Entry& e = entries_[size_t(backend)];
    return e.fn != nullptr && e.support(args);
  }
  // The kernel of one backend, or null.
  Fn* kernel(DeviceKind backend) const {
    ensure_backends_registered();
    return entries_[size_t(backend)].fn;
  }

  // Runs the kernel registered for the device's backend.
  template <typename... Args>
  void operator()(const Device& device, Args&&... args) const {
    ensure_backends_registered();
    const DeviceKind backend = device.kind;
    const Entry& e = entries_[size_t(backend)];
    OpArgs described;
    (describe_arg(described, args), ...);
    if (e.fn == nullptr || !e.support(described)) fail_unsupported(name_, backend, described, e.fn != nullptr, e.support);
    // Kernels for cuda:N run with device N current (its stream and handles);
    // a no-op for the CPU.
    const CudaDeviceScope device_scope(device);
    const OpScope op_scope(name_);
    e.fn(std::forward<Args>(args)...);
  }

 private:
  struct Entry {
    Fn* fn = nullptr;
    Support support;
  };
  const char* name_;
  std::array<Entry, kBackendCount> entries_{};
};

}  // namespace posenet::kernels

// Expands a family's kernel list (see the top of this file).
#define PN_KERNEL_SIGNATURE_(name, params) \
  using name##_fn = void params;           \
  Op<name##_fn>& name##_op();
#define PN_KERNEL_DECLARATION_(name, params) void name params;
#define PN_DECLARE_KERNELS(list)             \
  namespace posenet::kernels {               \
  list(PN_KERNEL_SIGNATURE_)                 \
  namespace cpu {                            \
  list(PN_KERNEL_DECLARATION_)               \
  }                                          \
  namespace cuda {                           \
  list(PN_KERNEL_DECLARATION_)               \
  }                                          \
  }

// The registry entries of a family's ops: once, in the family's .cpp.
#define PN_KERNEL_ENTRY_(name, params) \
  Op<name##_fn>& name##_op() {         \
    static Op<name##_fn> op(#name);    \
    return op;                         \
  }
#define PN_DEFINE_KERNEL_ENTRIES(list) \
  namespace posenet::kernels {         \
  list(PN_KERNEL_ENTRY_)               \
  }

// Registers backend::name for every op of a family with the default support
// (float32 and float64); follow with add() calls to widen or narrow one.
#define PN_REGISTER_KERNEL_(backend_ns, backend, name) name##_op().add(backend, &backend_ns::name);
#define PN_REGISTER_CPU_KERNEL_(name, params) PN_REGISTER_KERNEL_(cpu, DeviceKind::CPU, name)
#define PN_REGISTER_CUDA_KERNEL_(name, params) PN_REGISTER_KERNEL_(cuda, DeviceKind::CUDA, name)

// PN_DISPATCH(device, op, args...): runs op's kernel for the device.
#define PN_DISPATCH(device, fn, ...) ::posenet::kernels::fn##_op()((device), __VA_ARGS__)
