// The CUDA backend: a caching allocator and the copies/fills core needs.
//
// Freed blocks are kept in per-size free lists and reused, so after the
// first training step no cudaMalloc/cudaFree happens inside a step (which
// would synchronise the device and break CUDA-graph capture). When the
// device runs out, the cache is returned to the driver and the allocation
// retried once; if it still fails the error says what was asked, what is
// free, and suggests a smaller batch.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <type_traits>
#include <mutex>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/cuda_check.h"
#include "core/device.h"
#include "core/op_scope.h"
#include "core/uncounted_transfers.h"

namespace posenet {
namespace {

constexpr size_t kSmallRound = 512;
constexpr size_t kLargeRound = 2u << 20;

size_t round_size(size_t bytes) {
  if (bytes == 0) bytes = 1;
  if (bytes < (1u << 20)) return (bytes + kSmallRound - 1) / kSmallRound * kSmallRound;
  return (bytes + kLargeRound - 1) / kLargeRound * kLargeRound;
}

template <typename T>
__device__ __forceinline__ float load_as_float(const T* p, size_t i) { return float(p[i]); }
template <>
__device__ __forceinline__ float load_as_float(const __nv_bfloat16* p, size_t i) { return __bfloat162float(p[i]); }
template <>
__device__ __forceinline__ float load_as_float(const __half* p, size_t i) { return __half2float(p[i]); }

template <typename T>
__device__ __forceinline__ void store_from_double(T* p, size_t i, double v) { p[i] = T(v); }
template <>
__device__ __forceinline__ void store_from_double(__nv_bfloat16* p, size_t i, double v) { p[i] = __float2bfloat16(float(v)); }
template <>
__device__ __forceinline__ void store_from_double(__half* p, size_t i, double v) { p[i] = __float2half(float(v)); }

// DType::U8's rule: round to nearest, saturate to [0, 255] (NaN gives 0).
template <>
__device__ __forceinline__ void store_from_double(uint8_t* p, size_t i, double v) {
  p[i] = !(v > 0) ? uint8_t(0) : v >= 255 ? uint8_t(255) : uint8_t(rint(v));
}

template <typename T>
__global__ void fill_kernel(T* dst, size_t n, double value) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x)
    store_from_double(dst, i, value);
}

template <typename T>
__global__ void add_inplace_kernel(T* dst, const T* src, size_t n) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x) {
    if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>) {
      dst[i] += src[i];
    } else {
      store_from_double(dst, i, double(load_as_float(dst, i) + load_as_float(src, i)));
    }
  }
}

template <typename D, typename S>
__global__ void convert_kernel(D* dst, const S* src, size_t n) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x) {
    if constexpr (std::is_same_v<S, double>) store_from_double(dst, i, src[i]);
    else store_from_double(dst, i, double(load_as_float(src, i)));
  }
}

unsigned grid_for(size_t n) {
  size_t blocks = (n + 255) / 256;
  return unsigned(blocks > 65535 * 8 ? 65535 * 8 : (blocks == 0 ? 1 : blocks));
}

template <typename Fn>
void with_type(DType t, Fn&& fn) {
  switch (t) {
    case DType::F32: fn(static_cast<float*>(nullptr)); break;
    case DType::F64: fn(static_cast<double*>(nullptr)); break;
    case DType::BF16: fn(static_cast<__nv_bfloat16*>(nullptr)); break;
    case DType::F16: fn(static_cast<__half*>(nullptr)); break;
    case DType::U8: fn(static_cast<uint8_t*>(nullptr)); break;
  }
}

}  // namespace

int cuda_exchange_current_device(int index) {
  int previous = 0;
  PN_CUDA_CHECK(cudaGetDevice(&previous));
  if (previous != index) PN_CUDA_CHECK(cudaSetDevice(index));
  return previous;
}

void cuda_restore_current_device(int index) noexcept {
  int current = 0;
  if (cudaGetDevice(&current) == cudaSuccess && current != index) cudaSetDevice(index);
}

