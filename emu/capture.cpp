// Stream capture and graphs, as CUDA's global capture mode: while a stream
// captures, the kernels, async copies and fills queued on it are recorded
// (not run); an instantiated graph's launch runs them in the recorded order,
// with the arguments they were queued with. A call that would make the host
// wait or touch memory synchronously (cudaMemcpy, cudaMalloc, a
// synchronisation) while any capture is active fails with
// cudaErrorStreamCaptureUnsupported and invalidates the captures, and
// cudaStreamEndCapture then reports cudaErrorStreamCaptureInvalidated.
#include <atomic>
#include <functional>
#include <mutex>
#include <unordered_map>
#include <utility>
#include <vector>

#include "emu/runtime_state.h"
#include "posenet_emu/launch.h"

using Work = std::vector<std::function<void()>>;

struct CUgraph_st {
  Work work;
};
struct CUgraphExec_st {
  Work work;
};

namespace posenet::emu {
namespace {

struct Capture {
  Work work;
  bool invalidated = false;
};

struct Captures {
  std::mutex mu;
  std::unordered_map<cudaStream_t, Capture> active;
  std::atomic<int> count{0};  // active.size(), read without the lock
};
Captures& captures() {
  static auto* c = new Captures();  // never destroyed: streams may outlive statics
  return *c;
}

// The calling thread's mode (cudaThreadExchangeStreamCaptureMode).
thread_local cudaStreamCaptureMode t_mode = cudaStreamCaptureModeGlobal;

}  // namespace

bool capture_active() { return captures().count.load(std::memory_order_acquire) != 0; }

bool record_if_capturing(cudaStream_t stream, std::function<void()> work) {
  Captures& c = captures();
  if (stream == nullptr || c.count.load(std::memory_order_acquire) == 0) return false;
  std::lock_guard<std::mutex> lock(c.mu);
  auto it = c.active.find(stream);
  if (it == c.active.end()) return false;
  it->second.work.push_back(std::move(work));
  return true;
}

bool refuse_during_capture() {
  Captures& c = captures();
  if (c.count.load(std::memory_order_acquire) == 0) return false;
  std::lock_guard<std::mutex> lock(c.mu);
  for (auto& [stream, capture] : c.active) capture.invalidated = true;
  return !c.active.empty();
}

bool refuse_allocation_during_capture() {
  return t_mode != cudaStreamCaptureModeRelaxed && refuse_during_capture();
}

}  // namespace posenet::emu

using namespace posenet::emu;

cudaError_t cudaStreamBeginCapture(cudaStream_t stream, cudaStreamCaptureMode) {
  if (stream == nullptr) return record_error(cudaErrorStreamCaptureUnsupported);  // the legacy stream
  Captures& c = captures();
  std::lock_guard<std::mutex> lock(c.mu);
  if (!c.active.emplace(stream, Capture{}).second) return record_error(cudaErrorIllegalState);
  c.count.store(int(c.active.size()), std::memory_order_release);
  return cudaSuccess;
}

cudaError_t cudaStreamEndCapture(cudaStream_t stream, cudaGraph_t* graph) {
  if (!graph) return record_error(cudaErrorInvalidValue);
  *graph = nullptr;
  Captures& c = captures();
  std::lock_guard<std::mutex> lock(c.mu);
  auto it = c.active.find(stream);
  if (it == c.active.end()) return record_error(cudaErrorIllegalState);
  Capture capture = std::move(it->second);
  c.active.erase(it);
  c.count.store(int(c.active.size()), std::memory_order_release);
  if (capture.invalidated) return record_error(cudaErrorStreamCaptureInvalidated);
  *graph = new CUgraph_st{std::move(capture.work)};
  return cudaSuccess;
}

cudaError_t cudaStreamIsCapturing(cudaStream_t stream, cudaStreamCaptureStatus* status) {
  if (!status) return record_error(cudaErrorInvalidValue);
  Captures& c = captures();
  std::lock_guard<std::mutex> lock(c.mu);
  auto it = c.active.find(stream);
  *status = it == c.active.end()       ? cudaStreamCaptureStatusNone
            : it->second.invalidated ? cudaStreamCaptureStatusInvalidated
                                     : cudaStreamCaptureStatusActive;
  return cudaSuccess;
}

cudaError_t cudaGraphInstantiate(cudaGraphExec_t* exec, cudaGraph_t graph, unsigned long long) {
  if (!exec || !graph) return record_error(cudaErrorInvalidValue);
  *exec = new CUgraphExec_st{graph->work};
  return cudaSuccess;
}

cudaError_t cudaGraphLaunch(cudaGraphExec_t exec, cudaStream_t stream) {
  if (!exec) return record_error(cudaErrorInvalidValue);
  const Work work = exec->work;
  if (record_if_capturing(stream, [work] {
        for (const auto& w : work) w();
      }))
    return cudaSuccess;
  for (const auto& w : work) w();
  return cudaSuccess;
}

cudaError_t cudaGraphDestroy(cudaGraph_t graph) {
  delete graph;
  return cudaSuccess;
}

cudaError_t cudaGraphExecDestroy(cudaGraphExec_t exec) {
  delete exec;
  return cudaSuccess;
}

cudaError_t cudaThreadExchangeStreamCaptureMode(cudaStreamCaptureMode* mode) {
  if (!mode) return record_error(cudaErrorInvalidValue);
  std::swap(*mode, t_mode);
  return cudaSuccess;
}
