// The state cache's radix tree against a brute-force oracle: a flat list of (key, snapshot, last use) searched
// linearly, evicting the least recently used entry while over budget. Random keys over a 3-token alphabet
// share long prefixes, so edges split and merge often. Each snapshot has a random forward_tokens tag and each
// lookup a length limit and a tag it refuses, so the filter decides too.
#include <gtest/gtest.h>

#include <random>

#include "small_models.hpp"
#include "tinymamba/core/error.hpp"
#include "tinymamba/server/state_cache.hpp"

namespace tinymamba::server {
namespace {

Config tiny_config() { return test::small_config({.d_model = 4, .n_layer = 1, .vocab_size = 8, .d_state = 2}); }

// A snapshot of `n` tokens marked with `tag`, so that a hit names the entry it came from.
InferenceState snapshot(std::int64_t n, float tag) {
  InferenceState s(tiny_config(), 1);
  s.tokens_seen = n;
  s.conv[0][0] = tag;
  return s;
}

struct Oracle {
  struct Entry {
    std::vector<std::int32_t> key;
    float tag;
    std::int64_t forward, used;
  };
  std::vector<Entry> entries;
  std::int64_t capacity, clock = 0, per_state;

  std::int64_t bytes() const {
    std::int64_t b = 0;
    for (const auto& e : entries) b += per_state + 4 * std::ssize(e.key);
    return b;
  }
  void insert(const std::vector<std::int32_t>& key, float tag, std::int64_t forward) {
    if (per_state + 4 * std::ssize(key) > capacity) return;
    std::erase_if(entries, [&](const Entry& e) { return e.key == key; });
    entries.push_back({key, tag, forward, ++clock});
    while (bytes() > capacity)
      entries.erase(std::min_element(entries.begin(), entries.end(),
                                     [](const Entry& a, const Entry& b) { return a.used < b.used; }));
  }
  std::pair<std::int64_t, float> find(const std::vector<std::int32_t>& tokens, std::int64_t max_len,
                                      std::int64_t refused) {
    Entry* best = nullptr;
    for (auto& e : entries)
      if (std::ssize(e.key) <= max_len && e.forward != refused && e.key.size() <= tokens.size() &&
          std::equal(e.key.begin(), e.key.end(), tokens.begin()) && (!best || e.key.size() > best->key.size()))
        best = &e;
    if (!best) return {0, -1};
    best->used = ++clock;
    return {std::ssize(best->key), best->tag};
  }
};

TEST(ServerStateCache, MatchesBruteForceLongestPrefixAndLru) {
  const std::int64_t per_state = StateCache::cost(snapshot(1, 0), 0);
  for (std::int64_t capacity : {std::int64_t{0}, 3 * per_state, 10 * per_state, 1000 * per_state}) {
    StateCache cache(capacity);
    Oracle oracle{.entries = {}, .capacity = capacity, .clock = 0, .per_state = per_state};
    std::mt19937 rng(7);
    const auto random_key = [&] {
      std::vector<std::int32_t> k(1 + rng() % 12);
      for (auto& t : k) t = static_cast<std::int32_t>(rng() % 3);
      return k;
    };
    for (int op = 0; op < 3000; ++op) {
      const auto key = random_key();
      if (rng() % 2) {
        const float tag = static_cast<float>(op);
        const std::int64_t forward = rng() % 3;
        cache.insert(key, snapshot(std::ssize(key), tag), forward);
        oracle.insert(key, tag, forward);
      } else {
        const std::int64_t max_len = rng() % 14, refused = rng() % 4;
        const auto want = oracle.find(key, max_len, refused);
        const StateCache::Hit got =
            cache.find(key, [&](std::int64_t length, std::int64_t forward) { return length <= max_len && forward != refused; });
        ASSERT_EQ(got.length, want.first) << "op " << op << " capacity " << capacity;
        if (got.state) {
          EXPECT_EQ(got.state->conv[0][0], want.second);
          EXPECT_EQ(got.state->tokens_seen, got.length);
        }
      }
      ASSERT_EQ(cache.bytes(), oracle.bytes()) << "op " << op;
      ASSERT_EQ(cache.entries(), std::ssize(oracle.entries));
      ASSERT_LE(cache.bytes(), capacity);
    }
  }
}

TEST(ServerStateCache, ReplacesASnapshotUnderTheSameKey) {
  StateCache cache(1 << 20);
  cache.insert(std::vector<std::int32_t>{1, 2, 3}, snapshot(3, 1));
  cache.insert(std::vector<std::int32_t>{1, 2, 3}, snapshot(3, 2));
  EXPECT_EQ(cache.entries(), 1);
  const auto hit = cache.find(std::vector<std::int32_t>{1, 2, 3, 4}, [](std::int64_t, std::int64_t) { return true; });
  ASSERT_NE(hit.state, nullptr);
  EXPECT_EQ(hit.state->conv[0][0], 2);
}

TEST(ServerStateCache, RefusesASnapshotThatDoesNotMatchItsKey) {
  StateCache cache(1 << 20);
  EXPECT_THROW(cache.insert(std::vector<std::int32_t>{1, 2}, snapshot(3, 0)), Error);
  EXPECT_THROW(cache.insert(std::vector<std::int32_t>{}, snapshot(0, 0)), Error);
}

}  // namespace
}  // namespace tinymamba::server