namespace {

// Every call that reaches CUDA makes this backend's device current first: its
// stream and its kernels belong to that device, whichever one the caller had.
class CudaBackend final : public Backend {
 public:
  explicit CudaBackend(int index) : index_(index) {}

  void* allocate(size_t bytes) override {
    std::lock_guard<std::mutex> lock(mu_);
    const size_t size = round_size(bytes);
    void* p = nullptr;
    size_t block = 0;
    if (capturing_) return allocate_for_graph_locked(bytes, size);
    if (take_cached(free_, size, &p, &block)) {
      cached_bytes_ -= block;
      note_alloc(p, block);
      return p;
    }
    DeviceGuard guard(index_);
    cudaError_t err = driver_malloc(&p, size);
    if (err == cudaErrorMemoryAllocation) {
      cudaGetLastError();
      release_cache_locked();
      err = driver_malloc(&p, size);
    }
    check_driver_malloc(err, bytes, size);
    note_alloc(p, size);
    return p;
  }

  void deallocate(void* ptr, size_t) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = live_.find(ptr);
    if (it == live_.end()) return;
    size_t block = it->second;
    live_.erase(it);
    in_use_ -= block;
    if (pool_blocks_.count(ptr)) {  // the graph's: only its capture may reuse it
      pool_free_.emplace(block, ptr);
      return;
    }
    free_.emplace(block, ptr);
    cached_bytes_ += block;
  }

