// What CUDA device code sees, for kernels compiled as host C++: the
// qualifiers defined away, the built-in index variables read from the
// running fiber, barriers and warp collectives that switch fibers, atomics
// that are safe across blocks running on different CPU threads, and the
// math built-ins the kernels use.
#pragma once
#include <math.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <type_traits>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline __attribute__((always_inline))
#define __launch_bounds__(...)
#define __grid_constant__
#define __constant__
#define __managed__
#define __align__(n) __attribute__((aligned(n)))
// One OS thread runs one block at a time and fibers never migrate, so a
// thread_local is exactly one copy per running block.
#define __shared__ static thread_local

struct uint3 {
  unsigned x, y, z;
};
struct dim3 {
  unsigned x = 1, y = 1, z = 1;
  constexpr dim3(unsigned vx = 1, unsigned vy = 1, unsigned vz = 1) : x(vx), y(vy), z(vz) {}
  constexpr dim3(uint3 v) : x(v.x), y(v.y), z(v.z) {}
};

namespace posenet::emu {

struct ThreadContext {
  uint3 thread_idx;
  unsigned linear;  // x + y * blockDim.x + z * blockDim.x * blockDim.y
};
struct BlockContext {
  uint3 block_idx;
  dim3 block_dim;
  dim3 grid_dim;
  void* dynamic_shared;
};

namespace detail {
extern thread_local const ThreadContext* t_thread;  // the fiber running on this OS thread
extern thread_local const BlockContext* t_block;    // the block it belongs to
}  // namespace detail

// Block barrier and its counting variants (switch to the next fiber until
// every thread of the block has arrived).
void syncthreads();
int syncthreads_count(int predicate);
// Warp collectives over the 32 consecutive threads of the caller's warp;
// mask names the lanes taking part.
void syncwarp(unsigned mask);
uint64_t warp_exchange(unsigned mask, uint64_t value, int source_lane);  // source_lane < 0: own value
unsigned warp_ballot(unsigned mask, int predicate);
unsigned warp_active_mask();
inline unsigned lane_id() { return detail::t_thread->linear & 31u; }

void* dynamic_shared_memory();

template <typename T>
T shuffle_from(unsigned mask, T value, int source_lane) {
  static_assert(sizeof(T) <= sizeof(uint64_t) && std::is_trivially_copyable_v<T>, "shuffle of a type over 8 bytes");
  uint64_t bits = 0;
  std::memcpy(&bits, &value, sizeof(T));
  bits = warp_exchange(mask, bits, source_lane);
  std::memcpy(&value, &bits, sizeof(T));
  return value;
}

}  // namespace posenet::emu

#define threadIdx (::posenet::emu::detail::t_thread->thread_idx)
#define blockIdx (::posenet::emu::detail::t_block->block_idx)
#define blockDim (::posenet::emu::detail::t_block->block_dim)
#define gridDim (::posenet::emu::detail::t_block->grid_dim)
constexpr int warpSize = 32;

inline void __syncthreads() { ::posenet::emu::syncthreads(); }
inline int __syncthreads_count(int p) { return ::posenet::emu::syncthreads_count(p); }
inline int __syncthreads_and(int p) { return ::posenet::emu::syncthreads_count(p != 0) == int(blockDim.x * blockDim.y * blockDim.z); }
inline int __syncthreads_or(int p) { return ::posenet::emu::syncthreads_count(p != 0) != 0; }
inline void __syncwarp(unsigned mask = 0xffffffffu) { ::posenet::emu::syncwarp(mask); }
inline void __threadfence() { std::atomic_thread_fence(std::memory_order_seq_cst); }
inline void __threadfence_block() { std::atomic_thread_fence(std::memory_order_seq_cst); }
inline unsigned __activemask() { return ::posenet::emu::warp_active_mask(); }
inline unsigned __ballot_sync(unsigned mask, int p) { return ::posenet::emu::warp_ballot(mask, p); }
inline int __any_sync(unsigned mask, int p) { return ::posenet::emu::warp_ballot(mask, p != 0) != 0; }
inline int __all_sync(unsigned mask, int p) { return ::posenet::emu::warp_ballot(mask, p == 0) == 0; }

