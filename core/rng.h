// Seeded random numbers, the same for every thread count and worker split.
//
// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2,
// 3", SC'11): a counter-based generator, so the n-th number of a stream is a
// pure function of (seed, stream, n). Distributions are computed here, not
// with <random>'s distributions, whose algorithms differ between standard
// libraries.
//
// What is identical on every machine: next_u32, next_u64, randint, fork and
// the serialized state (integer arithmetic only), and uniform() (an exact
// integer-to-double conversion and a power-of-two scaling), hence also
// bernoulli(). uniform(lo, hi) adds one IEEE multiply and add (identical
// unless a compiler fuses them into an FMA on targets that have one).
// normal() is Box-Muller with std::log and std::cos, which libm does not
// round the same way everywhere: its numbers are identical for one C library
// build and may differ in the last few bits between builds. Kept so on
// purpose: a bit-portable normal() would need hand-written log/cos, and its
// users (weight init, augmentation, synthetic images) feed its numbers
// through more libm calls (the sin/cos of angles) and float32 kernels anyway,
// so their outputs would still be build-specific.
#pragma once
#include <array>
#include <cstdint>
#include <vector>

namespace posenet {

std::array<uint32_t, 4> philox4x32(std::array<uint32_t, 4> counter, std::array<uint32_t, 2> key);

class Generator {
 public:
  explicit Generator(uint64_t seed = 0, uint64_t stream = 0) : seed_(seed), stream_(stream) {}

  uint32_t next_u32();
  uint64_t next_u64();
  double uniform();                        // [0, 1)
  double uniform(double lo, double hi);    // [lo, hi)
  double normal(double mean = 0.0, double stddev = 1.0);
  int64_t randint(int64_t lo, int64_t hi);  // [lo, hi)
  bool bernoulli(double p) { return uniform() < p; }

  // An independent generator for a sub-task (a worker, a sample): a pure
  // function of this generator's seed and the given id.
  Generator fork(uint64_t id) const;

  // The whole state, for checkpoints.
  struct State {
    uint64_t seed, stream, counter;
    uint32_t buffered_count;
    std::array<uint32_t, 4> buffer;
  };
  State state() const;
  void set_state(const State& s);
  std::vector<uint64_t> serialize() const;
  static Generator deserialize(const std::vector<uint64_t>& words);

 private:
  uint64_t seed_;
  uint64_t stream_;
  uint64_t counter_ = 0;
  std::array<uint32_t, 4> buffer_{};
  uint32_t buffered_ = 0;  // unread words left in buffer_
};

}  // namespace posenet
