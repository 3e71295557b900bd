// Kernels that exercise the CUDA emulator (tests/emu_kernels.cu, EMU builds
// only); each helper copies its inputs to the device, launches, and returns
// what the kernel wrote.
#pragma once
#include <cstdint>
#include <vector>

namespace posenet::emu_test {

// Each block of `threads` reverses its slice of `in` through shared memory,
// with a __syncthreads between the writes and the reads.
std::vector<int> reverse_in_blocks(const std::vector<int>& in, int threads);

// out[t] = in[t - 1] (out[0] = -1) through shared memory in one block; with
// with_barrier false the __syncthreads between write and read is missing.
std::vector<int> shift_through_shared(const std::vector<int>& in, bool with_barrier);

// One block of `threads` (a partial last warp when not a multiple of 32):
// for each thread, the values its warp collectives returned.
struct WarpResults {
  std::vector<int> shfl_from_3, shfl_up_2, shfl_down_5, shfl_xor_1, shfl_width8, reduced;
  std::vector<unsigned> ballot_odd;
  std::vector<int> any_lane7, all_below_40;
  std::vector<double> shfl_double;
};
WarpResults warp_collectives(int threads);

// Sums over `blocks` x 256 threads with atomics of every supported type.
struct AtomicResults {
  int int_sum;
  unsigned unsigned_sum;
  unsigned long long ull_sum;
  float float_sum;
  double double_sum;
  int max, min;
  int cas_winners;    // threads whose atomicCAS(0 -> 1) succeeded
  int exch_distinct;  // distinct values atomicExch returned over a chain
};
AtomicResults atomics_across_blocks(int blocks);

// Sums `in` per block of 128 threads staged in extern __shared__ memory of
// `dynamic_bytes` (at least 128 doubles).
std::vector<double> dynamic_shared_sums(const std::vector<double>& in, int dynamic_bytes);

// __syncthreads_count / _and / _or of (threadIdx.x % 3 == 0) over one block.
std::vector<int> barrier_counts(int threads);

// A 2D block (32 x 8) and a 3D grid: each thread writes its global linear index.
std::vector<int64_t> index_map(unsigned gx, unsigned gy, unsigned gz);

// A kernel whose parameter is a 16 KiB struct passed by value: each thread
// returns one element of it.
std::vector<int> large_parameter(int threads);

// Launches a kernel where block 1's odd threads return before a
// __syncthreads the others wait at (never returns: the emulator aborts).
void exit_before_barrier();
// Launches a kernel where lanes 0..15 wait at __syncwarp for lanes 16..31,
// which wait at __syncthreads (never returns).
void mixed_barriers();

// The launch-configuration check: the error cudaGetLastError returns after
// a launch with this configuration, and whether the kernel ran.
struct LaunchOutcome {
  int error;  // a cudaError_t
  bool ran;
};
LaunchOutcome launch_with(unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
                          unsigned dynamic_bytes);
// cudaFuncSetAttribute(MaxDynamicSharedMemorySize) on the kernel launch_with
// uses; returns its error (and clears it as the last error).
int allow_dynamic_shared(int bytes);
// Stream capture: on a capturing stream, a kernel adding 1 to each of n
// ints, a device-to-device copy of them and a fill are recorded; the graph
// is then launched `replays` times.
struct CaptureResults {
  int begin, end, instantiate, launch;  // the calls' errors (cudaError_t)
  std::vector<int> during_capture;      // the ints when the capture ended (nothing ran)
  std::vector<int> after;               // after the replays
  std::vector<int> copied;
  std::vector<unsigned char> filled;
};
CaptureResults capture_and_replay(int n, int replays);
// The same work queued without capture, `replays` times (what a replay must equal).
CaptureResults run_eagerly(int n, int replays);
// Synchronous calls made while a stream captures: their errors, and those of
// cudaStreamEndCapture after them (and whether it gave a graph).
struct RefusedDuringCapture {
  int memcpy_error, malloc_error, synchronize_error, end_error;
  bool got_graph;
  int memcpy_after;  // a cudaMemcpy once the capture has ended
};
RefusedDuringCapture synchronous_calls_during_capture();
// cudaMalloc in relaxed capture mode while a stream captures, then the mode
// restored: the allocation's error, the capture's end, a graph or not.
struct RelaxedAllocation {
  int malloc_error, end_error;
  bool got_graph;
  int restored_mode;  // the mode exchanged back (relaxed = 2)
};
RelaxedAllocation allocation_in_relaxed_capture_mode();
int error_stream_capture_unsupported();
int error_stream_capture_invalidated();
int error_invalid_configuration();
int error_invalid_value();

}  // namespace posenet::emu_test
