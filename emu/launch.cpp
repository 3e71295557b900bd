// Runs a grid: blocks spread over OpenMP threads; on each OS thread one
// block at a time, its CUDA threads as fibers scheduled round-robin (all
// run until they wait or finish, then barriers whose threads have all
// arrived are released). A pass that can release nothing is a deadlock.
#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <string>
#include <vector>

#include "emu/fiber.h"
#include "emu/runtime_state.h"
#include "posenet_emu/launch.h"

namespace posenet::emu {

namespace detail {
thread_local const ThreadContext* t_thread = nullptr;
thread_local const BlockContext* t_block = nullptr;
}  // namespace detail

namespace {

constexpr unsigned kMaxThreadsPerBlock = 1024;
constexpr unsigned kMaxBlockDim[3] = {1024, 1024, 64};
constexpr unsigned kMaxGridDim[3] = {2147483647u, 65535, 65535};
// Kernels get copies of their parameters (up to 32 KiB) on their stack.
constexpr size_t kFiberStackBytes = 256 * 1024;

enum class State : uint8_t { Ready, AtBlockBarrier, AtWarpBarrier, Finished };

struct Fiber {
  ThreadContext ctx{};
  FiberContext machine;
  State state = State::Ready;
  unsigned warp_mask = 0;  // lanes the warp barrier waits for
  uint64_t slot = 0;       // the value this thread contributes to a collective
};

struct Block;

// Everything one OS thread needs to run blocks; built on first use and
// kept (stacks are reused across launches).
struct Worker {
  HostContext host;
  std::vector<std::unique_ptr<FiberStack>> stacks;
  std::vector<Fiber> fibers;
  std::vector<unsigned char> dynamic_shared;
  Block* block = nullptr;
  Fiber* current = nullptr;
};

thread_local std::unique_ptr<Worker> t_worker;

Worker& worker() {
  if (!t_worker) t_worker = std::make_unique<Worker>();
  return *t_worker;
}

struct Block {
  const LaunchConfig* config;
  void (*thread_main)(void*);
  void* arg;
  BlockContext ctx;
  unsigned threads;
};

POSENET_EMU_NO_ASAN void fiber_main(void* p) {
  Worker& w = worker();
  auto* f = static_cast<Fiber*>(p);
  fiber_entered(w.host, f->machine);
  try {
    w.block->thread_main(w.block->arg);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "posenet CUDA emulator: kernel '%s' threw: %s\n", w.block->config->name, e.what());
    std::abort();
  }
  f->state = State::Finished;
  switch_to_host(f->machine, w.host);
  std::abort();  // never resumed
}

void wait_here(State s) {
  Worker& w = worker();
  Fiber* f = w.current;
  f->state = s;
  switch_to_host(f->machine, w.host);
}

Fiber& current_fiber() {
  Worker* w = t_worker.get();
  if (!w || !w->current) {
    std::fprintf(stderr, "posenet CUDA emulator: a device function ran outside a kernel launch\n");
    std::abort();
  }
  return *w->current;
}

unsigned lanes_in_warp(const Block& b, unsigned warp) {
  const unsigned first = warp * 32;
  return std::min(32u, b.threads - first);
}

[[noreturn]] void report_deadlock(const Block& b, const std::vector<Fiber>& fibers) {
  unsigned at_block = 0, at_warp = 0, finished = 0;
  long first_block = -1, first_warp = -1, first_finished = -1;
  for (unsigned i = 0; i < b.threads; ++i) {
    switch (fibers[i].state) {
      case State::AtBlockBarrier: ++at_block; if (first_block < 0) first_block = long(i); break;
      case State::AtWarpBarrier: ++at_warp; if (first_warp < 0) first_warp = long(i); break;
      case State::Finished: ++finished; if (first_finished < 0) first_finished = long(i); break;
      case State::Ready: break;
    }
  }
  std::fprintf(stderr,
               "posenet CUDA emulator: deadlock in kernel '%s', block (%u, %u, %u) of grid (%u, %u, %u): "
               "of %u threads, %u wait at __syncthreads (first: thread %ld), %u at a warp barrier or collective "
               "(first: thread %ld), %u have exited (first: thread %ld)\n",
               b.config->name, b.ctx.block_idx.x, b.ctx.block_idx.y, b.ctx.block_idx.z, b.ctx.grid_dim.x,
               b.ctx.grid_dim.y, b.ctx.grid_dim.z, b.threads, at_block, first_block, at_warp, first_warp, finished,
               first_finished);
  std::fflush(stderr);
  std::abort();
}

// Releases the barriers whose threads have all arrived; false when none.
bool release_barriers(const Block& b, std::vector<Fiber>& fibers) {
  unsigned at_block = 0;
  for (unsigned i = 0; i < b.threads; ++i) at_block += fibers[i].state == State::AtBlockBarrier;
  if (at_block == b.threads) {
    for (unsigned i = 0; i < b.threads; ++i) fibers[i].state = State::Ready;
    return true;
  }
  bool released = false;
  const unsigned warps = (b.threads + 31) / 32;
  for (unsigned warp = 0; warp < warps; ++warp) {
    const unsigned base = warp * 32, lanes = lanes_in_warp(b, warp);
    const unsigned existing = lanes == 32 ? 0xffffffffu : ((1u << lanes) - 1u);
    unsigned waiting = 0;
    for (unsigned l = 0; l < lanes; ++l)
      if (fibers[base + l].state == State::AtWarpBarrier) waiting |= 1u << l;
    unsigned release = 0;
    for (unsigned l = 0; l < lanes; ++l) {
      if (!(waiting & (1u << l))) continue;
      const unsigned need = (fibers[base + l].warp_mask & existing) | (1u << l);
      if ((need & waiting) == need) release |= 1u << l;
    }
    for (unsigned l = 0; l < lanes; ++l)
      if (release & (1u << l)) fibers[base + l].state = State::Ready;
    released = released || release != 0;
  }
  return released;
}

void run_block(Block& b) {
  Worker& w = worker();
  if (w.stacks.size() < b.threads) {
    w.stacks.reserve(b.threads);
    while (w.stacks.size() < b.threads) w.stacks.push_back(std::make_unique<FiberStack>(kFiberStackBytes));
  }
  if (w.fibers.size() < b.threads) w.fibers.resize(b.threads);
  const dim3 bd = b.ctx.block_dim;
  for (unsigned i = 0; i < b.threads; ++i) {
    Fiber& f = w.fibers[i];
    f.ctx.linear = i;
    f.ctx.thread_idx = uint3{i % bd.x, (i / bd.x) % bd.y, i / (bd.x * bd.y)};
    f.state = State::Ready;
    f.machine.start(*w.stacks[i], &fiber_main, &f);
  }
  w.block = &b;
  detail::t_block = &b.ctx;
  const bool reverse = reverse_order();
  for (;;) {
    for (unsigned k = 0; k < b.threads; ++k) {
      Fiber& f = w.fibers[reverse ? b.threads - 1 - k : k];
      if (f.state != State::Ready) continue;
      w.current = &f;
      detail::t_thread = &f.ctx;
      switch_to_fiber(w.host, f.machine);
    }
    w.current = nullptr;
    detail::t_thread = nullptr;
    bool all_finished = true;
    for (unsigned i = 0; i < b.threads && all_finished; ++i) all_finished = w.fibers[i].state == State::Finished;
    if (all_finished) break;
    if (!release_barriers(b, w.fibers)) report_deadlock(b, w.fibers);
  }
  w.block = nullptr;
  detail::t_block = nullptr;
}

cudaError_t check_config(const LaunchConfig& c) {
  const unsigned block[3] = {c.block.x, c.block.y, c.block.z}, grid[3] = {c.grid.x, c.grid.y, c.grid.z};
  uint64_t threads = 1;
  for (int d = 0; d < 3; ++d) {
    if (block[d] == 0 || block[d] > kMaxBlockDim[d] || grid[d] == 0 || grid[d] > kMaxGridDim[d])
      return cudaErrorInvalidConfiguration;
    threads *= block[d];
  }
  if (threads > kMaxThreadsPerBlock) return cudaErrorInvalidConfiguration;
  if (c.dynamic_shared_bytes > max_dynamic_shared_bytes(c.kernel)) return cudaErrorInvalidValue;
  return cudaSuccess;
}

}  // namespace

