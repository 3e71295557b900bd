// Kernels for the CUDA emulator's own tests (tests/test_emu_*.cpp).
#include <cuda_runtime.h>

#include <algorithm>
#include <set>

#include "core/cuda_check.h"
#include "tests/emu_kernels.h"

namespace posenet::emu_test {
namespace {

template <typename T>
T* to_device(const std::vector<T>& v) {
  T* p = nullptr;
  PN_CUDA_CHECK(cudaMalloc(reinterpret_cast<void**>(&p), std::max<size_t>(1, v.size()) * sizeof(T)));
  if (!v.empty()) PN_CUDA_CHECK(cudaMemcpy(p, v.data(), v.size() * sizeof(T), cudaMemcpyHostToDevice));
  return p;
}
template <typename T>
std::vector<T> to_host_and_free(T* p, size_t n) {
  std::vector<T> v(n);
  if (n) PN_CUDA_CHECK(cudaMemcpy(v.data(), p, n * sizeof(T), cudaMemcpyDeviceToHost));
  PN_CUDA_CHECK(cudaFree(p));
  return v;
}

__global__ void reverse_kernel(const int* in, int* out) {
  __shared__ int s[1024];
  const int base = int(blockIdx.x * blockDim.x);
  s[threadIdx.x] = in[base + int(threadIdx.x)];
  __syncthreads();
  out[base + int(threadIdx.x)] = s[blockDim.x - 1 - threadIdx.x];
}

template <bool kBarrier>
__global__ void shift_kernel(const int* in, int* out) {
  __shared__ int s[1024];
  const int t = int(threadIdx.x);
  s[t] = in[t];
  if (kBarrier) __syncthreads();
  out[t] = t > 0 ? s[t - 1] : -1;
}

__global__ void warp_kernel(int* shfl3, int* up2, int* down5, int* xor1, int* width8, int* reduced, unsigned* ballot,
                            int* any7, int* all40, double* dbl) {
  const int t = int(threadIdx.x), lane = t % 32;
  const unsigned full = __activemask();
  shfl3[t] = __shfl_sync(full, t * 10, 3);
  up2[t] = __shfl_up_sync(full, t * 10, 2);
  down5[t] = __shfl_down_sync(full, t * 10, 5);
  xor1[t] = __shfl_xor_sync(full, t * 10, 1);
  width8[t] = __shfl_sync(full, t * 10, 9, 8);  // lane 1 of each group of 8
  int v = t;
  for (int offset = 16; offset > 0; offset /= 2) v += __shfl_xor_sync(full, v, offset);
  reduced[t] = v;
  ballot[t] = __ballot_sync(full, lane % 2 == 1);
  any7[t] = __any_sync(full, lane == 7);
  all40[t] = __all_sync(full, t < 40);
  dbl[t] = __shfl_sync(full, 0.5 * t, 0);
  __syncwarp();
}

__global__ void atomic_kernel(int* i, unsigned* u, unsigned long long* ull, float* f, double* d, int* mx, int* mn,
                              int* flag, int* cas_wins, int* chain, int* chain_out) {
  const int g = int(blockIdx.x * blockDim.x + threadIdx.x);
  atomicAdd(i, 1);
  atomicAdd(u, 2u);
  atomicAdd(ull, 3ull);
  atomicAdd(f, 0.5f);
  atomicAdd(d, 0.25);
  atomicMax(mx, g);
  atomicMin(mn, g - 7);
  if (atomicCAS(flag, 0, 1) == 0) atomicAdd(cas_wins, 1);
  chain_out[g] = atomicExch(chain, g);
}

__global__ void dynamic_sum_kernel(const double* in, double* out) {
  extern __shared__ __align__(16) double staged[];
  const int t = int(threadIdx.x);
  staged[t] = in[blockIdx.x * blockDim.x + t];
  __syncthreads();
  if (t == 0) {
    double s = 0;
    for (unsigned k = 0; k < blockDim.x; ++k) s += staged[k];
    out[blockIdx.x] = s;
  }
}

__global__ void count_kernel(int* out) {
  const int p = threadIdx.x % 3 == 0;
  const int c = __syncthreads_count(p), a = __syncthreads_and(p), o = __syncthreads_or(p);
  const int none = __syncthreads_or(0);
  if (threadIdx.x == 0) {
    out[0] = c;
    out[1] = a;
    out[2] = o;
    out[3] = none;
  }
}

__global__ void index_kernel(int64_t* out) {
  const int64_t block = blockIdx.x + int64_t(gridDim.x) * (blockIdx.y + int64_t(gridDim.y) * blockIdx.z);
  const int64_t thread = threadIdx.x + int64_t(blockDim.x) * threadIdx.y;
  const int64_t g = block * (blockDim.x * blockDim.y) + thread;
  out[g] = g;
}

struct Big {
  int values[4096];
};
__global__ void large_parameter_kernel(const Big big, int* out) {
  out[threadIdx.x] = big.values[threadIdx.x * 13 % 4096];
}

__global__ void early_exit_kernel(int* out) {
  if (blockIdx.x == 1 && threadIdx.x % 2 == 1) return;
  __syncthreads();
  out[blockIdx.x * blockDim.x + threadIdx.x] = 1;
}

__global__ void mixed_barrier_kernel(int* out) {
  if (threadIdx.x < 16) __syncwarp();  // waits for lanes 16..31, which wait at the block barrier
  else __syncthreads();
  out[threadIdx.x] = 1;
}

__global__ void config_kernel(int* ran) {
  if (threadIdx.x == 0 && blockIdx.x == 0 && blockIdx.y == 0 && blockIdx.z == 0) *ran = 1;
}

}  // namespace

std::vector<int> reverse_in_blocks(const std::vector<int>& in, int threads) {
  int* din = to_device(in);
  int* dout = to_device(std::vector<int>(in.size(), 0));
  reverse_kernel<<<unsigned(in.size() / size_t(threads)), threads>>>(din, dout);
  PN_CUDA_CHECK_LAUNCH();
  PN_CUDA_CHECK(cudaFree(din));
  return to_host_and_free(dout, in.size());
}

std::vector<int> shift_through_shared(const std::vector<int>& in, bool with_barrier) {
  int* din = to_device(in);
  int* dout = to_device(std::vector<int>(in.size(), 0));
  if (with_barrier) shift_kernel<true><<<1, unsigned(in.size())>>>(din, dout);
  else shift_kernel<false><<<1, unsigned(in.size())>>>(din, dout);
  PN_CUDA_CHECK_LAUNCH();
  PN_CUDA_CHECK(cudaFree(din));
  return to_host_and_free(dout, in.size());
}

WarpResults warp_collectives(int threads) {
  const std::vector<int> zi(size_t(threads), 0);
  int *a = to_device(zi), *b = to_device(zi), *c = to_device(zi), *d = to_device(zi), *e = to_device(zi),
      *r = to_device(zi), *any = to_device(zi), *all = to_device(zi);
  unsigned* ballot = to_device(std::vector<unsigned>(size_t(threads), 0));
  double* dbl = to_device(std::vector<double>(size_t(threads), 0));
  warp_kernel<<<1, threads>>>(a, b, c, d, e, r, ballot, any, all, dbl);
  PN_CUDA_CHECK_LAUNCH();
  WarpResults w;
  const size_t n = size_t(threads);
  w.shfl_from_3 = to_host_and_free(a, n);
  w.shfl_up_2 = to_host_and_free(b, n);
  w.shfl_down_5 = to_host_and_free(c, n);
  w.shfl_xor_1 = to_host_and_free(d, n);
  w.shfl_width8 = to_host_and_free(e, n);
  w.reduced = to_host_and_free(r, n);
  w.ballot_odd = to_host_and_free(ballot, n);
  w.any_lane7 = to_host_and_free(any, n);
  w.all_below_40 = to_host_and_free(all, n);
  w.shfl_double = to_host_and_free(dbl, n);
  return w;
}

AtomicResults atomics_across_blocks(int blocks) {
  const int threads = 256, n = blocks * threads;
  int* i = to_device(std::vector<int>{0});
  unsigned* u = to_device(std::vector<unsigned>{0});
  unsigned long long* ull = to_device(std::vector<unsigned long long>{0});
  float* f = to_device(std::vector<float>{0});
  double* d = to_device(std::vector<double>{0});
  int* mx = to_device(std::vector<int>{-1000});
  int* mn = to_device(std::vector<int>{1000});
  int* flag = to_device(std::vector<int>{0});
  int* wins = to_device(std::vector<int>{0});
  int* chain = to_device(std::vector<int>{-1});
  int* chain_out = to_device(std::vector<int>(size_t(n), 0));
  atomic_kernel<<<blocks, threads>>>(i, u, ull, f, d, mx, mn, flag, wins, chain, chain_out);
  PN_CUDA_CHECK_LAUNCH();
  AtomicResults r{};
  r.int_sum = to_host_and_free(i, 1)[0];
  r.unsigned_sum = to_host_and_free(u, 1)[0];
  r.ull_sum = to_host_and_free(ull, 1)[0];
  r.float_sum = to_host_and_free(f, 1)[0];
  r.double_sum = to_host_and_free(d, 1)[0];
  r.max = to_host_and_free(mx, 1)[0];
  r.min = to_host_and_free(mn, 1)[0];
  PN_CUDA_CHECK(cudaFree(flag));
  r.cas_winners = to_host_and_free(wins, 1)[0];
  std::vector<int> got = to_host_and_free(chain_out, size_t(n));
  got.push_back(to_host_and_free(chain, 1)[0]);
  r.exch_distinct = int(std::set<int>(got.begin(), got.end()).size());
  return r;
}

std::vector<double> dynamic_shared_sums(const std::vector<double>& in, int dynamic_bytes) {
  const size_t blocks = in.size() / 128;
  double* din = to_device(in);
  double* dout = to_device(std::vector<double>(blocks, 0));
  dynamic_sum_kernel<<<unsigned(blocks), 128, size_t(dynamic_bytes)>>>(din, dout);
  PN_CUDA_CHECK_LAUNCH();
  PN_CUDA_CHECK(cudaFree(din));
  return to_host_and_free(dout, blocks);
}

std::vector<int> barrier_counts(int threads) {
  int* out = to_device(std::vector<int>(4, -1));
  count_kernel<<<1, threads>>>(out);
  PN_CUDA_CHECK_LAUNCH();
  return to_host_and_free(out, 4);
}

std::vector<int64_t> index_map(unsigned gx, unsigned gy, unsigned gz) {
  const size_t n = size_t(gx) * gy * gz * 32 * 8;
  int64_t* out = to_device(std::vector<int64_t>(n, -1));
  index_kernel<<<dim3(gx, gy, gz), dim3(32, 8)>>>(out);
  PN_CUDA_CHECK_LAUNCH();
  return to_host_and_free(out, n);
}

std::vector<int> large_parameter(int threads) {
  static Big big;
  for (int k = 0; k < 4096; ++k) big.values[k] = k * 3 + 1;
  int* out = to_device(std::vector<int>(size_t(threads), 0));
  large_parameter_kernel<<<1, threads>>>(big, out);
  PN_CUDA_CHECK_LAUNCH();
  return to_host_and_free(out, size_t(threads));
}

void exit_before_barrier() {
  int* out = to_device(std::vector<int>(4 * 64, 0));
  early_exit_kernel<<<4, 64>>>(out);
  PN_CUDA_CHECK(cudaFree(out));
}

void mixed_barriers() {
  int* out = to_device(std::vector<int>(64, 0));
  mixed_barrier_kernel<<<1, 64>>>(out);
  PN_CUDA_CHECK(cudaFree(out));
}

LaunchOutcome launch_with(unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
                          unsigned dynamic_bytes) {
  int* ran = to_device(std::vector<int>{0});
  (void)cudaGetLastError();
  config_kernel<<<dim3(gx, gy, gz), dim3(bx, by, bz), dynamic_bytes>>>(ran);
  const cudaError_t err = cudaGetLastError();
  return {int(err), to_host_and_free(ran, 1)[0] == 1};
}

int allow_dynamic_shared(int bytes) {
  const cudaError_t err = cudaFuncSetAttribute(config_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes);
  (void)cudaGetLastError();  // a refusal is also the thread's last error
  return int(err);
}
namespace {
__global__ void add_one_kernel(int* x, int n) {
  const int i = int(blockIdx.x * blockDim.x + threadIdx.x);
  if (i < n) x[i] += 1;
}

// Queues the work of capture_and_replay on s.
void queue_work(cudaStream_t s, int* x, int* y, unsigned char* z, int n) {
  add_one_kernel<<<(n + 63) / 64, 64, 0, s>>>(x, n);
  PN_CUDA_CHECK(cudaMemcpyAsync(y, x, size_t(n) * sizeof(int), cudaMemcpyDeviceToDevice, s));
  PN_CUDA_CHECK(cudaMemsetAsync(z, 7, size_t(n), s));
}

CaptureResults capture_work(int n, int replays, bool capture) {
  CaptureResults r{};
  int* x = to_device(std::vector<int>(size_t(n), 0));
  int* y = to_device(std::vector<int>(size_t(n), 0));
  unsigned char* z = to_device(std::vector<unsigned char>(size_t(n), 0));
  cudaStream_t s = nullptr;
  PN_CUDA_CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  if (capture) {
    r.begin = int(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal));
    queue_work(s, x, y, z, n);
    r.during_capture.assign(x, x + n);  // EMU device memory is host memory: read without a copy
    cudaGraph_t graph = nullptr;
    r.end = int(cudaStreamEndCapture(s, &graph));
    cudaGraphExec_t exec = nullptr;
    r.instantiate = int(cudaGraphInstantiate(&exec, graph, 0));
    for (int k = 0; k < replays; ++k) r.launch |= int(cudaGraphLaunch(exec, s));
    PN_CUDA_CHECK(cudaGraphExecDestroy(exec));
    PN_CUDA_CHECK(cudaGraphDestroy(graph));
  } else {
    for (int k = 0; k < replays; ++k) queue_work(s, x, y, z, n);
  }
  PN_CUDA_CHECK(cudaStreamSynchronize(s));
  PN_CUDA_CHECK(cudaStreamDestroy(s));
  r.after = to_host_and_free(x, size_t(n));
  r.copied = to_host_and_free(y, size_t(n));
  r.filled = to_host_and_free(z, size_t(n));
  return r;
}
}  // namespace

