// Seeded random numbers, the same for every thread count and worker split.
//
// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2,
// 3", SC'11): a counter-based generator, so the n-th number of a stream is a
// pure function of (seed, stream, n). Distributions are computed here, not
// with <random>'s distributions, whose algorithms differ between standard
// libraries.
//
// Every number is identical on every machine (IEEE 754 doubles): next_u32,
// next_u64, randint, fork and the serialized state use integer arithmetic
// only; uniform() is an exact integer-to-double conversion and a
// power-of-two scaling (hence bernoulli() too); normal() is Box-Muller with
// posenet's own log and cos (portable:: below: IEEE +, -, *, / only) and a
// correctly rounded sqrt, so weights initialised from a seed are the same
// everywhere. core/rng.cpp is compiled with -ffp-contract=off so that no
// compiler fuses a multiply and an add into an FMA there. (What the
// callers then compute from these numbers with libm, e.g. the sin/cos of an
// augmentation angle, is the callers' own.)
#pragma once
#include <array>
#include <cstdint>
#include <vector>

namespace posenet {

namespace portable {
double log(double x);      // x > 0, finite; within 3 ulp of libm's
double cos_2pi(double t);  // cos(2 pi t) for t in [0, 1); within 1e-15
}  // namespace portable

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
