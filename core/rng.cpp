#include "core/rng.h"

#include <cmath>

#include "core/error.h"

namespace posenet {

namespace portable {

// log(x) for x > 0 (finite, normal), from IEEE additions, multiplications
// and divisions only, so the result is bit-identical on every machine
// (libm's log is not: glibc, musl and macOS round some inputs differently).
// x = m * 2^e with m in [sqrt(1/2), sqrt(2)); log(m) = 2 atanh(s) with
// s = (m - 1) / (m + 1), |s| < 0.172, whose odd series converges to below
// double rounding by s^23. Within 3 ulp of libm's log.
double log(double x) {
  int e = 0;
  double m = std::frexp(x, &e);  // exact: m in [0.5, 1)
  if (m < 0.70710678118654752440) {
    m *= 2.0;
    e -= 1;
  }
  const double s = (m - 1.0) / (m + 1.0), s2 = s * s;
  double series = 1.0 / 23.0;
  for (int k = 21; k >= 1; k -= 2) series = 1.0 / double(k) + s2 * series;
  // ln 2 split so that e * ln2_hi is exact (fdlibm's constants).
  constexpr double ln2_hi = 6.93147180369123816490e-01, ln2_lo = 1.90821492927058770002e-10;
  return double(e) * ln2_hi + (2.0 * s * series + double(e) * ln2_lo);
}

// cos(2 pi t) for t in [0, 1), with the same guarantee as log(): the
// argument is reduced exactly (t * 4 and the quadrant split are exact), then
// a Taylor polynomial on [0, pi/4] (the next term is below 1e-19).
double cos_2pi(double t) {
  const double q = t * 4.0;                 // exact
  const int quadrant = int(q);              // 0..3
  double r = q - double(quadrant);          // exact, in [0, 1)
  const bool complement = r > 0.5;          // cos(pi/2 - a) = sin(a)
  if (complement) r = 1.0 - r;              // exact
  const double a = r * 1.57079632679489661923, a2 = a * a;  // a in [0, pi/4]
  double c = 1.0, sn = 1.0;                 // Horner from the smallest term
  for (int k = 16; k >= 2; k -= 2) c = 1.0 - a2 / double(k * (k - 1)) * c;
  for (int k = 17; k >= 3; k -= 2) sn = 1.0 - a2 / double(k * (k - 1)) * sn;
  const double cos_a = complement ? a * sn : c, sin_a = complement ? c : a * sn;
  switch (quadrant) {
    case 0: return cos_a;
    case 1: return -sin_a;
    case 2: return -cos_a;
    default: return sin_a;
  }
}

}  // namespace portable

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
  // log and cos are posenet's own (bit-identical everywhere; sqrt is
  // correctly rounded by IEEE 754), so are the weights initialised from it.
  double u1 = uniform();
  double u2 = uniform();
  if (u1 < 1e-300) u1 = 1e-300;
  return mean + stddev * std::sqrt(-2.0 * portable::log(u1)) * portable::cos_2pi(u2);
}

int64_t Generator::randint(int64_t lo, int64_t hi) {
  PN_CHECK(hi > lo, "randint: empty range [", lo, ", ", hi, ")");
  // In unsigned arithmetic: hi - lo overflows int64 for ranges over 2^63.
  const uint64_t range = uint64_t(hi) - uint64_t(lo);
  // Rejection sampling: no modulo bias.
  uint64_t limit = UINT64_MAX - UINT64_MAX % range;
  uint64_t x;
  do {
    x = next_u64();
  } while (x >= limit);
  return int64_t(uint64_t(lo) + x % range);  // wraps back into [lo, hi)
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
