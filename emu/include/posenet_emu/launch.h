// Kernel launches. The build rewrites `kernel<<<grid, block, smem, stream>>>(args)`
// in every .cu file into posenet::emu::launch("kernel", grid, block, smem,
// stream, kernel, args) (emu/rewrite), which runs the grid before returning.
#pragma once
#include <cstddef>
#include <tuple>
#include <type_traits>
#include <utility>

#include "posenet_emu/api.h"
#include "posenet_emu/device.h"

namespace posenet::emu {

struct LaunchConfig {
  const char* name;    // the kernel as written at the launch, for error messages
  const void* kernel;  // identifies the function (cudaFuncSetAttribute)
  dim3 grid, block;
  size_t dynamic_shared_bytes;
  cudaStream_t stream;
};

// Validates the configuration (recording CUDA's error for cudaGetLastError
// instead of running), then runs every block: blocks spread over OpenMP
// threads, the threads of a block as fibers calling thread_main(arg).
void launch_grid(const LaunchConfig& config, void (*thread_main)(void*), void* arg);

// Reverse order: the threads of a block start (and resume after each
// barrier) from the last one, exposing missing barriers. The default comes
// from POSENET_EMU_REVERSE=1.
void set_reverse_order(bool reverse);
bool reverse_order();

// call(args...) calls the kernel (a generic lambda written by the rewriter,
// so that template arguments are deduced as at a CUDA launch); kernel is
// its address where the rewriter can name it (else nullptr, and the launch
// gets the default dynamic shared memory limit).
template <typename Call, typename... Args>
void launch(const char* name, dim3 grid, dim3 block, size_t dynamic_shared_bytes, cudaStream_t stream,
            const void* kernel, Call call, Args&&... args) {
  // The arguments are copied once at the launch, as CUDA does; every thread
  // then gets its own copy of each parameter when the kernel is called.
  struct Launch {
    Call call;
    std::tuple<std::decay_t<Args>...> args;
  } launch{call, std::tuple<std::decay_t<Args>...>(std::forward<Args>(args)...)};
  auto thread_main = [](void* p) {
    auto* l = static_cast<Launch*>(p);
    std::apply(l->call, l->args);
  };
  launch_grid(LaunchConfig{name, kernel, grid, block, dynamic_shared_bytes, stream}, thread_main, &launch);
}

}  // namespace posenet::emu