  // CUDA graphs (core/device_graph.h). One capture, and one graph's pool,
  // per device at a time.
  void begin_capture() {
    DeviceGuard guard(index_);
    cudaStream_t s = stream();
    {
      std::lock_guard<std::mutex> lock(mu_);
      PN_CHECK(!capturing_ && !pool_in_use_, "cuda:", index_,
               ": a CUDA graph is already being captured or alive on this device (one at a time)");
      capturing_ = true;
      pool_in_use_ = true;
    }
    const cudaError_t err = cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal);
    if (err != cudaSuccess) {
      cudaGetLastError();
      release_pool();
      PN_FAIL("cuda:", index_, ": cudaStreamBeginCapture failed: ", cudaGetErrorName(err), " (",
              cudaGetErrorString(err), ")");
    }
  }
  // Ends the capture and instantiates its graph (a cudaGraphExec_t).
  void* end_capture() {
    DeviceGuard guard(index_);
    cudaGraph_t graph = nullptr;
    cudaError_t err = cudaStreamEndCapture(stream(), &graph);
    capturing_ = false;
    cudaGraphExec_t exec = nullptr;
    if (err == cudaSuccess) err = cudaGraphInstantiate(&exec, graph, 0);
    if (graph) cudaGraphDestroy(graph);
    if (err != cudaSuccess) {
      cudaGetLastError();
      release_pool();
      PN_FAIL("cuda:", index_, ": capturing the training step as a CUDA graph failed: ", cudaGetErrorName(err), " (",
              cudaGetErrorString(err), ")");
    }
    return exec;
  }
  // After an error inside a capture: the capture is dropped, its pool freed.
  void abort_capture() noexcept {
    if (!capturing_) return;
    DeviceGuard guard(index_);
    cudaGraph_t graph = nullptr;
    if (cudaStreamEndCapture(stream(), &graph) == cudaSuccess && graph) cudaGraphDestroy(graph);
    cudaGetLastError();
    capturing_ = false;
    release_pool();
  }
  void launch_graph(void* exec) {
    DeviceGuard guard(index_);
    PN_CHECK(!capturing_, "cuda:", index_, ": a CUDA graph launched while a capture runs");
    PN_CUDA_CHECK(cudaGraphLaunch(static_cast<cudaGraphExec_t>(exec), stream()));
  }
  // The pool's blocks go back to the general cache without a wait: work
  // queued later on this device's one stream runs after the last replay.
  void destroy_graph(void* exec) noexcept {
    DeviceGuard guard(index_);
    cudaGraphExecDestroy(static_cast<cudaGraphExec_t>(exec));
    release_pool();
  }

  void copy_device_to_device(void* dst, const void* src, size_t bytes) override {
    DeviceGuard guard(index_);
    PN_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, stream()));
  }
  void copy_host_to_device(void* dst, const void* src, size_t bytes) override {
    refuse_while_capturing("copy host memory to the device synchronously");
    DeviceGuard guard(index_);
    if (!UncountedTransfers::active()) h2d_bytes_.fetch_add(bytes, std::memory_order_relaxed);
    PN_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, stream()));
    wait_for_stream();  // the host buffer may be freed next
  }
  void copy_device_to_host(void* dst, const void* src, size_t bytes) override {
    refuse_while_capturing("read device memory on the host (item(), to(cpu))");
    DeviceGuard guard(index_);
    PN_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, stream()));
    wait_for_stream();
  }
  void fill(void* dst, DType dtype, size_t n, double value) override {
    if (n == 0) return;
    DeviceGuard guard(index_);
    with_type(dtype, [&](auto* tag) {
      using T = std::remove_pointer_t<decltype(tag)>;
      fill_kernel<T><<<grid_for(n), 256, 0, stream()>>>(static_cast<T*>(dst), n, value);
    });
    PN_CUDA_CHECK_LAUNCH();
  }
  void add_inplace(void* dst, const void* src, DType dtype, size_t n) override {
    if (n == 0) return;
    DeviceGuard guard(index_);
    with_type(dtype, [&](auto* tag) {
      using T = std::remove_pointer_t<decltype(tag)>;
      add_inplace_kernel<T><<<grid_for(n), 256, 0, stream()>>>(static_cast<T*>(dst), static_cast<const T*>(src), n);
    });
    PN_CUDA_CHECK_LAUNCH();
  }
  void convert(void* dst, DType dst_type, const void* src, DType src_type, size_t n) override {
    if (n == 0) return;
    DeviceGuard guard(index_);
    if (dst_type == src_type) {
      copy_device_to_device(dst, src, n * dtype_size(dst_type));
      return;
    }
    with_type(dst_type, [&](auto* dtag) {
      using D = std::remove_pointer_t<decltype(dtag)>;
      with_type(src_type, [&](auto* stag) {
        using S = std::remove_pointer_t<decltype(stag)>;
        convert_kernel<D, S><<<grid_for(n), 256, 0, stream()>>>(static_cast<D*>(dst), static_cast<const S*>(src), n);
      });
    });
    PN_CUDA_CHECK_LAUNCH();
  }
  void synchronize() override {
    DeviceGuard guard(index_);
    wait_for_stream();
  }
  size_t bytes_in_use() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return in_use_;
  }
  size_t peak_bytes() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return peak_;
  }
  void reset_peak() override {
    std::lock_guard<std::mutex> lock(mu_);
    peak_ = in_use_;
  }
  BackendCounters counters() const override {
    return {alloc_calls_.load(std::memory_order_relaxed), host_syncs_.load(std::memory_order_relaxed),
            h2d_bytes_.load(std::memory_order_relaxed)};
  }

  // Pinned staging (core/async_transfers.h): uploads take the ring's slots
  // in turn; readbacks use the slot they are given.
  void upload_async(void* dst, const void* src, size_t bytes) {
    // A captured copy from a staging slot would replay the slot's old bytes.
    refuse_while_capturing("stage an upload (uploads go before the graph's launch)");
    DeviceGuard guard(index_);
    std::lock_guard<std::mutex> lock(staging_mu_);
    PinnedSlot& slot = uploads_[next_upload_];
    next_upload_ = (next_upload_ + 1) % kUploadSlots;
    prepare(slot, bytes);
    std::memcpy(slot.host, src, bytes);
    if (!UncountedTransfers::active()) h2d_bytes_.fetch_add(bytes, std::memory_order_relaxed);
    PN_CUDA_CHECK(cudaMemcpyAsync(dst, slot.host, bytes, cudaMemcpyHostToDevice, stream()));
    PN_CUDA_CHECK(cudaEventRecord(slot.copied, stream()));
    slot.in_flight = true;
  }
  void readback_async(int index, const void* src, size_t bytes) {
    refuse_while_capturing("queue a readback (readbacks go after the graph's launch)");
    DeviceGuard guard(index_);
    std::lock_guard<std::mutex> lock(staging_mu_);
    PinnedSlot& slot = readbacks_[index];
    prepare(slot, bytes);
    PN_CUDA_CHECK(cudaMemcpyAsync(slot.host, src, bytes, cudaMemcpyDeviceToHost, stream()));
    PN_CUDA_CHECK(cudaEventRecord(slot.copied, stream()));
    slot.in_flight = true;
  }
  // The one wait of a step: counted whether or not the copy has landed yet.
  const void* readback_wait(int index) {
    refuse_while_capturing("wait for a readback");
    DeviceGuard guard(index_);
    std::lock_guard<std::mutex> lock(staging_mu_);
    PinnedSlot& slot = readbacks_[index];
    if (slot.in_flight) {
      if (!UncountedTransfers::active()) host_syncs_.fetch_add(1, std::memory_order_relaxed);
      PN_CUDA_CHECK(cudaEventSynchronize(slot.copied));
      slot.in_flight = false;
    }
    return slot.host;
  }

  // Created once, race-free: the caching allocator's reuse is safe only
  // because every kernel and copy on this device goes to this one stream, so
  // two threads racing here must not end up with two streams.
  cudaStream_t stream() {
    std::call_once(stream_once_, [this] {
      DeviceGuard guard(index_);
      PN_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
    });
    return stream_;
  }

 private:
  struct DeviceGuard {
    int previous = 0;
    explicit DeviceGuard(int index) : previous(cuda_exchange_current_device(index)) {}
    ~DeviceGuard() { cuda_restore_current_device(previous); }
    DeviceGuard(const DeviceGuard&) = delete;
    DeviceGuard& operator=(const DeviceGuard&) = delete;
  };

  // A block of `size` from a free list (of the same size class; large
  // blocks may be up to 2x larger, to bound waste).
  static bool take_cached(std::multimap<size_t, void*>& list, size_t size, void** p, size_t* block) {
    auto it = list.lower_bound(size);
    if (it == list.end() || it->first > size * 2) return false;
    *p = it->second;
    *block = it->first;
    list.erase(it);
    return true;
  }
  // While capturing, every block handed out joins the graph's pool: taken
  // from the pool's own free blocks first (reuse within the step, in stream
  // order as eager execution reuses), then from the general cache, then
  // from the driver (allowed during capture in relaxed mode; only a
  // capture, never a replay, allocates). A pool block is never returned to
  // the general cache while the graph lives, so replays find their memory
  // where the capture left it.
  void* allocate_for_graph_locked(size_t bytes, size_t size) {
    void* p = nullptr;
    size_t block = 0;
    if (take_cached(pool_free_, size, &p, &block)) {
      note_alloc(p, block);
      return p;
    }
    if (take_cached(free_, size, &p, &block)) {
      cached_bytes_ -= block;
    } else {
      DeviceGuard guard(index_);
      cudaStreamCaptureMode mode = cudaStreamCaptureModeRelaxed;
      PN_CUDA_CHECK(cudaThreadExchangeStreamCaptureMode(&mode));
      const cudaError_t err = driver_malloc(&p, size);
      PN_CUDA_CHECK(cudaThreadExchangeStreamCaptureMode(&mode));
      check_driver_malloc(err, bytes, size);
      block = size;
    }
    pool_blocks_.insert(p);
    note_alloc(p, block);
    return p;
  }
  void release_pool() noexcept {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [size, p] : pool_free_) {
      free_.emplace(size, p);
      cached_bytes_ += size;
    }
    pool_free_.clear();
    pool_blocks_.clear();  // live blocks go to the general cache when freed
    pool_in_use_ = false;
  }
  void check_driver_malloc(cudaError_t err, size_t bytes, size_t size) {
    if (err == cudaErrorMemoryAllocation) {
      cudaGetLastError();
      size_t free_b = 0, total_b = 0;
      cudaMemGetInfo(&free_b, &total_b);
      PN_FAIL("CUDA out of memory on cuda:", index_, ": tried to allocate ", bytes / 1048576.0, " MiB; ",
              free_b / 1048576.0, " MiB free of ", total_b / 1048576.0, " MiB, ", in_use_ / 1048576.0,
              " MiB held by posenet tensors. Lower --batch-size (or the input size) and try again.");
    }
    if (err != cudaSuccess)
      throw Error(detail::concat("CUDA error ", cudaGetErrorName(err), " (", cudaGetErrorString(err), ") in cudaMalloc of ",
                                 size, " bytes at ", __FILE__, ":", __LINE__));
  }
  // A captured step must not make the host wait or stage host memory: the
  // error names the op being dispatched, so the culprit can be found.
  void refuse_while_capturing(const char* what) const {
    if (!capturing_) return;
    const char* op = current_op();
    PN_FAIL("CUDA graph capture of the training step: ",
            op ? detail::concat("op '", op, "'") : std::string("code outside any op"), " tried to ", what,
            " on cuda:", index_, ", which a captured step cannot do. Train without --cuda-graph.");
  }

  void note_alloc(void* p, size_t block) {
    live_[p] = block;
    in_use_ += block;
    if (in_use_ > peak_) peak_ = in_use_;
  }
  // Every cudaMalloc goes through here, so that alloc_calls counts them all
  // (a failed one too: it still reached the driver).
  cudaError_t driver_malloc(void** p, size_t size) {
    alloc_calls_.fetch_add(1, std::memory_order_relaxed);
    return cudaMalloc(p, size);
  }
  // Every wait of the host on the device goes through here (host_syncs).
  void wait_for_stream() {
    refuse_while_capturing("wait for the device");
    if (!UncountedTransfers::active()) host_syncs_.fetch_add(1, std::memory_order_relaxed);
    PN_CUDA_CHECK(cudaStreamSynchronize(stream()));
  }
  // Pinned host memory a copy goes through, and the event recorded after it.
  struct PinnedSlot {
    void* host = nullptr;
    size_t capacity = 0;
    cudaEvent_t copied = nullptr;
    bool in_flight = false;
  };
  // A step's four uploads (images, joints, weights, the optimizer's {lr,
  // step}), double-buffered.
  static constexpr int kUploadSlots = 8;
  static constexpr int kReadbackSlots = 2;

  // Makes slot free (waiting, counted, only if its last copy is still
  // running) and at least `bytes` large (grown during warm-up only).
  void prepare(PinnedSlot& slot, size_t bytes) {
    if (!slot.copied) PN_CUDA_CHECK(cudaEventCreateWithFlags(&slot.copied, cudaEventDisableTiming));
    if (slot.in_flight) {
      const cudaError_t state = cudaEventQuery(slot.copied);
      if (state == cudaErrorNotReady) {
        cudaGetLastError();
        if (!UncountedTransfers::active()) host_syncs_.fetch_add(1, std::memory_order_relaxed);
        PN_CUDA_CHECK(cudaEventSynchronize(slot.copied));
      } else {
        PN_CUDA_CHECK(state);
      }
      slot.in_flight = false;
    }
    if (slot.capacity >= bytes) return;
    if (slot.host) PN_CUDA_CHECK(cudaFreeHost(slot.host));
    slot.host = nullptr;
    size_t capacity = 4096;
    while (capacity < bytes) capacity *= 2;
    PN_CUDA_CHECK(cudaHostAlloc(&slot.host, capacity, cudaHostAllocDefault));
    slot.capacity = capacity;
  }

  void release_cache_locked() {
    host_syncs_.fetch_add(1, std::memory_order_relaxed);
    PN_CUDA_CHECK(cudaDeviceSynchronize());
    for (auto& [size, p] : free_) cudaFree(p);
    free_.clear();
    cached_bytes_ = 0;
  }

  int index_;
  mutable std::mutex mu_;
  std::once_flag stream_once_;
  std::multimap<size_t, void*> free_;
  std::atomic<bool> capturing_{false};
  bool pool_in_use_ = false;                  // a graph (or its capture) owns pool_blocks_
  std::unordered_set<void*> pool_blocks_;     // every block the graph's capture took
  std::multimap<size_t, void*> pool_free_;    // those the step frees: the graph still uses them
  std::unordered_map<void*, size_t> live_;
  size_t in_use_ = 0, peak_ = 0, cached_bytes_ = 0;
  cudaStream_t stream_ = nullptr;
  std::mutex staging_mu_;
  PinnedSlot uploads_[kUploadSlots];
  int next_upload_ = 0;
  PinnedSlot readbacks_[kReadbackSlots];
  std::atomic<uint64_t> alloc_calls_{0}, host_syncs_{0}, h2d_bytes_{0};
};