bool launch_config_ok(const LaunchConfig& config) {
  const cudaError_t err = check_config(config);
  if (err != cudaSuccess) record_error(err);
  return err == cudaSuccess;
}

void launch_grid(const LaunchConfig& config, void (*thread_main)(void*), void* arg) {
  if (!launch_config_ok(config)) return;
  if (t_worker && t_worker->block) {
    std::fprintf(stderr, "posenet CUDA emulator: kernel '%s' launched from device code (not supported)\n",
                 config.name);
    std::abort();
  }
  const int64_t blocks = int64_t(config.grid.x) * config.grid.y * config.grid.z;
  const unsigned threads = config.block.x * config.block.y * config.block.z;
  // Small grids are not worth waking the thread pool for.
  const int64_t work = blocks * threads;
  const int pool = work < 4096 ? 1 : std::max(1, int(std::min<int64_t>(blocks, omp_get_max_threads())));
#pragma omp parallel for schedule(dynamic, 1) num_threads(pool)
  for (int64_t linear = 0; linear < blocks; ++linear) {
    Worker& w = worker();
    if (w.dynamic_shared.size() < config.dynamic_shared_bytes + 64) w.dynamic_shared.resize(config.dynamic_shared_bytes + 64);
    Block b;
    b.config = &config;
    b.thread_main = thread_main;
    b.arg = arg;
    b.threads = threads;
    b.ctx.block_dim = config.block;
    b.ctx.grid_dim = config.grid;
    b.ctx.block_idx = uint3{unsigned(linear % config.grid.x), unsigned((linear / config.grid.x) % config.grid.y),
                            unsigned(linear / (int64_t(config.grid.x) * config.grid.y))};
    auto base = reinterpret_cast<uintptr_t>(w.dynamic_shared.data());
    b.ctx.dynamic_shared = reinterpret_cast<void*>((base + 63) & ~uintptr_t(63));
    run_block(b);
  }
}

