// StatePool (acquire, release, copy, snapshot) and lm_step over a subset of its slots.
#include "tinymamba/generate/state_pool.hpp"

#include <gtest/gtest.h>

#include "generate_test_support.hpp"
#include "small_models.hpp"
#include "tinymamba/core/error.hpp"
#include "tinymamba/model/lm_step.hpp"

namespace tinymamba {
namespace {

using test::same_state;

Model small_model() {
  return test::initialized_model(test::small_config({.d_model = 16, .n_layer = 2, .vocab_size = 30, .d_state = 4}), 21);
}

// The message of the Error `f` throws ("no error" if none).
template <class F>
std::string message(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

// A one-sequence state after `len` tokens of a sequence chosen by `seed` (a prefill by the parallel forward).
InferenceState prefilled(const Model& m, std::int32_t seed, std::int64_t len) {
  std::vector<std::int32_t> ids(static_cast<std::size_t>(len));
  for (std::int64_t t = 0; t < len; ++t) ids[t] = static_cast<std::int32_t>((seed * 7 + t * 11) % 30);
  InferenceState one(m.config, 1);
  Activations acts;
  lm_forward(m, ids, 1, len, acts, {.last_logits_only = true}, &one);
  return one;
}

TEST(GenerateStatePool, AcquireReleaseCopyAndSnapshot) {
  const Model m = small_model();
  StatePool pool(m.config, 3);
  EXPECT_EQ(pool.capacity(), 3);
  EXPECT_EQ(pool.acquire(), 0);
  EXPECT_EQ(pool.acquire(), 1);
  EXPECT_EQ(pool.acquire(), 2);
  EXPECT_EQ(pool.in_use(), 3);
  EXPECT_EQ(message([&] { (void)pool.acquire(); }), "state pool: all 3 slots are in use");

  const InferenceState a = prefilled(m, 1, 5), b = prefilled(m, 2, 7);
  ASSERT_FALSE(same_state(a, b));
  pool.copy_in(1, a);
  pool.copy_in(2, b);
  EXPECT_TRUE(same_state(pool.snapshot(1), a));
  EXPECT_TRUE(same_state(pool.snapshot(2), b));
  EXPECT_EQ(pool.tokens_seen(1), 5);

  pool.copy(1, 2);  // a fork: slot 2 now holds a, slot 1 still does
  EXPECT_TRUE(same_state(pool.snapshot(2), a));
  EXPECT_TRUE(same_state(pool.snapshot(1), a));

  pool.release(1);  // a released slot comes back zeroed, with no tokens
  EXPECT_EQ(pool.in_use(), 2);
  EXPECT_EQ(pool.acquire(), 1);
  EXPECT_TRUE(same_state(pool.snapshot(1), InferenceState(m.config, 1)));
  EXPECT_EQ(pool.tokens_seen(1), 0);

  pool.release(0);
  EXPECT_EQ(message([&] { pool.release(0); }), "slot = 0 is not in use (never acquired, or released)");
  EXPECT_EQ(message([&] { (void)pool.snapshot(3); }), "slot = 3 is outside the pool's 3 slots");
  EXPECT_EQ(message([&] { pool.copy(0, 2); }), "from = 0 is not in use (never acquired, or released)");
  EXPECT_EQ(message([&] { pool.copy(2, -1); }), "to = -1 is outside the pool's 3 slots");
  EXPECT_NE(message([&] { pool.copy_in(2, InferenceState(m.config, 2)); }).find("snapshot: a state of batch 2"),
            std::string::npos);
  Config other = m.config;
  other.d_state = 8;
  EXPECT_NE(message([&] { pool.copy_in(2, InferenceState(other, 1)); }).find("does not fit this pool's slots"),
            std::string::npos);
  EXPECT_EQ(message([] { StatePool(small_model().config, 0); }), "capacity must be >= 1, got 0");
}

// Row b of a step on slots continues slot slots[b]: the same logits and states, bitwise, as a step of the
// same sequences held in rows 0..b-1; a slot not named stays as it was.
TEST(GenerateStatePool, LmStepOnSlotsEqualsLmStepOnRows) {
  const Model m = small_model();
  const std::int64_t V = m.config.padded_vocab();
  const std::vector<InferenceState> seqs = {prefilled(m, 1, 3), prefilled(m, 2, 6), prefilled(m, 3, 4)};
  const std::vector<std::int32_t> ids = {4, 17, 29};

  InferenceState rows(m.config, 3);  // the sequences in rows 0, 1, 2
  for (std::int64_t r = 0; r < 3; ++r)
    for (std::size_t i = 0; i < rows.conv.size(); ++i) {
      std::copy(seqs[r].conv[i].begin(), seqs[r].conv[i].end(), rows.conv[i].begin() + r * seqs[r].conv[i].size());
      std::copy(seqs[r].ssm[i].begin(), seqs[r].ssm[i].end(), rows.ssm[i].begin() + r * seqs[r].ssm[i].size());
    }
  StepActivations row_acts;
  lm_step(m, ids, rows, row_acts);

  StatePool pool(m.config, 5);
  for (int k = 0; k < 5; ++k) (void)pool.acquire();
  const std::vector<std::int64_t> slots = {3, 0, 4};
  for (std::int64_t r = 0; r < 3; ++r) pool.copy_in(slots[r], seqs[r]);
  pool.copy_in(1, prefilled(m, 4, 2));
  const InferenceState untouched = pool.snapshot(1);
  StepActivations slot_acts;
  lm_step(m, ids, pool.states(), slot_acts, slots);

  EXPECT_TRUE(std::equal(row_acts.logits.begin(), row_acts.logits.begin() + 3 * V, slot_acts.logits.begin()));
  for (std::int64_t r = 0; r < 3; ++r) {
    InferenceState want = seqs[r];
    for (std::size_t i = 0; i < want.conv.size(); ++i) {
      std::copy_n(rows.conv[i].begin() + r * want.conv[i].size(), want.conv[i].size(), want.conv[i].begin());
      std::copy_n(rows.ssm[i].begin() + r * want.ssm[i].size(), want.ssm[i].size(), want.ssm[i].begin());
    }
    EXPECT_TRUE(same_state(pool.snapshot(slots[r]), want)) << "row " << r << ", slot " << slots[r];
  }
  EXPECT_TRUE(same_state(pool.snapshot(1), untouched));

  const std::vector<std::int32_t> two = {1, 2};
  const std::vector<std::int64_t> one_slot = {0}, out_of_range = {0, 5}, twice = {2, 2};
  EXPECT_EQ(message([&] { lm_step(m, two, pool.states(), slot_acts, one_slot); }),
            "slots: 1 slots for a step of 2 tokens");
  EXPECT_EQ(message([&] { lm_step(m, two, pool.states(), slot_acts, out_of_range); }),
            "slots[1] = 5 is outside the state's 5 slots");
  EXPECT_EQ(message([&] { lm_step(m, two, pool.states(), slot_acts, twice); }),
            "slots[0] and slots[1] are both slot 2");
}

}  // namespace
}  // namespace tinymamba
