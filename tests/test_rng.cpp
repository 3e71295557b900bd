// core/rng: Philox4x32-10 against the published known-answer vectors, a
// golden sequence of one seed, state round trips, fork independence and the
// randint distribution.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <set>
#include <vector>

#include "core/error.h"
#include "core/rng.h"

namespace posenet {
namespace {

// Random123's kat_vectors (the "philox4x32 10" lines): counter (4 words),
// key (2 words), expected output (4 words).
TEST(Rng, Philox4x32MatchesRandom123KnownAnswers) {
  struct Kat {
    std::array<uint32_t, 4> counter;
    std::array<uint32_t, 2> key;
    std::array<uint32_t, 4> expected;
  };
  const Kat kats[] = {
      {{0, 0, 0, 0}, {0, 0}, {0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u}},
      {{0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu},
       {0xffffffffu, 0xffffffffu},
       {0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu}},
      {{0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u},
       {0xa4093822u, 0x299f31d0u},
       {0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u}},
  };
  for (const Kat& k : kats) EXPECT_EQ(philox4x32(k.counter, k.key), k.expected);
}

// The n-th block of a stream is philox4x32({n, stream}, seed), read in order.
TEST(Rng, StreamIsPhiloxOfCounterStreamAndSeed) {
  const uint64_t seed = 0x0123456789abcdefull, stream = 0xfedcba9876543210ull;
  Generator g(seed, stream);
  for (uint32_t n = 0; n < 5; ++n) {
    const auto block = philox4x32({n, 0, uint32_t(stream), uint32_t(stream >> 32)}, {uint32_t(seed), uint32_t(seed >> 32)});
    for (uint32_t word : block) EXPECT_EQ(g.next_u32(), word) << "block " << n;
  }
}

// One seed's numbers, written down: any change to the generator or to a
// distribution's algorithm changes them (and every seeded run with them).
TEST(Rng, GoldenSequence) {
  Generator g(20240601, 3);
  const uint32_t u32[] = {0x7d3dc229u, 0x88a5ade7u, 0x119d4531u, 0xba0c6431u, 0x91d4ed31u, 0x185e2c5fu};
  for (uint32_t v : u32) EXPECT_EQ(g.next_u32(), v);
  // uniform(): exact, whatever the machine.
  const double uniforms[] = {0x1.be7237b0b0afp-3, 0x1.e3c0ce1d9d08cp-2, 0x1.1fff2ee07c94p-5, 0x1.5bfe991fd1586p-1};
  for (double v : uniforms) EXPECT_EQ(g.uniform(), v);
  // normal(): exact too (posenet's own log and cos, core/rng.h). These are
  // -0.99592393078518815, 0.23884418396941312, 0.39277581114125271 and
  // 0.71105926721542967, as libm's log/cos give them to 1e-16.
  const double normals[] = {-0x1.fde9bdd00d638p-1, 0x1.e92723b7e8519p-3, 0x1.9233d27e0bd49p-2, 0x1.6c0ff5d46a7e6p-1};
  for (double v : normals) EXPECT_EQ(g.normal(), v);
  const int64_t ints[] = {0, 2, -5, 3, -3, 3, -2, 0};
  for (int64_t v : ints) EXPECT_EQ(g.randint(-5, 7), v);
  EXPECT_EQ(g.next_u64(), 0xe144e2a1cfa07089ull);
}

// The log and cos behind normal(): close to libm's over their whole use
// (uniform draws in (0, 1)), exact where the value is exact, and made of
// IEEE operations only, so the same bits everywhere.
TEST(Rng, PortableLogAndCosAgreeWithLibm) {
  Generator g(11);
  double worst_log_ulps = 0, worst_cos = 0;
  for (int i = 0; i < 200000; ++i) {
    const double u = std::max(g.uniform(), 1e-300);
    const double ref = std::log(u);
    if (ref != 0.0) {
      const double ulp = std::abs(std::nextafter(ref, 0.0) - ref);
      worst_log_ulps = std::max(worst_log_ulps, std::abs(portable::log(u) - ref) / ulp);
    }
    const double t = g.uniform();
    worst_cos = std::max(worst_cos, std::abs(portable::cos_2pi(t) - std::cos(2.0 * M_PI * t)));
  }
  EXPECT_LE(worst_log_ulps, 4.0);
  EXPECT_LE(worst_cos, 1e-15);
  EXPECT_EQ(portable::log(0.5), std::log(0.5));
  EXPECT_EQ(portable::log(1e-300), std::log(1e-300));
  EXPECT_DOUBLE_EQ(portable::log(0x1p-1000), std::log(0x1p-1000));
  EXPECT_EQ(portable::cos_2pi(0.0), 1.0);
  EXPECT_EQ(portable::cos_2pi(0.5), -1.0);
  EXPECT_EQ(std::abs(portable::cos_2pi(0.25)), 0.0);
  EXPECT_EQ(std::abs(portable::cos_2pi(0.75)), 0.0);
}

TEST(Rng, DistributionsStayInTheirRanges) {
  Generator g(7);
  double sum = 0, sum_sq = 0;
  const int n = 100000;
  for (int i = 0; i < n; ++i) {
    const double u = g.uniform();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    const double v = g.uniform(-2.0, 3.0);
    ASSERT_GE(v, -2.0);
    ASSERT_LT(v, 3.0);
    const double z = g.normal();
    ASSERT_TRUE(std::isfinite(z));
    sum += z;
    sum_sq += z * z;
  }
  // Standard errors: mean 1/sqrt(n) = 0.0032, variance sqrt(2/n) = 0.0045.
  EXPECT_NEAR(sum / n, 0.0, 0.02);
  EXPECT_NEAR(sum_sq / n - (sum / n) * (sum / n), 1.0, 0.03);
  Generator a(8), b(8);
  for (int i = 0; i < 100; ++i) EXPECT_NEAR(a.normal(3.0, 2.0), 3.0 + 2.0 * b.normal(), 1e-14);
}

// Serialized (or State) mid-block, the copy continues the same stream.
TEST(Rng, SerializeRoundTripContinuesTheStream) {
  for (int consumed : {0, 1, 3, 4, 7}) {
    SCOPED_TRACE(consumed);
    Generator g(99, 5);
    for (int i = 0; i < consumed; ++i) g.next_u32();
    const std::vector<uint64_t> words = g.serialize();
    EXPECT_EQ(words.size(), 6u);
    Generator restored = Generator::deserialize(words);
    Generator from_state;
    from_state.set_state(g.state());
    EXPECT_EQ(restored.serialize(), words);
    for (int i = 0; i < 50; ++i) {
      const uint32_t want = g.next_u32();
      EXPECT_EQ(restored.next_u32(), want) << i;
      EXPECT_EQ(from_state.next_u32(), want) << i;
    }
    EXPECT_EQ(restored.uniform(), g.uniform());
    EXPECT_EQ(restored.normal(), g.normal());  // same build, same inputs
    EXPECT_EQ(restored.randint(0, 1000), g.randint(0, 1000));
  }
  EXPECT_THROW(Generator::deserialize({1, 2, 3}), Error);
  std::vector<uint64_t> corrupt = Generator(1).serialize();
  corrupt[3] = 5;  // more buffered words than a block has
  EXPECT_THROW(Generator::deserialize(corrupt), Error);
}

// Pearson correlation of two equally long samples.
double correlation(const std::vector<double>& a, const std::vector<double>& b) {
  const double n = double(a.size());
  double ma = 0, mb = 0;
  for (size_t i = 0; i < a.size(); ++i) ma += a[i] / n, mb += b[i] / n;
  double sab = 0, saa = 0, sbb = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    sab += (a[i] - ma) * (b[i] - mb);
    saa += (a[i] - ma) * (a[i] - ma);
    sbb += (b[i] - mb) * (b[i] - mb);
  }
  return sab / std::sqrt(saa * sbb);
}

TEST(Rng, ForksAreIndependentPureFunctions) {
  Generator parent(42, 0);
  const std::vector<uint64_t> before = parent.serialize();
  Generator f0 = parent.fork(0), f0_again = parent.fork(0), f1 = parent.fork(1), f00 = f0.fork(0);
  EXPECT_EQ(parent.serialize(), before) << "fork must not advance the parent";
  EXPECT_EQ(f0.serialize(), f0_again.serialize());
  EXPECT_EQ(f0.state().seed, 42u);

  // The streams of the parent, two sibling forks, a fork of a fork and a fork
  // of another seed: distinct stream ids, no shared values at equal
  // positions, and pairwise correlation of their uniforms within 5 standard
  // errors (1/sqrt(n)) of zero.
  std::vector<Generator> gens = {parent, f0, f1, f00, Generator(43, 0).fork(0), parent.fork(1ull << 40)};
  std::set<uint64_t> streams;
  for (const auto& g : gens) streams.insert(g.state().stream + (g.state().seed << 1));
  EXPECT_EQ(streams.size(), gens.size());
  const int n = 20000;
  std::vector<std::vector<double>> samples(gens.size());
  std::vector<std::vector<uint32_t>> words(gens.size());
  for (size_t k = 0; k < gens.size(); ++k)
    for (int i = 0; i < n; ++i) {
      words[k].push_back(gens[k].next_u32());
      samples[k].push_back(gens[k].uniform());
    }
  for (size_t a = 0; a < gens.size(); ++a)
    for (size_t b = a + 1; b < gens.size(); ++b) {
      SCOPED_TRACE(testing::Message() << "generators " << a << " and " << b);
      int equal = 0;
      for (int i = 0; i < n; ++i) equal += words[a][size_t(i)] == words[b][size_t(i)];
      EXPECT_LE(equal, 1);  // expected n / 2^32 = 5e-6
      EXPECT_LT(std::abs(correlation(samples[a], samples[b])), 5.0 / std::sqrt(double(n)));
    }
}

TEST(Rng, RandintCoversItsRangeWithoutBias) {
  Generator g(2024);
  // A range of 7: every value, and each count within 5 standard deviations of
  // n/7 (sd = sqrt(n * 1/7 * 6/7) = 83 for n = 70000); chi-square with 6
  // degrees of freedom below 27.9 (p = 1e-4).
  const int n = 70000, k = 7;
  std::vector<int> counts(k, 0);
  for (int i = 0; i < n; ++i) {
    const int64_t v = g.randint(-3, 4);
    ASSERT_GE(v, -3);
    ASSERT_LT(v, 4);
    ++counts[size_t(v + 3)];
  }
  const double expected = double(n) / k, sd = std::sqrt(n * (1.0 / k) * (1.0 - 1.0 / k));
  double chi2 = 0;
  for (int c : counts) {
    EXPECT_LT(std::abs(c - expected), 5 * sd) << c;
    chi2 += (c - expected) * (c - expected) / expected;
  }
  EXPECT_LT(chi2, 27.9);

  // A range of 3 * 2^62: plain modulo of a 64-bit word would put half of all
  // draws in the lowest third (the 2^62 values below 2^64 - 3 * 2^62 are hit
  // twice); rejection keeps it at 1/3 (sd 0.0033 for n = 20000).
  const int64_t lo = -(int64_t(3) << 61), hi = int64_t(3) << 61;
  int low_third = 0;
  for (int i = 0; i < 20000; ++i) {
    const int64_t v = g.randint(lo, hi);
    ASSERT_GE(v, lo);
    ASSERT_LT(v, hi);
    low_third += v < lo + (int64_t(1) << 62);
  }
  EXPECT_NEAR(low_third / 20000.0, 1.0 / 3.0, 0.02);

  for (int i = 0; i < 10; ++i) EXPECT_EQ(g.randint(5, 6), 5);
  EXPECT_THROW(g.randint(3, 3), Error);
  EXPECT_THROW(g.randint(4, 3), Error);
}

}  // namespace
}  // namespace posenet
