#include "core/async_transfers.h"

#include <cstring>
#include <mutex>
#include <vector>

#include "core/error.h"

namespace posenet {

#ifdef POSENET_WITH_CUDA
// core/cuda_backend.cu
void cuda_upload_async(int index, void* dst, const void* host_src, size_t bytes);
void cuda_readback_async(int index, int slot, const void* src, size_t bytes);
const void* cuda_readback_wait(int index, int slot);
#endif

namespace {

void check_slot(int slot) {
  PN_CHECK(slot >= 0 && slot < kReadbackSlots, "readback slot ", slot, " (there are ", kReadbackSlots, ")");
}

// The CPU's readback slots: the copy is made at once.
struct CpuReadback {
  std::mutex mutex;
  std::vector<unsigned char> slots[kReadbackSlots];
};
CpuReadback& cpu_readback() {
  static auto* r = new CpuReadback();  // never destroyed, as the backends
  return *r;
}

}  // namespace

void upload_async(Device device, void* dst, const void* host_src, size_t bytes) {
  if (bytes == 0) return;
#ifdef POSENET_WITH_CUDA
  if (device.is_cuda()) {
    (void)backend_for(device);  // checks the index
    cuda_upload_async(device.index, dst, host_src, bytes);
    return;
  }
#endif
  backend_for(device).copy_host_to_device(dst, host_src, bytes);
}

void readback_async(Device device, int slot, const void* src, size_t bytes) {
  check_slot(slot);
#ifdef POSENET_WITH_CUDA
  if (device.is_cuda()) {
    (void)backend_for(device);
    cuda_readback_async(device.index, slot, src, bytes);
    return;
  }
#endif
  PN_CHECK(device.is_cpu(), "readback from ", device.str(), ": not a device of this build");
  CpuReadback& r = cpu_readback();
  std::lock_guard<std::mutex> lock(r.mutex);
  r.slots[slot].resize(bytes);
  if (bytes) std::memcpy(r.slots[slot].data(), src, bytes);
}

const void* readback_wait(Device device, int slot) {
  check_slot(slot);
#ifdef POSENET_WITH_CUDA
  if (device.is_cuda()) {
    (void)backend_for(device);
    return cuda_readback_wait(device.index, slot);
  }
#endif
  PN_CHECK(device.is_cpu(), "readback from ", device.str(), ": not a device of this build");
  CpuReadback& r = cpu_readback();
  std::lock_guard<std::mutex> lock(r.mutex);
  return r.slots[slot].data();
}

}  // namespace posenet