void syncthreads() { wait_here(State::AtBlockBarrier); }

int syncthreads_count(int predicate) {
  Fiber& me = current_fiber();
  me.slot = predicate != 0;
  wait_here(State::AtBlockBarrier);
  Worker& w = worker();
  int count = 0;
  for (unsigned i = 0; i < w.block->threads; ++i) count += int(w.fibers[i].slot);
  wait_here(State::AtBlockBarrier);  // nobody overwrites a slot before all have counted
  return count;
}

void syncwarp(unsigned mask) {
  Fiber& me = current_fiber();
  me.warp_mask = mask;
  wait_here(State::AtWarpBarrier);
}

uint64_t warp_exchange(unsigned mask, uint64_t value, int source_lane) {
  Fiber& me = current_fiber();
  me.slot = value;
  syncwarp(mask);
  Worker& w = worker();
  const unsigned base = me.ctx.linear & ~31u;
  uint64_t result = value;
  if (source_lane >= 0 && source_lane < 32 && base + unsigned(source_lane) < w.block->threads)
    result = w.fibers[base + unsigned(source_lane)].slot;
  syncwarp(mask);  // every lane has read before any writes its next value
  return result;
}

unsigned warp_ballot(unsigned mask, int predicate) {
  Fiber& me = current_fiber();
  me.slot = predicate != 0;
  syncwarp(mask);
  Worker& w = worker();
  const unsigned base = me.ctx.linear & ~31u;
  unsigned bits = 0;
  for (unsigned l = 0; l < 32 && base + l < w.block->threads; ++l)
    if ((mask & (1u << l)) && w.fibers[base + l].slot) bits |= 1u << l;
  syncwarp(mask);
  return bits;
}

unsigned warp_active_mask() {
  Fiber& me = current_fiber();
  Worker& w = worker();
  const unsigned base = me.ctx.linear & ~31u;
  unsigned bits = 0;
  for (unsigned l = 0; l < 32 && base + l < w.block->threads; ++l)
    if (w.fibers[base + l].state != State::Finished) bits |= 1u << l;
  return bits;
}

void* dynamic_shared_memory() { return detail::t_block->dynamic_shared; }

}  // namespace posenet::emu
