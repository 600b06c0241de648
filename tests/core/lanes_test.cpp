// sum_lanes_each against sum_lanes, lane by lane and bit for bit: the scan step sums 16 channels at once with it
// and one channel at a time with sum_lanes, and a channel's result must not depend on which way it went. And
// sum_squares (RMSNorm's row sums) against a long-double sum.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "tinymamba/core/lanes.hpp"
#include "tinymamba/core/rng.hpp"

namespace tinymamba {
namespace {

TEST(Lanes, SumLanesEachIsSumLanesOfEachVector) {
  Rng rng(11);
  for (int round = 0; round < 200; ++round) {
    Lanes v[kLanes];
    for (auto& vec : v)
      for (std::int64_t j = 0; j < kLanes; ++j)  // magnitudes 2^-20 … 2^20: every pairing rounds differently
        vec[j] = static_cast<float>(rng.normal() * std::ldexp(1.0, static_cast<int>(rng.uniform() * 40) - 20));
    const Lanes each = sum_lanes_each(v);
    for (std::int64_t c = 0; c < kLanes; ++c)
      ASSERT_EQ(each[c], sum_lanes(v[c])) << "round " << round << " vector " << c;
  }
}

// Every square of a float is exact in double, so the only error is the additions': the longest chain is n / 16
// lane sums, four pair sums and at most 15 tail terms, each rounding by at most 2^-53 relative for positive
// terms — (n + 20)·2^-53 bounds it. The reference sums in long double (64-bit significand: its own error is
// 2^-11 of that bound). A lost, doubled or unsquared term is off by far more (the sizes cover no body, a body
// alone and a body with a tail).
TEST(Lanes, SumSquaresIsTheSumOfSquaresInDouble) {
  Rng rng(12);
  for (const std::int64_t n : {0, 1, 15, 16, 17, 47, 768, 1000}) {
    std::vector<float> x(static_cast<std::size_t>(n));
    for (auto& v : x) v = static_cast<float>(rng.normal() * std::ldexp(1.0, static_cast<int>(rng.uniform() * 40) - 20));
    long double want = 0;
    for (const float v : x) want += static_cast<long double>(v) * v;
    const double got = sum_squares(x.data(), n);
    EXPECT_LE(std::fabs(static_cast<long double>(got) - want), want * (n + 20) * std::ldexp(1.0L, -53)) << "n " << n;
  }
}

}  // namespace
}  // namespace tinymamba
