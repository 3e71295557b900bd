#include "emu/fiber.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>

#if defined(__SANITIZE_ADDRESS__)
#define POSENET_EMU_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define POSENET_EMU_ASAN 1
#endif
#endif
#ifdef POSENET_EMU_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif

#if !defined(__x86_64__)
#error "the CUDA emulator's context switch is written for x86-64"
#endif

// posenet_emu_switch(save_sp, next_sp): pushes the callee-saved registers
// and the SSE/x87 control words, stores the stack pointer in *save_sp, loads
// next_sp and pops the same frame from there. A new fiber's stack holds such
// a frame whose return address is posenet_emu_fiber_start, which calls
// r13(r12) with the stack aligned as the ABI requires.
extern "C" void posenet_emu_switch(void** save_sp, void* next_sp);
extern "C" void posenet_emu_fiber_start();
asm(R"(
  .text
  .globl posenet_emu_switch
  .hidden posenet_emu_switch
  .type posenet_emu_switch, @function
posenet_emu_switch:
  pushq %rbp
  pushq %rbx
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
  subq $8, %rsp
  stmxcsr (%rsp)
  fnstcw 4(%rsp)
  movq %rsp, (%rdi)
  movq %rsi, %rsp
  ldmxcsr (%rsp)
  fldcw 4(%rsp)
  addq $8, %rsp
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %rbx
  popq %rbp
  ret
  .size posenet_emu_switch, .-posenet_emu_switch

  .globl posenet_emu_fiber_start
  .hidden posenet_emu_fiber_start
  .type posenet_emu_fiber_start, @function
posenet_emu_fiber_start:
  movq %r12, %rdi
  callq *%r13
  ud2
  .size posenet_emu_fiber_start, .-posenet_emu_fiber_start
)");

namespace posenet::emu {

#ifdef POSENET_EMU_ASAN
constexpr size_t kEntryFrameBytes = 16 * 1024;
#endif

FiberStack::FiberStack(size_t usable_bytes) {
  const size_t page = size_t(sysconf(_SC_PAGESIZE));
  usable_bytes_ = (usable_bytes + page - 1) / page * page;
  mapping_bytes_ = usable_bytes_ + page;
  void* m = mmap(nullptr, mapping_bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (m == MAP_FAILED) {
    std::fprintf(stderr, "posenet CUDA emulator: cannot map a %zu-byte fiber stack\n", mapping_bytes_);
    std::abort();
  }
  mapping_ = static_cast<char*>(m);
  // The guard page below the stack turns an overflow into a fault.
  mprotect(mapping_, page, PROT_NONE);
  usable_ = mapping_ + page;
}

FiberStack::~FiberStack() { munmap(mapping_, mapping_bytes_); }

void FiberContext::start(const FiberStack& s, void (*entry)(void*), void* arg) {
  stack = &s;
#ifdef POSENET_EMU_ASAN
  // The frames a kernel called have returned (and cleared their redzones);
  // only the entry function's frame at the top, which never returns, may
  // have left some behind.
  const size_t top_bytes = s.size() < kEntryFrameBytes ? s.size() : kEntryFrameBytes;
  ASAN_UNPOISON_MEMORY_REGION(s.bottom() + s.size() - top_bytes, top_bytes);
#endif
  auto top = reinterpret_cast<uintptr_t>(s.bottom() + s.size()) & ~uintptr_t(15);
  auto* frame = reinterpret_cast<uint64_t*>(top) - 8;
  uint32_t mxcsr = 0;
  uint16_t fpu_cw = 0;
  asm volatile("stmxcsr %0" : "=m"(mxcsr));
  asm volatile("fnstcw %0" : "=m"(fpu_cw));
  frame[0] = uint64_t(mxcsr) | (uint64_t(fpu_cw) << 32);
  frame[1] = 0;                                      // r15
  frame[2] = 0;                                      // r14
  frame[3] = reinterpret_cast<uint64_t>(entry);      // r13
  frame[4] = reinterpret_cast<uint64_t>(arg);        // r12
  frame[5] = 0;                                      // rbx
  frame[6] = 0;                                      // rbp
  frame[7] = reinterpret_cast<uint64_t>(&posenet_emu_fiber_start);  // return address
  sp = frame;
}

void switch_to_fiber(HostContext& host, FiberContext& fiber) {
#ifdef POSENET_EMU_ASAN
  void* host_fake_stack = nullptr;
  __sanitizer_start_switch_fiber(&host_fake_stack, fiber.stack->bottom(), fiber.stack->size());
  posenet_emu_switch(&host.sp, fiber.sp);
  __sanitizer_finish_switch_fiber(host_fake_stack, nullptr, nullptr);
#else
  posenet_emu_switch(&host.sp, fiber.sp);
#endif
}

void switch_to_host(FiberContext& fiber, HostContext& host) {
#ifdef POSENET_EMU_ASAN
  __sanitizer_start_switch_fiber(&fiber.asan_fake_stack, host.stack_bottom, host.stack_size);
  posenet_emu_switch(&fiber.sp, host.sp);
  __sanitizer_finish_switch_fiber(fiber.asan_fake_stack, nullptr, nullptr);
#else
  posenet_emu_switch(&fiber.sp, host.sp);
#endif
}

void fiber_entered(HostContext& host, FiberContext& fiber) {
#ifdef POSENET_EMU_ASAN
  __sanitizer_finish_switch_fiber(fiber.asan_fake_stack, &host.stack_bottom, &host.stack_size);
#else
  (void)host;
  (void)fiber;
#endif
}

}  // namespace posenet::emu