CaptureResults capture_and_replay(int n, int replays) { return capture_work(n, replays, true); }
CaptureResults run_eagerly(int n, int replays) { return capture_work(n, replays, false); }

RefusedDuringCapture synchronous_calls_during_capture() {
  RefusedDuringCapture r{};
  int* x = to_device(std::vector<int>(4, 1));
  cudaStream_t s = nullptr;
  PN_CUDA_CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  PN_CUDA_CHECK(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal));
  int host[4] = {};
  r.memcpy_error = int(cudaMemcpy(host, x, sizeof(host), cudaMemcpyDeviceToHost));
  void* p = nullptr;
  r.malloc_error = int(cudaMalloc(&p, 64));
  r.synchronize_error = int(cudaStreamSynchronize(s));
  cudaGraph_t graph = nullptr;
  r.end_error = int(cudaStreamEndCapture(s, &graph));
  r.got_graph = graph != nullptr;
  (void)cudaGetLastError();
  r.memcpy_after = int(cudaMemcpy(host, x, sizeof(host), cudaMemcpyDeviceToHost));
  PN_CUDA_CHECK(cudaStreamDestroy(s));
  PN_CUDA_CHECK(cudaFree(x));
  return r;
}

RelaxedAllocation allocation_in_relaxed_capture_mode() {
  RelaxedAllocation r{};
  cudaStream_t s = nullptr;
  PN_CUDA_CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  PN_CUDA_CHECK(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal));
  cudaStreamCaptureMode mode = cudaStreamCaptureModeRelaxed;
  PN_CUDA_CHECK(cudaThreadExchangeStreamCaptureMode(&mode));
  void* p = nullptr;
  r.malloc_error = int(cudaMalloc(&p, 64));
  PN_CUDA_CHECK(cudaThreadExchangeStreamCaptureMode(&mode));
  r.restored_mode = int(mode);
  cudaGraph_t graph = nullptr;
  r.end_error = int(cudaStreamEndCapture(s, &graph));
  r.got_graph = graph != nullptr;
  if (graph) PN_CUDA_CHECK(cudaGraphDestroy(graph));
  PN_CUDA_CHECK(cudaStreamDestroy(s));
  if (p) PN_CUDA_CHECK(cudaFree(p));
  return r;
}

int error_stream_capture_unsupported() { return int(cudaErrorStreamCaptureUnsupported); }
int error_stream_capture_invalidated() { return int(cudaErrorStreamCaptureInvalidated); }
int error_invalid_configuration() { return int(cudaErrorInvalidConfiguration); }
int error_invalid_value() { return int(cudaErrorInvalidValue); }

}  // namespace posenet::emu_test