// Never destroyed: tensors freed during static destruction still need it.
std::vector<CudaBackend*>& backends() {
  static auto* all = new std::vector<CudaBackend*>();
  return *all;
}
std::mutex& backends_mutex() {
  static auto* m = new std::mutex();  // also used by frees during static destruction
  return *m;
}

}  // namespace

namespace {
// What cudaGetDeviceCount said when it failed ("" when it did not).
std::string& runtime_error_text() {
  static auto* text = new std::string();
  return *text;
}
}  // namespace

int cuda_runtime_device_count() {
  static int count = [] {
    int n = 0;
    const cudaError_t err = cudaGetDeviceCount(&n);
    if (err != cudaSuccess) {
      cudaGetLastError();  // no driver or no device: the CPU backend still works
      runtime_error_text() = detail::concat(cudaGetErrorName(err), " (", cudaGetErrorString(err), ")");
      return 0;
    }
    return n;
  }();
  return count;
}

std::string cuda_runtime_error() {
  cuda_runtime_device_count();
  return runtime_error_text();
}

Backend& cuda_backend(int index) {
  std::lock_guard<std::mutex> lock(backends_mutex());
  auto& all = backends();
  if (all.empty()) {
    for (int i = 0; i < cuda_runtime_device_count(); ++i) all.push_back(new CudaBackend(i));
  }
  return *all.at(size_t(index));
}

