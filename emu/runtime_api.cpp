// The CUDA runtime API subset on the host. One emulated device; its memory
// is host memory (the size of the machine's RAM), streams execute work when
// it is queued, events read the host's steady clock.
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <string>
#include <unordered_map>

#include "emu/runtime_state.h"
#include "posenet_emu/launch.h"

struct CUstream_st {
  unsigned flags = 0;
};
struct CUevent_st {
  std::chrono::steady_clock::time_point when{};
  bool recorded = false;
};

namespace posenet::emu {
namespace {

constexpr size_t kDefaultDynamicShared = 48 * 1024;
constexpr size_t kOptInDynamicShared = 227 * 1024;  // an H100's per-block limit
constexpr size_t kAlignment = 256;                   // cudaMalloc's guarantee

thread_local cudaError_t t_last_error = cudaSuccess;
thread_local int t_device = 0;

struct Allocations {
  std::mutex mu;
  std::unordered_map<void*, size_t> live;
  size_t bytes = 0;
};
Allocations& allocations() {
  static auto* a = new Allocations();  // frees may come during static destruction
  return *a;
}

struct FunctionAttributes {
  std::mutex mu;
  std::unordered_map<const void*, size_t> max_dynamic_shared;
};
FunctionAttributes& function_attributes() {
  static auto* f = new FunctionAttributes();
  return *f;
}

size_t physical_memory() { return size_t(sysconf(_SC_PHYS_PAGES)) * size_t(sysconf(_SC_PAGESIZE)); }

size_t available_memory() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  size_t kib = 0;
  std::string unit;
  while (in >> key >> kib >> unit)
    if (key == "MemAvailable:") return kib * 1024;
  return size_t(sysconf(_SC_AVPHYS_PAGES)) * size_t(sysconf(_SC_PAGESIZE));
}

cudaError_t fail(cudaError_t err) { return record_error(err); }

std::atomic<int> g_reverse{-1};  // -1: not yet read from the environment

}  // namespace

cudaError_t record_error(cudaError_t err) {
  if (err != cudaSuccess) t_last_error = err;
  return err;
}

size_t max_dynamic_shared_bytes(const void* kernel) {
  auto& f = function_attributes();
  std::lock_guard<std::mutex> lock(f.mu);
  auto it = f.max_dynamic_shared.find(kernel);
  return it == f.max_dynamic_shared.end() ? kDefaultDynamicShared : it->second;
}

cudaError_t set_function_attribute(const void* kernel, cudaFuncAttribute attr, int value) {
  if (!kernel) return fail(cudaErrorInvalidValue);
  if (attr == cudaFuncAttributeMaxDynamicSharedMemorySize) {
    if (value < 0 || size_t(value) > kOptInDynamicShared) return fail(cudaErrorInvalidValue);
    auto& f = function_attributes();
    std::lock_guard<std::mutex> lock(f.mu);
    f.max_dynamic_shared[kernel] = size_t(value);
    return cudaSuccess;
  }
  if (attr == cudaFuncAttributePreferredSharedMemoryCarveout) return cudaSuccess;  // no caches to split here
  return fail(cudaErrorInvalidValue);
}

void set_reverse_order(bool reverse) { g_reverse.store(reverse ? 1 : 0); }

bool reverse_order() {
  int r = g_reverse.load(std::memory_order_relaxed);
  if (r < 0) {
    const char* env = std::getenv("POSENET_EMU_REVERSE");
    r = env && std::strcmp(env, "1") == 0 ? 1 : 0;
    int expected = -1;
    g_reverse.compare_exchange_strong(expected, r);
    r = g_reverse.load();
  }
  return r == 1;
}

}  // namespace posenet::emu

using namespace posenet::emu;

const char* cudaGetErrorName(cudaError_t error) {
  switch (error) {
    case cudaSuccess: return "cudaSuccess";
    case cudaErrorInvalidValue: return "cudaErrorInvalidValue";
    case cudaErrorMemoryAllocation: return "cudaErrorMemoryAllocation";
    case cudaErrorInitializationError: return "cudaErrorInitializationError";
    case cudaErrorInvalidConfiguration: return "cudaErrorInvalidConfiguration";
    case cudaErrorInvalidDevicePointer: return "cudaErrorInvalidDevicePointer";
    case cudaErrorInvalidMemcpyDirection: return "cudaErrorInvalidMemcpyDirection";
    case cudaErrorInvalidResourceHandle: return "cudaErrorInvalidResourceHandle";
    case cudaErrorNotReady: return "cudaErrorNotReady";
    case cudaErrorInvalidDevice: return "cudaErrorInvalidDevice";
    case cudaErrorNoDevice: return "cudaErrorNoDevice";
    case cudaErrorLaunchFailure: return "cudaErrorLaunchFailure";
    case cudaErrorIllegalState: return "cudaErrorIllegalState";
    case cudaErrorStreamCaptureUnsupported: return "cudaErrorStreamCaptureUnsupported";
    case cudaErrorStreamCaptureInvalidated: return "cudaErrorStreamCaptureInvalidated";
  }
  return "cudaErrorUnknown";
}

