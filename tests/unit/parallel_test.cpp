// parallel_team: for_chunks hands out every index exactly once per call, whatever the thread count, and a
// barrier makes what one thread wrote before it visible to all (the decode step relies on both).
#include "tinymamba/core/parallel.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace tinymamba {
namespace {

TEST(ParallelTeam, ChunksCoverEveryIndexOnceAndBarriersPublishWrites) {
  const int saved = num_threads();
  for (const int threads : {1, 2, 3}) {
    set_num_threads(threads);
    constexpr std::int64_t kN = 1000, kRounds = 5;
    std::vector<int> hits(kN, 0);
    std::vector<int> ok(static_cast<std::size_t>(threads), 0), members(static_cast<std::size_t>(threads), 0);
    parallel_team(threads, [&](const Team& team) {
      members[team.thread()] = team.size();
      for (std::int64_t round = 0; round < kRounds; ++round) {
        team.for_chunks(kN, 7, [&](std::int64_t b, std::int64_t e) {
          for (std::int64_t i = b; i < e; ++i) ++hits[i];  // no other thread holds index i in this round
        });
        team.barrier();
      }
      bool all = true;  // every thread sees every round's increments of every index
      for (const int h : hits) all = all && h == kRounds;
      ok[team.thread()] = all;
    });
    for (int t = 0; t < threads; ++t) {
      EXPECT_EQ(members[t], threads) << "thread " << t;
      EXPECT_TRUE(ok[t]) << threads << " threads, thread " << t;
    }
  }
  set_num_threads(saved);
}

TEST(ParallelTeam, ParallelForInsideATeamRunsInline) {
  const int saved = num_threads();
  set_num_threads(2);
  std::vector<int> ranges(2, 0);
  parallel_team(2, [&](const Team& team) {
    parallel_for(1000, [&](std::int64_t, std::int64_t, int) { ++ranges[team.thread()]; });
  });
  EXPECT_EQ(ranges, (std::vector<int>{1, 1}));  // one range each: the whole [0, 1000), on the calling thread
  set_num_threads(saved);
}

}  // namespace
}  // namespace tinymamba
