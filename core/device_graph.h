// A CUDA graph of the work queued on a CUDA device's stream: captured once,
// replayed with one launch (the training step of --cuda-graph).
//
// Between begin_graph_capture and end_graph_capture the device's kernels,
// async copies and fills are recorded, not run. Device memory allocated
// while capturing belongs to the graph's pool: it is not handed to anything
// else while the graph lives, so every replay reads and writes the
// addresses the capture recorded. Anything that would make the host wait on
// the device or stage host memory during the capture (an item(), a
// synchronous copy, an upload) is refused with an error naming the op being
// dispatched. One capture or graph per device at a time.
#pragma once
#include <memory>

#include "core/device.h"

namespace posenet {

class DeviceGraph {
 public:
  ~DeviceGraph();  // frees the graph and returns its pool to the cache
  DeviceGraph(const DeviceGraph&) = delete;
  DeviceGraph& operator=(const DeviceGraph&) = delete;

  // Queues one replay on the device's stream; does not wait.
  void launch();
  Device device() const { return device_; }

 private:
  friend std::unique_ptr<DeviceGraph> end_graph_capture(Device device);
  DeviceGraph(Device device, void* exec) : device_(device), exec_(exec) {}
  Device device_;
  void* exec_;  // cudaGraphExec_t
};

// Starts recording the device's work. Fails on a device without graphs (the
// CPU) with an error saying so.
void begin_graph_capture(Device device);
// Ends the recording and instantiates it; fails (the pool freed) when the
// capture was invalidated.
std::unique_ptr<DeviceGraph> end_graph_capture(Device device);
// Drops a capture in progress after an error (nothing to do when none runs).
void abort_graph_capture(Device device) noexcept;

}  // namespace posenet
