// The backends' step counters (alloc_calls, host_syncs, h2d_bytes in each
// step record of log.jsonl): a hand-counted sequence of backend calls must
// move each counter by exactly what it did.
#include <gtest/gtest.h>

#include <vector>

#include "core/device.h"
#include "core/uncounted_transfers.h"
#include "test_util.h"

namespace posenet {
namespace {

TEST(BackendCounters, CpuCountsEveryAllocationAndTheStagedBytes) {
  Backend& cpu = backend_for(Device::cpu());
  std::vector<float> host(16, 1.0f);
  const BackendCounters before = cpu.counters();
  void* a = cpu.allocate(100);
  void* b = cpu.allocate(100);  // no cache on the CPU: each one is a fresh heap allocation
  cpu.copy_host_to_device(a, host.data(), 64);
  cpu.copy_device_to_host(host.data(), b, 64);
  cpu.copy_device_to_device(b, a, 64);
  cpu.fill(a, DType::F32, 16, 2.0);
  cpu.synchronize();
  cpu.deallocate(a, 100);
  cpu.deallocate(b, 100);
  const BackendCounters d = cpu.counters() - before;
  EXPECT_EQ(d.alloc_calls, 2u);
  EXPECT_EQ(d.host_syncs, 0u);
  EXPECT_EQ(d.h2d_bytes, 64u);
}

// The caching allocator goes to the driver only when no cached block fits; a
// block freed and asked for again comes from the cache. The size (98 MiB
// once rounded) is one no other test leaves cached.
TEST(BackendCounters, CudaCountsDriverAllocationsWaitsAndUploads) {
  PN_REQUIRE_CUDA();
  Backend& gpu = backend_for(Device::cuda(0));
  const size_t size = (97u << 20) + 1;
  std::vector<float> host(1024, 1.0f);
  const BackendCounters before = gpu.counters();

  void* a = gpu.allocate(size);
  EXPECT_EQ((gpu.counters() - before).alloc_calls, 1u) << "the first block of this size comes from cudaMalloc";
  gpu.deallocate(a, size);
  void* again = gpu.allocate(size);
  EXPECT_EQ(again, a) << "the freed block is reused";
  EXPECT_EQ((gpu.counters() - before).alloc_calls, 1u) << "a cached block is not a driver allocation";
  void* b = gpu.allocate(size);  // the cached one is in use: the driver again
  EXPECT_EQ((gpu.counters() - before).alloc_calls, 2u);

  gpu.copy_host_to_device(again, host.data(), 4096);  // waits: the host buffer may be freed next
  gpu.copy_device_to_host(host.data(), again, 4096);  // waits for the data
  gpu.copy_device_to_device(b, again, 4096);          // no wait
  gpu.fill(b, DType::F32, 1024, 3.0);                 // no wait
  gpu.synchronize();                                  // waits
  {
    const UncountedTransfers emulated_library_call;  // as an EMU stand-in for cuDNN copies its operands
    gpu.copy_host_to_device(again, host.data(), 4096);
    gpu.copy_device_to_host(host.data(), again, 4096);
  }
  gpu.deallocate(again, size);
  gpu.deallocate(b, size);

  const BackendCounters d = gpu.counters() - before;
  EXPECT_EQ(d.alloc_calls, 2u);
  EXPECT_EQ(d.host_syncs, 3u);
  EXPECT_EQ(d.h2d_bytes, 4096u);
}

}  // namespace
}  // namespace posenet
