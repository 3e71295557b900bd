// Choosing a CUDA device: the check that an index exists, and the scope that
// makes a tensor's device the current one. Kernel launches, posenet's stream
// per device and the cuDNN/cuBLAS handles all follow the current device, so
// work for cuda:N must run with N current (otherwise device 0 would run it
// against device N's memory).
#pragma once
#include "core/device.h"

namespace posenet {

// Throws unless `device` is one of `count` CUDA devices; the message names
// the device and the count.
void check_cuda_device_index(Device device, int count);

// Makes `device` current until the end of the scope, then restores the
// previous device. A CPU device, or a build without CUDA, makes it a no-op.
class CudaDeviceScope {
 public:
  explicit CudaDeviceScope(Device device);
  ~CudaDeviceScope();
  CudaDeviceScope(const CudaDeviceScope&) = delete;
  CudaDeviceScope& operator=(const CudaDeviceScope&) = delete;

 private:
  int restore_ = -1;  // the device to make current again; -1: it did not change
};

}  // namespace posenet