void cuda_upload_async(int index, void* dst, const void* host_src, size_t bytes) {
  static_cast<CudaBackend&>(cuda_backend(index)).upload_async(dst, host_src, bytes);
}
void cuda_readback_async(int index, int slot, const void* src, size_t bytes) {
  static_cast<CudaBackend&>(cuda_backend(index)).readback_async(slot, src, bytes);
}
const void* cuda_readback_wait(int index, int slot) {
  return static_cast<CudaBackend&>(cuda_backend(index)).readback_wait(slot);
}

void cuda_begin_graph_capture(int index) { static_cast<CudaBackend&>(cuda_backend(index)).begin_capture(); }
void* cuda_end_graph_capture(int index) { return static_cast<CudaBackend&>(cuda_backend(index)).end_capture(); }
void cuda_abort_graph_capture(int index) noexcept {
  static_cast<CudaBackend&>(cuda_backend(index)).abort_capture();
}
void cuda_launch_graph(int index, void* exec) { static_cast<CudaBackend&>(cuda_backend(index)).launch_graph(exec); }
void cuda_destroy_graph(int index, void* exec) noexcept {
  static_cast<CudaBackend&>(cuda_backend(index)).destroy_graph(exec);
}

cudaStream_t current_stream(int device_index) {
  if (device_index < 0) PN_CUDA_CHECK(cudaGetDevice(&device_index));
  return static_cast<CudaBackend&>(cuda_backend(device_index)).stream();
}

}  // namespace posenet
