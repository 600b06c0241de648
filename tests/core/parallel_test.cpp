// parallel_team: for_chunks hands out every index exactly once per call, whatever the thread count, a thread
// done with its share takes over the rest of a slower one's, and a barrier makes what one thread wrote before it
// visible to all (the decode step relies on all three).
#include "tinymamba/core/parallel.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>
#include <vector>

namespace tinymamba {
namespace {

TEST(ParallelTeam, ChunksCoverEveryIndexOnceAndBarriersPublishWrites) {
  const int saved = num_threads();
  for (const int threads : {1, 2, 3}) {
    set_num_threads(threads);
    constexpr std::int64_t kN = 1000, kRounds = 300;  // > 256 calls: the slots' 8-bit call tags wrap
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

TEST(ParallelTeam, AThreadDoneWithItsShareTakesOverTheRestOfASlowerOne) {
  const int saved = num_threads();
  set_num_threads(2);
  constexpr std::int64_t kN = 400;
  std::vector<int> owner(kN, -1);
  parallel_team(2, [&](const Team& team) {
    team.for_chunks(kN, 5, [&](std::int64_t b, std::int64_t e) {
      if (team.thread() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(2));  // its share: 40 chunks
      for (std::int64_t i = b; i < e; ++i) owner[i] = team.thread();
    });
  });
  std::int64_t taken_over = 0;
  for (std::int64_t i = 0; i < kN; ++i) {
    ASSERT_NE(owner[i], -1) << "index " << i << " never handed out";
    if (i < kN / 2 && owner[i] == 1) ++taken_over;
  }
  for (std::int64_t i = kN / 2; i < kN; ++i) EXPECT_EQ(owner[i], 1) << i;  // thread 1's own share, never stolen
  EXPECT_GT(taken_over, 0) << "thread 1 never took over any of thread 0's share";
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
