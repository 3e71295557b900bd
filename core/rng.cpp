#include "core/rng.h"

#include <cmath>

#include "core/error.h"

namespace posenet {

std::array<uint32_t, 4> philox4x32(std::array<uint32_t, 4> c, std::array<uint32_t, 2> k) {
  constexpr uint32_t M0 = 0xD2511F53u, M1 = 0xCD9E8D57u, W0 = 0x9E3779B9u, W1 = 0xBB67AE85u;
  for (int round = 0; round < 10; ++round) {
    uint64_t p0 = uint64_t(M0) * c[0];
    uint64_t p1 = uint64_t(M1) * c[2];
    c = {uint32_t(p1 >> 32) ^ c[1] ^ k[0], uint32_t(p1), uint32_t(p0 >> 32) ^ c[3] ^ k[1], uint32_t(p0)};
    k[0] += W0;
    k[1] += W1;
  }
  return c;
}

uint32_t Generator::next_u32() {
  if (buffered_ == 0) {
    buffer_ = philox4x32({uint32_t(counter_), uint32_t(counter_ >> 32), uint32_t(stream_), uint32_t(stream_ >> 32)},
                         {uint32_t(seed_), uint32_t(seed_ >> 32)});
    ++counter_;
    buffered_ = 4;
  }
  return buffer_[4 - buffered_--];
}

uint64_t Generator::next_u64() {
  uint64_t hi = next_u32();
  return (hi << 32) | next_u32();
}

double Generator::uniform() { return double(next_u64() >> 11) * 0x1.0p-53; }

double Generator::uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }

double Generator::normal(double mean, double stddev) {
  // Box-Muller; one pair per call keeps the state simple to checkpoint.
  double u1 = uniform();
  double u2 = uniform();
  if (u1 < 1e-300) u1 = 1e-300;
  return mean + stddev * std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
}

int64_t Generator::randint(int64_t lo, int64_t hi) {
  PN_CHECK(hi > lo, "randint: empty range [", lo, ", ", hi, ")");
  uint64_t range = uint64_t(hi - lo);
  // Rejection sampling: no modulo bias.
  uint64_t limit = UINT64_MAX - UINT64_MAX % range;
  uint64_t x;
  do {
    x = next_u64();
  } while (x >= limit);
  return lo + int64_t(x % range);
}

Generator Generator::fork(uint64_t id) const {
  // Mix the id into a new stream number so forks of forks stay distinct.
  uint64_t z = stream_ * 0x9E3779B97F4A7C15ull + id + 1;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  return Generator(seed_, z);
}

Generator::State Generator::state() const { return {seed_, stream_, counter_, buffered_, buffer_}; }

void Generator::set_state(const State& s) {
  PN_CHECK(s.buffered_count <= 4, "corrupt RNG state (", s.buffered_count, " buffered words)");
  seed_ = s.seed;
  stream_ = s.stream;
  counter_ = s.counter;
  buffered_ = s.buffered_count;
  buffer_ = s.buffer;
}

std::vector<uint64_t> Generator::serialize() const {
  return {seed_, stream_, counter_, buffered_, (uint64_t(buffer_[0]) << 32) | buffer_[1],
          (uint64_t(buffer_[2]) << 32) | buffer_[3]};
}

Generator Generator::deserialize(const std::vector<uint64_t>& w) {
  PN_CHECK(w.size() == 6, "corrupt RNG state: expected 6 words, got ", w.size());
  Generator g;
  g.set_state({w[0], w[1], w[2], uint32_t(w[3]),
               {uint32_t(w[4] >> 32), uint32_t(w[4]), uint32_t(w[5] >> 32), uint32_t(w[5])}});
  return g;
}

}  // namespace posenet
