// Devices and the per-device backend interface. The CPU backend lives in
// core; the CUDA backend (core/cuda_backend.cu) fills in the same interface
// when posenet is built with CUDA.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/dtype.h"

namespace posenet {

enum class DeviceKind : uint8_t { CPU, CUDA };

struct Device {
  DeviceKind kind = DeviceKind::CPU;
  int index = 0;

  static Device cpu() { return {DeviceKind::CPU, 0}; }
  static Device cuda(int index = 0) { return {DeviceKind::CUDA, index}; }
  bool is_cpu() const { return kind == DeviceKind::CPU; }
  bool is_cuda() const { return kind == DeviceKind::CUDA; }
  bool operator==(const Device& o) const { return kind == o.kind && (kind == DeviceKind::CPU || index == o.index); }
  bool operator!=(const Device& o) const { return !(*this == o); }
  std::string str() const;  // "cpu", "cuda:0"
};

// Parses "cpu", "cuda", "cuda:1". Throws on anything else.
Device parse_device(const std::string& text);

// True when posenet was built with CUDA and a device is present.
bool cuda_available();
int cuda_device_count();
// Why cuda_available() is false ("" when it is true): built without CUDA,
// or the CUDA runtime's error (no device, a driver older than the toolkit).
std::string cuda_unavailable_reason();

// What a device's backend has done since the process started. The counts
// only grow, so a training step's counts are the difference of a snapshot
// taken after it and one taken before (nothing is ever reset).
struct BackendCounters {
  // Memory obtained from the driver or the OS: cudaMalloc calls on CUDA (a
  // block reused from the caching allocator does not count); on the CPU
  // every allocate(), each a fresh aligned_alloc from the heap.
  uint64_t alloc_calls = 0;
  // Times the host waited for the device: stream and device synchronisations
  // and blocking device-to-host copies. Always 0 on the CPU.
  uint64_t host_syncs = 0;
  // Bytes given to copy_host_to_device (on the CPU: the bytes staged by that
  // memcpy; tensors already on the CPU are not copied and do not count).
  uint64_t h2d_bytes = 0;

  BackendCounters operator-(const BackendCounters& before) const {
    return {alloc_calls - before.alloc_calls, host_syncs - before.host_syncs, h2d_bytes - before.h2d_bytes};
  }
};

// What a device must provide to hold tensors. Allocation goes through the
// backend so that the CUDA one can cache blocks (no cudaMalloc inside a
// training step); copies and fills are what core itself needs (autograd's
// gradient accumulation, dtype conversion, moves between devices).
class Backend {
 public:
  virtual ~Backend() = default;
  virtual void* allocate(size_t bytes) = 0;
  virtual void deallocate(void* ptr, size_t bytes) = 0;
  // dst/src on this device unless the other side is explicitly the host.
  virtual void copy_device_to_device(void* dst, const void* src, size_t bytes) = 0;
  virtual void copy_host_to_device(void* dst, const void* host_src, size_t bytes) = 0;
  virtual void copy_device_to_host(void* host_dst, const void* src, size_t bytes) = 0;
  virtual void fill(void* dst, DType dtype, size_t count, double value) = 0;
  // dst[i] += src[i] (same dtype).
  virtual void add_inplace(void* dst, const void* src, DType dtype, size_t count) = 0;
  // Element conversion between dtypes on this device.
  virtual void convert(void* dst, DType dst_type, const void* src, DType src_type, size_t count) = 0;
  virtual void synchronize() = 0;
  // Bytes currently held for tensors and the peak since start (or reset).
  virtual size_t bytes_in_use() const = 0;
  virtual size_t peak_bytes() const = 0;
  virtual void reset_peak() = 0;
  // A snapshot of the monotonic counters above.
  virtual BackendCounters counters() const = 0;
};

Backend& backend_for(Device device);

}  // namespace posenet
