// Cooperative fibers for the threads of one emulated block: a hand-written
// x86-64 context switch, stacks mmap'ed once per OS thread with a guard
// page below each and reused across launches, and the switches announced
// to AddressSanitizer so that it follows the stack changes.
#pragma once
#include <cstddef>
#include <vector>

namespace posenet::emu {

class FiberStack {
 public:
  explicit FiberStack(size_t usable_bytes);
  ~FiberStack();
  FiberStack(const FiberStack&) = delete;
  FiberStack& operator=(const FiberStack&) = delete;
  char* bottom() const { return usable_; }
  size_t size() const { return usable_bytes_; }

 private:
  char* mapping_ = nullptr;
  size_t mapping_bytes_ = 0;
  char* usable_ = nullptr;
  size_t usable_bytes_ = 0;
};

// One fiber's saved machine state. start() prepares it to call entry(arg)
// on its stack when first switched to; entry must never return (it
// switches away for the last time instead).
struct FiberContext {
  void* sp = nullptr;
  const FiberStack* stack = nullptr;
  // ASan's fake stack (use-after-return detection) for this fiber; kept
  // when the fiber ends and handed back on its stack's next use, since
  // creating one per CUDA thread would dominate the run time.
  void* asan_fake_stack = nullptr;
  void start(const FiberStack& s, void (*entry)(void*), void* arg);
};

// The OS thread's own context (the scheduler) that fibers switch back to.
struct HostContext {
  void* sp = nullptr;
  const void* stack_bottom = nullptr;  // learnt from ASan on a fiber's first entry
  size_t stack_size = 0;
};

// Scheduler -> fiber, returning when the fiber switches back.
void switch_to_fiber(HostContext& host, FiberContext& fiber);
// Fiber -> scheduler; returns when the scheduler resumes this fiber (a
// fiber that has ended is never resumed; its stack is started anew).
void switch_to_host(FiberContext& fiber, HostContext& host);
// First thing a fiber's entry function does. The entry function must not
// be instrumented by ASan (POSENET_EMU_NO_ASAN): its frame never returns.
void fiber_entered(HostContext& host, FiberContext& fiber);

#define POSENET_EMU_NO_ASAN __attribute__((no_sanitize_address))

}  // namespace posenet::emu
