// Kernel launches. The build rewrites `kernel<<<grid, block, smem, stream>>>(args)`
// in every .cu file into posenet::emu::launch("kernel", grid, block, smem,
// stream, kernel, args) (emu/rewrite), which runs the grid before returning.
#pragma once
#include <cstddef>
#include <functional>
#include <memory>
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
// The check launch_grid starts with: false (CUDA's error recorded) for a bad
// configuration.
bool launch_config_ok(const LaunchConfig& config);

// Stream capture (emu/capture.cpp): records `work` into the graph `stream`
// is capturing and returns true; false, recording nothing, when it is not.
bool record_if_capturing(cudaStream_t stream, std::function<void()> work);
// Whether any stream captures (cheap: launches check it first).
bool capture_active();

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
  void (*thread_main)(void*) = [](void* p) {
    auto* l = static_cast<Launch*>(p);
    std::apply(l->call, l->args);
  };
  const LaunchConfig config{name, kernel, grid, block, dynamic_shared_bytes, stream};
  // Under capture the launch (its arguments copied as now) runs when the graph does.
  if (stream != nullptr && capture_active()) {
    if (!launch_config_ok(config)) return;
    auto owned = std::make_shared<Launch>(std::move(launch));
    if (record_if_capturing(stream, [config, thread_main, owned] { launch_grid(config, thread_main, owned.get()); }))
      return;
    launch_grid(config, thread_main, owned.get());
    return;
  }
  launch_grid(config, thread_main, &launch);
}

}  // namespace posenet::emu
