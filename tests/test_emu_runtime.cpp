// The CUDA emulator (EMU builds): barriers, warp collectives, atomics,
// shared memory, deadlock detection, launch-configuration errors, and a
// missing __syncthreads that reverse order exposes.
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>
#include <vector>

#include "core/dtype.h"
#include "posenet_emu/half_types.h"
#include "posenet_emu/launch.h"
#include "tests/emu_kernels.h"

namespace posenet {
namespace {

using namespace emu_test;

struct ReverseOrder {
  bool saved = emu::reverse_order();
  explicit ReverseOrder(bool on) { emu::set_reverse_order(on); }
  ~ReverseOrder() { emu::set_reverse_order(saved); }
};

TEST(EmuRuntime, BarrierOrdersSharedMemoryInEveryBlock) {
  std::vector<int> in(8 * 256);
  std::iota(in.begin(), in.end(), 0);
  for (bool reverse : {false, true}) {
    ReverseOrder order(reverse);
    const std::vector<int> out = reverse_in_blocks(in, 256);
    for (size_t b = 0; b < 8; ++b)
      for (size_t t = 0; t < 256; ++t) ASSERT_EQ(out[b * 256 + t], in[b * 256 + 255 - t]) << b << " " << t;
  }
}

TEST(EmuRuntime, MissingSyncthreadsIsCaughtInReverseOrder) {
  // out[t] = in[t - 1]; each call gets new values, so that a slot read
  // before it is written holds the previous call's value.
  int first = 100;
  auto check = [&](bool with_barrier) {
    std::vector<int> in(128), want(128, -1);
    std::iota(in.begin(), in.end(), first);
    first += 1000;
    for (size_t t = 1; t < 128; ++t) want[t] = in[t - 1];
    return shift_through_shared(in, with_barrier) == want;
  };
  {
    ReverseOrder order(false);
    EXPECT_TRUE(check(true));
    EXPECT_TRUE(check(false));  // in thread order the race goes unnoticed...
  }
  ReverseOrder order(true);
  EXPECT_TRUE(check(true));
  EXPECT_FALSE(check(false));  // ...in reverse order a thread reads its neighbour's slot before it is written
}

TEST(EmuRuntime, WarpShufflesBallotAnyAll) {
  const int threads = 72;  // two full warps and a partial one of 8 lanes
  const WarpResults w = warp_collectives(threads);
  for (int t = 0; t < threads; ++t) {
    SCOPED_TRACE(t);
    const int lane = t % 32, base = t - lane, lanes = std::min(32, threads - base);
    EXPECT_EQ(w.shfl_from_3[t], (base + 3) * 10);
    EXPECT_EQ(w.shfl_up_2[t], lane >= 2 ? (t - 2) * 10 : t * 10);
    EXPECT_EQ(w.shfl_down_5[t], lane + 5 < lanes ? (t + 5) * 10 : t * 10);
    EXPECT_EQ(w.shfl_xor_1[t], (t ^ 1) * 10);
    EXPECT_EQ(w.shfl_width8[t], (t - t % 8 + 1) * 10);
    int sum = 0;
    for (int l = 0; l < lanes; ++l) sum += base + l;
    if (lanes == 32) {
      EXPECT_EQ(w.reduced[t], sum);
    }
    unsigned odd = 0;
    for (int l = 1; l < lanes; l += 2) odd |= 1u << l;
    EXPECT_EQ(w.ballot_odd[t], odd);
    EXPECT_EQ(w.any_lane7[t], lanes > 7 ? 1 : 0);
    EXPECT_EQ(w.all_below_40[t], base + lanes <= 40 ? 1 : 0);
    EXPECT_EQ(w.shfl_double[t], 0.5 * base);
  }
}

TEST(EmuRuntime, AtomicsAreExactAcrossConcurrentBlocks) {
  const int blocks = 64, n = blocks * 256;
  const AtomicResults r = atomics_across_blocks(blocks);
  EXPECT_EQ(r.int_sum, n);
  EXPECT_EQ(r.unsigned_sum, 2u * unsigned(n));
  EXPECT_EQ(r.ull_sum, 3ull * unsigned(n));
  EXPECT_EQ(r.float_sum, 0.5f * float(n));  // exact: every partial sum is a multiple of 0.5 below 2^24
  EXPECT_EQ(r.double_sum, 0.25 * n);
  EXPECT_EQ(r.max, n - 1);
  EXPECT_EQ(r.min, -7);
  EXPECT_EQ(r.cas_winners, 1);
  EXPECT_EQ(r.exch_distinct, n + 1);  // every value handed on exactly once
}

TEST(EmuRuntime, DynamicSharedMemoryPerBlock) {
  std::vector<double> in(16 * 128);
  for (size_t i = 0; i < in.size(); ++i) in[i] = double(i % 128) + double(i / 128) * 1000.0;
  const std::vector<double> sums = dynamic_shared_sums(in, 128 * sizeof(double));
  ASSERT_EQ(sums.size(), 16u);
  for (size_t b = 0; b < 16; ++b) EXPECT_EQ(sums[b], 127.0 * 128 / 2 + 128000.0 * double(b)) << b;
}

TEST(EmuRuntime, SyncthreadsCountAndOr) {
  const std::vector<int> r = barrier_counts(100);
  EXPECT_EQ(r, (std::vector<int>{34, 0, 1, 0}));
}

TEST(EmuRuntime, TwoDimensionalBlocksAndThreeDimensionalGrids) {
  const std::vector<int64_t> out = index_map(3, 2, 2);
  for (size_t i = 0; i < out.size(); ++i) ASSERT_EQ(out[i], int64_t(i));
}

TEST(EmuRuntime, LargeParameterIsCopiedToEveryThread) {
  const std::vector<int> out = large_parameter(256);
  for (int t = 0; t < 256; ++t) EXPECT_EQ(out[size_t(t)], (t * 13 % 4096) * 3 + 1);
}

TEST(EmuRuntime, BadLaunchConfigurationsReturnTheToolkitsErrorCodes) {
  const int config = error_invalid_configuration(), value = error_invalid_value();
  struct Case {
    unsigned g[3], b[3], smem;
    int want;
  };
  const Case cases[] = {
      {{1, 1, 1}, {1024, 1, 1}, 0, 0},            {{1, 1, 1}, {1025, 1, 1}, 0, config},
      {{1, 1, 1}, {64, 16, 2}, 0, config},        {{1, 1, 1}, {1, 1, 65}, 0, config},
      {{0, 1, 1}, {32, 1, 1}, 0, config},         {{1, 65536, 1}, {32, 1, 1}, 0, config},
      {{1, 1, 65536}, {32, 1, 1}, 0, config},     {{1, 1, 1}, {0, 1, 1}, 0, config},
      {{1, 1, 1}, {32, 1, 1}, 48 * 1024, 0},      {{1, 1, 1}, {32, 1, 1}, 48 * 1024 + 1, value},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(::testing::Message() << c.g[0] << "x" << c.g[1] << "x" << c.g[2] << " blocks of " << c.b[0] << "x"
                                      << c.b[1] << "x" << c.b[2] << ", " << c.smem << " bytes");
    const LaunchOutcome o = launch_with(c.g[0], c.g[1], c.g[2], c.b[0], c.b[1], c.b[2], c.smem);
    EXPECT_EQ(o.error, c.want);
    EXPECT_EQ(o.ran, c.want == 0);
  }
  // Opting in raises the dynamic shared memory limit of that kernel.
  EXPECT_EQ(allow_dynamic_shared(96 * 1024), 0);
  EXPECT_EQ(launch_with(1, 1, 1, 32, 1, 1, 96 * 1024).error, 0);
  EXPECT_EQ(launch_with(1, 1, 1, 32, 1, 1, 96 * 1024 + 1).error, value);
  EXPECT_EQ(allow_dynamic_shared(48 * 1024), 0);
  EXPECT_NE(allow_dynamic_shared(1 << 20), 0);
}

TEST(EmuRuntimeDeathTest, ThreadsExitingBeforeABarrierAbortNamingKernelAndBlock) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(exit_before_barrier(), "deadlock in kernel 'early_exit_kernel', block \\(1, 0, 0\\).*32 wait at "
                                      "__syncthreads.*32 have exited");
}

TEST(EmuRuntimeDeathTest, WarpAndBlockBarriersWaitingOnEachOtherAbort) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(mixed_barriers(), "deadlock in kernel 'mixed_barrier_kernel', block \\(0, 0, 0\\).*48 wait at "
                                 "__syncthreads.*16 at a warp barrier");
}