const char* cudaGetErrorString(cudaError_t error) {
  switch (error) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorInitializationError: return "initialization error";
    case cudaErrorInvalidConfiguration: return "invalid configuration argument";
    case cudaErrorInvalidDevicePointer: return "invalid device pointer";
    case cudaErrorInvalidMemcpyDirection: return "invalid copy direction for memcpy";
    case cudaErrorInvalidResourceHandle: return "invalid resource handle";
    case cudaErrorNotReady: return "device not ready";
    case cudaErrorInvalidDevice: return "invalid device ordinal";
    case cudaErrorNoDevice: return "no CUDA-capable device is detected";
    case cudaErrorLaunchFailure: return "unspecified launch failure";
    case cudaErrorIllegalState: return "the operation cannot be performed in the present state";
    case cudaErrorStreamCaptureUnsupported: return "operation not permitted when stream is capturing";
    case cudaErrorStreamCaptureInvalidated: return "operation failed due to a previous error during capture";
  }
  return "unknown error";
}

cudaError_t cudaGetLastError() {
  const cudaError_t e = t_last_error;
  t_last_error = cudaSuccess;
  return e;
}
cudaError_t cudaPeekAtLastError() { return t_last_error; }

cudaError_t cudaGetDeviceCount(int* count) {
  if (!count) return fail(cudaErrorInvalidValue);
  *count = 1;
  return cudaSuccess;
}
cudaError_t cudaGetDevice(int* device) {
  if (!device) return fail(cudaErrorInvalidValue);
  *device = t_device;
  return cudaSuccess;
}
cudaError_t cudaSetDevice(int device) {
  if (device != 0) return fail(cudaErrorInvalidDevice);
  t_device = device;
  return cudaSuccess;
}
cudaError_t cudaGetDeviceProperties(cudaDeviceProp* prop, int device) {
  if (!prop) return fail(cudaErrorInvalidValue);
  if (device != 0) return fail(cudaErrorInvalidDevice);
  *prop = cudaDeviceProp{};
  std::strncpy(prop->name, "posenet CUDA emulator", sizeof(prop->name) - 1);
  prop->totalGlobalMem = physical_memory();
  prop->sharedMemPerBlock = kDefaultDynamicShared;
  prop->sharedMemPerBlockOptin = kOptInDynamicShared;
  prop->warpSize = 32;
  prop->maxThreadsPerBlock = 1024;
  prop->maxThreadsDim[0] = 1024;
  prop->maxThreadsDim[1] = 1024;
  prop->maxThreadsDim[2] = 64;
  prop->maxGridSize[0] = 2147483647;
  prop->maxGridSize[1] = 65535;
  prop->maxGridSize[2] = 65535;
  prop->multiProcessorCount = int(sysconf(_SC_NPROCESSORS_ONLN));
  prop->major = 9;
  prop->minor = 0;
  return cudaSuccess;
}
// A synchronous call while a stream captures (emu/capture.cpp).
#define PN_EMU_REFUSE_DURING_CAPTURE() \
  if (refuse_during_capture()) return fail(cudaErrorStreamCaptureUnsupported)

cudaError_t cudaDeviceSynchronize() {
  PN_EMU_REFUSE_DURING_CAPTURE();
  return cudaSuccess;
}
cudaError_t cudaDeviceReset() { return cudaSuccess; }

cudaError_t cudaMemGetInfo(size_t* free_bytes, size_t* total_bytes) {
  if (!free_bytes || !total_bytes) return fail(cudaErrorInvalidValue);
  *total_bytes = physical_memory();
  *free_bytes = available_memory();
  return cudaSuccess;
}

cudaError_t cudaMalloc(void** ptr, size_t bytes) {
  if (!ptr) return fail(cudaErrorInvalidValue);
  if (refuse_allocation_during_capture()) return fail(cudaErrorStreamCaptureUnsupported);
  *ptr = nullptr;
  // Refused above what the machine has, as a GPU refuses above its memory
  // (and before the host allocator would abort, under a sanitizer).
  if (bytes > available_memory()) return fail(cudaErrorMemoryAllocation);
  const size_t rounded = bytes == 0 ? kAlignment : (bytes + kAlignment - 1) / kAlignment * kAlignment;
  void* p = std::aligned_alloc(kAlignment, rounded);
  if (!p) return fail(cudaErrorMemoryAllocation);
  auto& a = allocations();
  std::lock_guard<std::mutex> lock(a.mu);
  a.live.emplace(p, bytes);
  a.bytes += bytes;
  *ptr = p;
  return cudaSuccess;
}

cudaError_t cudaFree(void* ptr) {
  if (!ptr) return cudaSuccess;
  PN_EMU_REFUSE_DURING_CAPTURE();
  auto& a = allocations();
  {
    std::lock_guard<std::mutex> lock(a.mu);
    auto it = a.live.find(ptr);
    if (it == a.live.end()) return fail(cudaErrorInvalidDevicePointer);
    a.bytes -= it->second;
    a.live.erase(it);
  }
  std::free(ptr);
  return cudaSuccess;
}

