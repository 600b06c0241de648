// sum_lanes_each against sum_lanes, lane by lane and bit for bit: the scan step sums 16 channels at once with it
// and one channel at a time with sum_lanes, and a channel's result must not depend on which way it went.
#include <gtest/gtest.h>

#include <cmath>

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

}  // namespace
}  // namespace tinymamba