// The emulator's 16-bit conversions round like the toolkit's (and like
// core's host conversions): to nearest, ties to even, with subnormals,
// overflow to infinity and NaN kept.
// A captured stream records its kernels, copies and fills without running
// them; each replay of the graph runs them in order, exactly as queuing the
// same work again would.
TEST(EmuRuntime, StreamCaptureRecordsAndGraphReplayEqualsEagerExecution) {
  constexpr int n = 300, replays = 3;
  const CaptureResults got = capture_and_replay(n, replays);
  EXPECT_EQ(got.begin, 0);
  EXPECT_EQ(got.end, 0);
  EXPECT_EQ(got.instantiate, 0);
  EXPECT_EQ(got.launch, 0);
  EXPECT_EQ(got.during_capture, std::vector<int>(n, 0)) << "captured work ran during the capture";
  const CaptureResults eager = run_eagerly(n, replays);
  EXPECT_EQ(got.after, std::vector<int>(n, replays));
  EXPECT_EQ(got.after, eager.after);
  EXPECT_EQ(got.copied, eager.copied);
  EXPECT_EQ(got.filled, eager.filled);
  EXPECT_EQ(got.filled, std::vector<unsigned char>(n, 7));
}

// As CUDA's global capture mode: a synchronous call while a stream captures
// fails and invalidates the capture, which then yields no graph.
TEST(EmuRuntime, SynchronousCallsDuringCaptureAreRefused) {
  const RefusedDuringCapture r = synchronous_calls_during_capture();
  EXPECT_EQ(r.memcpy_error, error_stream_capture_unsupported());
  EXPECT_EQ(r.malloc_error, error_stream_capture_unsupported());
  EXPECT_EQ(r.synchronize_error, error_stream_capture_unsupported());
  EXPECT_EQ(r.end_error, error_stream_capture_invalidated());
  EXPECT_FALSE(r.got_graph);
  EXPECT_EQ(r.memcpy_after, 0);
}