cudaError_t cudaMallocHost(void** ptr, size_t bytes) {
  if (!ptr) return fail(cudaErrorInvalidValue);
  PN_EMU_REFUSE_DURING_CAPTURE();
  *ptr = std::malloc(bytes == 0 ? 1 : bytes);
  return *ptr ? cudaSuccess : fail(cudaErrorMemoryAllocation);
}
cudaError_t cudaHostAlloc(void** ptr, size_t bytes, unsigned) { return cudaMallocHost(ptr, bytes); }
cudaError_t cudaFreeHost(void* ptr) {
  std::free(ptr);
  return cudaSuccess;
}

namespace {
cudaError_t check_copy(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind) {
  if (int(kind) < 0 || int(kind) > int(cudaMemcpyDefault)) return fail(cudaErrorInvalidMemcpyDirection);
  if (bytes != 0 && (!dst || !src)) return fail(cudaErrorInvalidValue);
  return cudaSuccess;
}
}  // namespace

cudaError_t cudaMemcpy(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind) {
  if (const cudaError_t err = check_copy(dst, src, bytes, kind)) return err;
  PN_EMU_REFUSE_DURING_CAPTURE();
  if (bytes) std::memmove(dst, src, bytes);
  return cudaSuccess;
}
cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind, cudaStream_t stream) {
  if (const cudaError_t err = check_copy(dst, src, bytes, kind)) return err;
  if (bytes == 0) return cudaSuccess;
  if (!record_if_capturing(stream, [=] { std::memmove(dst, src, bytes); })) std::memmove(dst, src, bytes);
  return cudaSuccess;
}
cudaError_t cudaMemset(void* dst, int value, size_t bytes) {
  if (bytes == 0) return cudaSuccess;
  if (!dst) return fail(cudaErrorInvalidValue);
  PN_EMU_REFUSE_DURING_CAPTURE();
  std::memset(dst, value, bytes);
  return cudaSuccess;
}
cudaError_t cudaMemsetAsync(void* dst, int value, size_t bytes, cudaStream_t stream) {
  if (bytes == 0) return cudaSuccess;
  if (!dst) return fail(cudaErrorInvalidValue);
  if (!record_if_capturing(stream, [=] { std::memset(dst, value, bytes); })) std::memset(dst, value, bytes);
  return cudaSuccess;
}

cudaError_t cudaStreamCreate(cudaStream_t* stream) { return cudaStreamCreateWithFlags(stream, cudaStreamDefault); }
cudaError_t cudaStreamCreateWithFlags(cudaStream_t* stream, unsigned flags) {
  if (!stream) return fail(cudaErrorInvalidValue);
  *stream = new CUstream_st{flags};
  return cudaSuccess;
}
cudaError_t cudaStreamDestroy(cudaStream_t stream) {
  delete stream;
  return cudaSuccess;
}
cudaError_t cudaStreamSynchronize(cudaStream_t) {
  PN_EMU_REFUSE_DURING_CAPTURE();
  return cudaSuccess;
}
cudaError_t cudaStreamQuery(cudaStream_t) { return cudaSuccess; }

cudaError_t cudaEventCreate(cudaEvent_t* event) { return cudaEventCreateWithFlags(event, cudaEventDefault); }
cudaError_t cudaEventCreateWithFlags(cudaEvent_t* event, unsigned) {
  if (!event) return fail(cudaErrorInvalidValue);
  *event = new CUevent_st();
  return cudaSuccess;
}
cudaError_t cudaEventDestroy(cudaEvent_t event) {
  delete event;
  return cudaSuccess;
}
cudaError_t cudaEventRecord(cudaEvent_t event, cudaStream_t stream) {
  if (!event) return fail(cudaErrorInvalidResourceHandle);
  const auto record = [event] {
    event->when = std::chrono::steady_clock::now();
    event->recorded = true;
  };
  if (!record_if_capturing(stream, record)) record();
  return cudaSuccess;
}
cudaError_t cudaEventSynchronize(cudaEvent_t event) {
  if (!event) return fail(cudaErrorInvalidResourceHandle);
  PN_EMU_REFUSE_DURING_CAPTURE();
  return cudaSuccess;
}
cudaError_t cudaEventQuery(cudaEvent_t event) { return event ? cudaSuccess : fail(cudaErrorInvalidResourceHandle); }
cudaError_t cudaEventElapsedTime(float* ms, cudaEvent_t start, cudaEvent_t end) {
  if (!ms) return fail(cudaErrorInvalidValue);
  if (!start || !end || !start->recorded || !end->recorded) return fail(cudaErrorInvalidResourceHandle);
  *ms = std::chrono::duration<float, std::milli>(end->when - start->when).count();
  return cudaSuccess;
}