// Shuffles as CUDA defines them for a sub-warp of `width` lanes: an index
// outside the caller's segment returns the caller's own value.
template <typename T>
T __shfl_sync(unsigned mask, T var, int src, int width = 32) {
  const int lane = int(::posenet::emu::lane_id());
  const int base = lane - lane % width;
  return ::posenet::emu::shuffle_from(mask, var, base + ((src % width) + width) % width);
}
template <typename T>
T __shfl_up_sync(unsigned mask, T var, unsigned delta, int width = 32) {
  const int lane = int(::posenet::emu::lane_id());
  const int src = (lane % width) >= int(delta) ? lane - int(delta) : -1;
  return ::posenet::emu::shuffle_from(mask, var, src);
}
template <typename T>
T __shfl_down_sync(unsigned mask, T var, unsigned delta, int width = 32) {
  const int lane = int(::posenet::emu::lane_id());
  const int src = (lane % width) + int(delta) < width ? lane + int(delta) : -1;
  return ::posenet::emu::shuffle_from(mask, var, src);
}
template <typename T>
T __shfl_xor_sync(unsigned mask, T var, int lane_mask, int width = 32) {
  const int lane = int(::posenet::emu::lane_id());
  const int src = lane ^ lane_mask;
  return ::posenet::emu::shuffle_from(mask, var, src / width == lane / width ? src : -1);
}

// Atomics: blocks run concurrently on OpenMP threads.
template <typename T>
T atomicAdd(T* address, std::type_identity_t<T> value) {
  return std::atomic_ref<T>(*address).fetch_add(value);
}
template <typename T>
T atomicSub(T* address, std::type_identity_t<T> value) {
  return std::atomic_ref<T>(*address).fetch_sub(value);
}
template <typename T>
T atomicExch(T* address, std::type_identity_t<T> value) {
  return std::atomic_ref<T>(*address).exchange(value);
}
template <typename T>
T atomicCAS(T* address, std::type_identity_t<T> compare, std::type_identity_t<T> value) {
  std::atomic_ref<T>(*address).compare_exchange_strong(compare, value);
  return compare;  // the old value whether or not it was swapped
}
template <typename T>
T atomicMax(T* address, std::type_identity_t<T> value) {
  std::atomic_ref<T> ref(*address);
  T old = ref.load();
  while (old < value && !ref.compare_exchange_weak(old, value)) {
  }
  return old;
}
template <typename T>
T atomicMin(T* address, std::type_identity_t<T> value) {
  std::atomic_ref<T> ref(*address);
  T old = ref.load();
  while (value < old && !ref.compare_exchange_weak(old, value)) {
  }
  return old;
}

// Math built-ins: the fast-math intrinsics map to the accurate functions.
inline float __expf(float x) { return expf(x); }
inline float __logf(float x) { return logf(x); }
inline float __sinf(float x) { return sinf(x); }
inline float __cosf(float x) { return cosf(x); }
inline float __powf(float x, float y) { return powf(x, y); }
inline float __fdividef(float a, float b) { return a / b; }
inline float __saturatef(float x) { return x < 0.0f ? 0.0f : (x > 1.0f ? 1.0f : x); }
inline float __fmaf_rn(float a, float b, float c) { return fmaf(a, b, c); }
inline double __fma_rn(double a, double b, double c) { return fma(a, b, c); }
inline float rsqrtf(float x) { return 1.0f / sqrtf(x); }
inline double rsqrt(double x) { return 1.0 / sqrt(x); }
inline int __float_as_int(float x) { int i; std::memcpy(&i, &x, 4); return i; }
inline float __int_as_float(int i) { float x; std::memcpy(&x, &i, 4); return x; }
inline long long __double_as_longlong(double x) { long long i; std::memcpy(&i, &x, 8); return i; }
inline double __longlong_as_double(long long i) { double x; std::memcpy(&x, &i, 8); return x; }
inline int __popc(unsigned x) { return __builtin_popcount(x); }
inline int __popcll(unsigned long long x) { return __builtin_popcountll(x); }
inline int __ffs(int x) { return __builtin_ffs(x); }
inline int __clz(int x) { return x == 0 ? 32 : __builtin_clz(unsigned(x)); }
template <typename T>
inline T __ldg(const T* p) { return *p; }
// CUDA's min/max overloads for mixed argument types take the common type.
template <typename A, typename B>
constexpr std::common_type_t<A, B> min(A a, B b) {
  using C = std::common_type_t<A, B>;
  return C(b) < C(a) ? C(b) : C(a);
}
template <typename A, typename B>
constexpr std::common_type_t<A, B> max(A a, B b) {
  using C = std::common_type_t<A, B>;
  return C(a) < C(b) ? C(b) : C(a);
}