// A thread in relaxed capture mode may allocate while a stream captures (a
// graph's memory pool growing), without invalidating the capture.
TEST(EmuRuntime, RelaxedCaptureModeAllowsAllocationDuringCapture) {
  const RelaxedAllocation r = allocation_in_relaxed_capture_mode();
  EXPECT_EQ(r.malloc_error, 0);
  EXPECT_EQ(r.restored_mode, 2);
  EXPECT_EQ(r.end_error, 0);
  EXPECT_TRUE(r.got_graph);
}

TEST(EmuRuntime, HalfAndBfloat16ConversionsRoundToNearestEven) {
  uint32_t bits = 0x2f800000u;  // covers half's subnormals up to beyond its range
  for (int i = 0; i < 200000; ++i, bits += 0x1357u) {
    for (uint32_t sign : {0u, 0x80000000u}) {
      const float f = emu::bits_float(bits | sign);
      ASSERT_EQ(emu::float_to_half_bits(f), float_to_f16(f)) << std::hexfloat << f;
      ASSERT_EQ(emu::float_to_bfloat16_bits(f), float_to_bf16(f)) << std::hexfloat << f;
    }
  }
  for (uint32_t h = 0; h < 0x10000u; ++h) {
    const float a = emu::half_bits_to_float(uint16_t(h)), b = f16_to_float(uint16_t(h));
    ASSERT_TRUE(emu::float_bits(a) == emu::float_bits(b) || (std::isnan(a) && std::isnan(b))) << h;
  }
  EXPECT_EQ(emu::float_to_half_bits(65520.0f), 0x7c00u);
  EXPECT_EQ(emu::float_to_half_bits(65519.0f), 0x7bffu);
  EXPECT_EQ(emu::float_to_bfloat16_bits(std::nanf("")) & 0x7fc0u, 0x7fc0u);
  EXPECT_EQ(float(__half(1.0f / 3.0f)), emu::half_bits_to_float(0x3555u));
  EXPECT_EQ(__bfloat162float(__float2bfloat16(1.0f + 1.0f / 256)), 1.0f);  // the tie goes to even
}

}  // namespace
}  // namespace posenet
