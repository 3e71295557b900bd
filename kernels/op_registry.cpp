#include "kernels/op_registry.h"

#include <algorithm>
#include <mutex>
#include <sstream>

namespace posenet::kernels {

namespace cpu {
void register_kernels();  // kernels/cpu/register_kernels.cpp
}
#ifdef POSENET_WITH_CUDA
namespace cuda {
void register_kernels();  // kernels/cuda/register_kernels.cu
}
#endif

const char* backend_name(DeviceKind backend) { return backend == DeviceKind::CPU ? "cpu" : "cuda"; }

std::string OpArgs::str() const {
  std::ostringstream os;
  os << (has_dtype ? dtype_name(dtype) : std::string_view("no tensors"));
  for (const Shape& s : shapes) os << " " << shape_str(s);
  return os.str();
}

bool Support::operator()(const OpArgs& args) const {
  if (args.has_dtype && std::find(dtypes.begin(), dtypes.end(), args.dtype) == dtypes.end()) return false;
  return shapes_ok == nullptr || shapes_ok(args);
}

std::string Support::str() const {
  std::string out;
  for (DType t : dtypes) out += (out.empty() ? "" : ", ") + std::string(dtype_name(t));
  if (shapes_ok) out += ", some shapes and parameters only";
  return out;
}

void ensure_backends_registered() {
  static std::once_flag once;
  std::call_once(once, [] {
    cpu::register_kernels();
#ifdef POSENET_WITH_CUDA
    cuda::register_kernels();
#endif
  });
}

void fail_unsupported(const char* op, DeviceKind backend, const OpArgs& args, bool registered, const Support& support) {
  if (!registered && backend == DeviceKind::CUDA) {
#ifdef POSENET_WITH_CUDA
    PN_FAIL(op, ": the CUDA backend has no kernel for it (", args.str(), ")");
#else
    PN_FAIL(op, ": CUDA tensor, but this posenet was built without the CUDA backend");
#endif
  }
  if (!registered) PN_FAIL(op, ": backend ", backend_name(backend), " has no kernel for it (", args.str(), ")");
  PN_FAIL(op, ": backend ", backend_name(backend), " does not support ", args.str(), " (it takes ", support.str(),
          ")");
}

}  // namespace posenet::kernels
