#include "core/device.h"

#include "core/cuda_device.h"
#include "core/error.h"

namespace posenet {

Backend& cpu_backend();
#ifdef POSENET_WITH_CUDA
Backend& cuda_backend(int index);  // core/cuda_backend.cu
int cuda_runtime_device_count();
std::string cuda_runtime_error();
int cuda_exchange_current_device(int index);      // returns the previous one
void cuda_restore_current_device(int index) noexcept;
#endif

std::string Device::str() const {
  if (kind == DeviceKind::CPU) return "cpu";
  return "cuda:" + std::to_string(index);
}

Device parse_device(const std::string& text) {
  if (text == "cpu") return Device::cpu();
  if (text == "cuda" || text == "gpu") return Device::cuda(0);
  if (text.rfind("cuda:", 0) == 0) {
    const std::string idx = text.substr(5);
    bool digits = !idx.empty() && idx.size() < 4;
    for (char c : idx) digits = digits && c >= '0' && c <= '9';
    if (digits) return Device::cuda(std::stoi(idx));
  }
  throw Error("unknown device '" + text + "': expected cpu, cuda or cuda:N");
}

int cuda_device_count() {
#ifdef POSENET_WITH_CUDA
  return cuda_runtime_device_count();
#else
  return 0;
#endif
}

bool cuda_available() { return cuda_device_count() > 0; }

std::string cuda_unavailable_reason() {
#ifdef POSENET_WITH_CUDA
  if (cuda_runtime_device_count() > 0) return "";
  const std::string err = cuda_runtime_error();
  return err.empty() ? "no CUDA device" : "CUDA runtime: " + err;
#else
  return "posenet was built without CUDA";
#endif
}

void check_cuda_device_index(Device device, int count) {
  PN_CHECK(count > 0, "device ", device.str(), " requested but no CUDA device is present");
  PN_CHECK(device.index >= 0 && device.index < count, "device ", device.str(), " does not exist: ", count,
           " CUDA device(s) present, cuda:0 to cuda:", count - 1);
}

Backend& backend_for(Device device) {
  if (device.is_cpu()) return cpu_backend();
#ifdef POSENET_WITH_CUDA
  check_cuda_device_index(device, cuda_runtime_device_count());
  return cuda_backend(device.index);
#else
  PN_FAIL("device ", device.str(), " requested but this posenet was built without CUDA (-DPOSENET_CUDA=ON)");
#endif
}

CudaDeviceScope::CudaDeviceScope(Device device) {
#ifdef POSENET_WITH_CUDA
  if (!device.is_cuda()) return;
  const int previous = cuda_exchange_current_device(device.index);
  if (previous != device.index) restore_ = previous;
#else
  (void)device;
#endif
}

CudaDeviceScope::~CudaDeviceScope() {
  if (restore_ < 0) return;
#ifdef POSENET_WITH_CUDA
  cuda_restore_current_device(restore_);
#endif
}

}  // namespace posenet
