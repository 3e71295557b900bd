#include "core/device_graph.h"

#include "core/error.h"

namespace posenet {

#ifdef POSENET_WITH_CUDA
// core/cuda_backend.cu
void cuda_begin_graph_capture(int index);
void* cuda_end_graph_capture(int index);
void cuda_abort_graph_capture(int index) noexcept;
void cuda_launch_graph(int index, void* exec);
void cuda_destroy_graph(int index, void* exec) noexcept;
#endif

namespace {
void check_graph_device(Device device) {
#ifdef POSENET_WITH_CUDA
  if (device.is_cuda()) {
    (void)backend_for(device);  // checks the index
    return;
  }
#endif
  PN_FAIL("CUDA graphs (--cuda-graph) need a CUDA device, got ", device.str());
}
}  // namespace

DeviceGraph::~DeviceGraph() {
#ifdef POSENET_WITH_CUDA
  cuda_destroy_graph(device_.index, exec_);
#endif
}

void DeviceGraph::launch() {
#ifdef POSENET_WITH_CUDA
  cuda_launch_graph(device_.index, exec_);
#endif
}

void begin_graph_capture(Device device) {
  check_graph_device(device);
#ifdef POSENET_WITH_CUDA
  cuda_begin_graph_capture(device.index);
#endif
}

std::unique_ptr<DeviceGraph> end_graph_capture(Device device) {
  check_graph_device(device);
#ifdef POSENET_WITH_CUDA
  return std::unique_ptr<DeviceGraph>(new DeviceGraph(device, cuda_end_graph_capture(device.index)));
#else
  return nullptr;
#endif
}

void abort_graph_capture(Device device) noexcept {
#ifdef POSENET_WITH_CUDA
  if (device.is_cuda()) cuda_abort_graph_capture(device.index);
#else
  (void)device;
#endif
}

}  // namespace posenet
