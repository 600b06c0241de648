// The learning-rate schedule's values at warm-up, the cosine and the floor; settings validation.
#include "tinymamba/train/schedule.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "tinymamba/core/error.hpp"
#include "tinymamba/train/settings.hpp"

namespace tinymamba::train {
namespace {

TEST(LrSchedule, WarmupCosineFloor) {
  const LrSchedule s{.peak = 1e-3, .floor = 1e-4, .warmup = 10, .total = 110};
  s.validate();
  EXPECT_DOUBLE_EQ(s.at(0), 1e-4);       // (0 + 1) / 10 of the peak: the first update is not wasted
  EXPECT_DOUBLE_EQ(s.at(4), 5e-4);
  EXPECT_DOUBLE_EQ(s.at(9), 1e-3);       // the last warm-up update reaches the peak
  EXPECT_DOUBLE_EQ(s.at(10), 1e-3);      // cosine starts at the peak
  EXPECT_NEAR(s.at(60), 5.5e-4, 1e-15);  // halfway: the mean of peak and floor
  EXPECT_NEAR(s.at(35), 1e-4 + 9e-4 * 0.5 * (1 + std::cos(M_PI * 0.25)), 1e-15);
  EXPECT_GT(s.at(109), 1e-4);            // the last update is just above the floor
  EXPECT_NEAR(s.at(109), 1e-4, 1e-6);
  EXPECT_DOUBLE_EQ(s.at(110), 1e-4);     // beyond the run: the floor
  EXPECT_DOUBLE_EQ(s.at(1000), 1e-4);
  for (std::int64_t i = 10; i < 110; ++i) EXPECT_LE(s.at(i + 1), s.at(i)) << i;  // monotone decay
}

TEST(LrSchedule, ConstantWhenFloorIsPeakAndNoWarmup) {
  const LrSchedule s{.peak = 3e-3, .floor = 3e-3, .warmup = 0, .total = 10};
  for (std::int64_t i = 0; i < 12; ++i) EXPECT_DOUBLE_EQ(s.at(i), 3e-3);
}

TEST(LrSchedule, BadValuesNameTheFlag) {
  auto message = [](const LrSchedule& s) {
    try {
      s.validate();
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_NE(message({.peak = NAN}).find("--lr"), std::string::npos);
  EXPECT_NE(message({.peak = -1}).find("--lr"), std::string::npos);
  EXPECT_NE(message({.peak = 1e-3, .floor = 2e-3}).find("--min-lr"), std::string::npos);
  EXPECT_NE(message({.peak = 1e-3, .floor = 0, .warmup = 5, .total = 2}).find("--warmup"), std::string::npos);
  EXPECT_NE(message({.peak = 1e-3, .floor = 0, .warmup = 0, .total = 0}).find("--steps"), std::string::npos);
}

TEST(TrainSettings, ValidateNamesTheFlagAndJsonRoundTrips) {
  TrainSettings s;
  s.data = "x.txt";
  s.steps = 10;
  s.batch = 2;
  s.seq_len = 8;
  s.warmup = 2;
  s.validate();
  auto bad = [&](auto change, const char* flag) {
    TrainSettings t = s;
    change(t);
    try {
      t.validate();
      ADD_FAILURE() << flag << ": no error";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(flag), std::string::npos) << e.what();
    }
  };
  bad([](TrainSettings& t) { t.steps = 0; }, "--steps");
  bad([](TrainSettings& t) { t.steps = -3; }, "--steps");
  bad([](TrainSettings& t) { t.batch = 0; }, "--batch");
  bad([](TrainSettings& t) { t.seq_len = -1; }, "--seq-len");
  bad([](TrainSettings& t) { t.lr = NAN; }, "--lr");
  bad([](TrainSettings& t) { t.accum = 0; }, "--accum");
  bad([](TrainSettings& t) { t.clip = -1; }, "--clip");
  bad([](TrainSettings& t) { t.adamw.weight_decay = INFINITY; }, "--weight-decay");
  bad([](TrainSettings& t) { t.adamw.beta2 = 1; }, "--beta2");

  s.no_decay = {"embedding"};
  s.lr = 0.1 + 0.2;  // not exactly representable in decimal: must survive the round trip bit for bit
  s.seed = 0xffffffffffffffffull;
  const TrainSettings back = settings_from_json(settings_to_json(s), "test");
  EXPECT_EQ(back.lr, s.lr);
  EXPECT_EQ(back.seed, s.seed);
  EXPECT_EQ(back.no_decay, s.no_decay);
  EXPECT_EQ(back.steps, s.steps);
  EXPECT_EQ(back.warmup, s.warmup);
}

}  // namespace
}  // namespace tinymamba::train
