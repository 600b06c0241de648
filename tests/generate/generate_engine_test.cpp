// The generation engine: batch invariance (a sequence's tokens and state are bitwise the same alone or beside
// others, in any slot, joining late, with its prompt prefilled in chunks between other sequences' steps),
// sequences leaving when they stop, forks, snapshots, counts, streaming text, and errors naming fields.
#include "tinymamba/generate/engine.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <initializer_list>
#include <limits>

#include "generate_test_support.hpp"
#include "tinymamba/core/error.hpp"
#include "tinymamba/core/parallel.hpp"

namespace tinymamba {
namespace {

using test::bundled_model;
using test::bundled_tokenizer;
using test::run_to_end;
using test::same_state;

const SamplingParams kGreedy{.temperature = 0};
const SamplingParams kSampled{.temperature = 0.9f, .top_k = 40, .top_p = 0.95f, .repeat_penalty = 1.1f, .seed = 5};

std::vector<std::int32_t> encode(const std::string& text) { return bundled_tokenizer().encode(text); }

StopRule up_to(std::int64_t n) { return {.max_new_tokens = n, .eos_id = std::nullopt}; }

SamplingParams seeded(SamplingParams p, std::uint64_t seed) {
  p.seed = seed;
  return p;
}

// What a sequence ended with: its generated ids, its slot's final state, why it stopped.
struct Outcome {
  std::vector<std::int32_t> ids;
  InferenceState state;
  FinishReason finish;
};
Outcome outcome(Engine& engine, const Sequence& s) {
  return {{s.generated().begin(), s.generated().end()}, engine.pool().snapshot(s.slot()), s.finish_reason()};
}
void expect_same(const Outcome& got, const Outcome& want, const std::string& what) {
  EXPECT_EQ(got.ids, want.ids) << what;
  EXPECT_TRUE(same_state(got.state, want.state)) << what << ": the final states differ";
  EXPECT_EQ(got.finish, want.finish) << what;
}

// The sequence alone: a one-slot engine, its prompt prefilled in chunks of `chunk`.
Outcome alone(const Model& m, std::vector<std::int32_t> prompt, const SamplingParams& p, const StopRule& stop,
              std::int64_t vocab, std::int64_t chunk = 1024) {
  Engine engine(m, {.slots = 1, .prefill_chunk = chunk});
  Sequence s(std::move(prompt), p, stop, vocab);
  EXPECT_TRUE(engine.prefill(s));
  run_to_end(engine, {&s});
  return outcome(engine, s);
}

// Four prompts of different lengths and lengths of output (so the batch shrinks as they stop), run together in
// slots shifted by two taken first, against each run alone.
void check_batch_invariance(const Model& m, const std::vector<std::vector<std::int32_t>>& prompts,
                            const std::vector<std::int64_t>& lengths, const SamplingParams& params,
                            std::int64_t vocab) {
  Engine engine(m, {.slots = 6});
  (void)engine.pool().acquire();
  (void)engine.pool().acquire();
  std::vector<Sequence> seqs;
  for (std::size_t i = 0; i < prompts.size(); ++i)
    seqs.emplace_back(prompts[i], seeded(params, params.seed + i), up_to(lengths[i]), vocab);
  std::vector<Sequence*> all;
  for (Sequence& s : seqs) {
    ASSERT_TRUE(engine.prefill(s));
    all.push_back(&s);
  }
  run_to_end(engine, all);
  for (std::size_t i = 0; i < prompts.size(); ++i) {
    EXPECT_EQ(seqs[i].slot(), static_cast<std::int64_t>(i) + 2);
    EXPECT_EQ(seqs[i].generated_tokens(), lengths[i]);
    expect_same(outcome(engine, seqs[i]),
                alone(m, prompts[i], seeded(params, params.seed + i), up_to(lengths[i]), vocab),
                "prompt " + std::to_string(i));
  }
}

TEST(GenerateEngine, ASequenceIsTheSameAloneOrInABatch) {
  const std::vector<std::vector<std::int32_t>> prompts = {encode("ROMEO:"), encode("First Citizen:\nBefore we"),
                                                          encode("A"), encode("KING HENRY VI:\nO")};
  for (const SamplingParams& p : {kGreedy, kSampled}) {
    SCOPED_TRACE(p.temperature == 0 ? "greedy" : "sampled");
    check_batch_invariance(bundled_model(), prompts, {12, 30, 7, 21}, p, bundled_tokenizer().vocab_size());
  }
}

// The same on a model big enough that a step's rows are split between two threads (shorter: each step reads
// 16.6 MB, and two threads on a busy 2-core machine wait at every barrier).
TEST(GenerateEngine, ASequenceIsTheSameAloneOrInABatchOnTwoThreads) {
  const int saved = num_threads();
  set_num_threads(2);
  const std::vector<std::vector<std::int32_t>> prompts = {{5, 64000, 17}, {9}, {123, 456, 789, 1011, 1213}, {42, 42}};
  check_batch_invariance(test::team_model(), prompts, {4, 9, 2, 6}, kSampled, 65000);
  set_num_threads(saved);
}

// Independent of the engine's own bookkeeping: each greedy token is the argmax of the parallel forward's
// logits over the prompt and the tokens before it. Step and parallel differ by float32 rounding only, 1e-5 of
// max|logits| at most (recurrent_test's bound), so a token may differ only where the top two are that close.
TEST(GenerateEngine, GreedyTokensAreTheParallelForwardsArgmax) {
  const Model& m = bundled_model();
  const std::int64_t V = m.config.padded_vocab(), vocab = bundled_tokenizer().vocab_size();
  const std::vector<std::int32_t> prompt = encode("JULIET:\nO Romeo");
  const Outcome got = alone(m, prompt, kGreedy, up_to(40), vocab);
  std::vector<std::int32_t> all = prompt;
  all.insert(all.end(), got.ids.begin(), got.ids.end() - 1);
  Activations acts;
  lm_forward(m, all, 1, std::ssize(all), acts, {});
  for (std::size_t t = 0; t < got.ids.size(); ++t) {
    const float* row = acts.logits.data() + (prompt.size() - 1 + t) * V;
    const auto best = std::max_element(row, row + vocab) - row;
    const float scale = std::abs(*std::max_element(row, row + vocab, [](float a, float b) {
      return std::abs(a) < std::abs(b);
    }));
    if (best != got.ids[t]) {
      EXPECT_LE(row[best] - row[got.ids[t]], 1e-5f * scale) << "token " << t << ": got " << got.ids[t] << ", argmax "
                                                             << best;
    }
  }
}

// B's prompt goes in 3 tokens at a time between A's steps, then B joins A's steps: each ends exactly as alone
// (B alone with the same 3-token chunks: the chunks, not the neighbours, decide its prefill's rounding).
TEST(GenerateEngine, ALateJoinerPrefilledInChunksChangesNoOne) {
  const Model& m = bundled_model();
  const std::int64_t vocab = bundled_tokenizer().vocab_size();
  const std::vector<std::int32_t> pa = encode("ROMEO:"), pb = encode("Second Servingman:\nWhat");
  Engine engine(m, {.slots = 2});
  Sequence a(pa, seeded(kSampled, 1), up_to(25), vocab);
  Sequence b(pb, seeded(kSampled, 2), up_to(20), vocab);
  ASSERT_TRUE(engine.prefill(a));
  std::vector<Sequence*> running = {&a};
  while (!engine.prefill(b, 3)) {
    EXPECT_EQ(engine.step(running).size(), 1u);
    EXPECT_FALSE(b.ready());
  }
  EXPECT_EQ(b.prefilled(), b.prompt_tokens());
  running.push_back(&b);
  run_to_end(engine, running);
  expect_same(outcome(engine, a), alone(m, pa, seeded(kSampled, 1), up_to(25), vocab), "A");
  expect_same(outcome(engine, b), alone(m, pb, seeded(kSampled, 2), up_to(20), vocab, 3), "B");
}

// C and D absorb their prompts one token per step as rows of A's steps (Engine::step's `absorbing`; D without a
// slot until its first such step, C after a forward over its first 2 tokens), then join A's steps: each ends
// exactly as alone with the same prefill by steps of its own (PrefillBy::step) — the rows of a step are
// computed alone. E (max_new_tokens 0) finishes when its prompt is in, as after prefill.
TEST(GenerateEngine, APromptAbsorbedAsRowsOfOthersStepsIsItsPrefillBySteps) {
  const Model& m = bundled_model();
  const std::int64_t vocab = bundled_tokenizer().vocab_size();
  const std::vector<std::int32_t> pa = encode("ROMEO:"), pc = encode("Second Servingman:\nWhat"),
                                  pd = encode("KING HENRY VI:\nO"), pe = encode("Ay");
  const auto by_steps = [&](const std::vector<std::int32_t>& prompt, std::uint64_t seed, std::int64_t n,
                            std::int64_t forward_first) {
    Engine engine(m, {.slots = 1});
    Sequence s(prompt, seeded(kSampled, seed), up_to(n), vocab);
    if (forward_first > 0) {
      EXPECT_FALSE(engine.prefill(s, forward_first));
    }
    EXPECT_TRUE(engine.prefill(s, std::numeric_limits<std::int64_t>::max(), PrefillBy::step));
    run_to_end(engine, {&s});
    return outcome(engine, s);
  };
  Engine engine(m, {.slots = 4});
  Sequence a(pa, seeded(kSampled, 1), up_to(40), vocab), c(pc, seeded(kSampled, 3), up_to(20), vocab),
      d(pd, seeded(kSampled, 4), up_to(15), vocab), e(pe, kGreedy, up_to(0), vocab);
  ASSERT_TRUE(engine.prefill(a));
  ASSERT_FALSE(engine.prefill(c, 2));
  std::vector<Sequence*> running = {&a}, absorbing = {&c, &d, &e};
  while (!absorbing.empty()) {
    const std::int64_t a_before = a.generated_tokens();
    EXPECT_EQ(engine.step(running, absorbing).size(), running.size());
    EXPECT_EQ(a.generated_tokens(), a_before + 1);
    std::erase_if(absorbing, [&](Sequence* s) {
      if (s->ready()) running.push_back(s);
      return s->prefilled() == s->prompt_tokens();
    });
  }
  EXPECT_TRUE(e.finished());
  EXPECT_EQ(e.finish_reason(), FinishReason::length);
  EXPECT_EQ(e.generated_tokens(), 0);
  run_to_end(engine, running);
  expect_same(outcome(engine, a), alone(m, pa, seeded(kSampled, 1), up_to(40), vocab), "A");
  expect_same(outcome(engine, c), by_steps(pc, 3, 20, 2), "C");
  expect_same(outcome(engine, d), by_steps(pd, 4, 15, 0), "D");
}

// A sequence that stops takes no further step, not even in the step that samples its last token: its state
// stays bitwise as it was before that step while the others go on, it holds every token but its last, and
// stepping it is an error.
TEST(GenerateEngine, AStoppedSequenceLeavesAndDoesNotStep) {
  const Model& m = bundled_model();
  const std::int64_t vocab = bundled_tokenizer().vocab_size();
  Engine engine(m, {.slots = 2});
  Sequence a(encode("ROMEO:"), kGreedy, up_to(3), vocab);
  Sequence b(encode("JULIET:"), kGreedy, up_to(12), vocab);
  ASSERT_TRUE(engine.prefill(a));
  ASSERT_TRUE(engine.prefill(b));
  std::vector<Sequence*> both = {&a, &b};
  InferenceState a_at_stop;
  for (int i = 0; i < 3; ++i) {
    if (i == 2) a_at_stop = engine.pool().snapshot(a.slot());
    const std::vector<StepToken> out = engine.step(both);
    ASSERT_EQ(out.size(), 2u);
    EXPECT_EQ(out[0].id, a.generated().back());
    EXPECT_EQ(out[0].finish, i == 2 ? FinishReason::length : FinishReason::none);
    EXPECT_EQ(out[1].finish, FinishReason::none);
  }
  ASSERT_TRUE(a.finished());
  EXPECT_TRUE(same_state(engine.pool().snapshot(a.slot()), a_at_stop));
  EXPECT_EQ(a_at_stop.tokens_seen, a.prompt_tokens() + 2);
  const std::string err = [&] {
    try {
      (void)engine.step(both);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  }();
  EXPECT_EQ(err, "seqs[0] has finished (length)");
  EXPECT_EQ(b.generated_tokens(), 3) << "a refused step changes nothing";
  run_to_end(engine, {&b});
  EXPECT_EQ(b.generated_tokens(), 12);
  EXPECT_EQ(engine.pool().tokens_seen(b.slot()), b.prompt_tokens() + 11);
  EXPECT_TRUE(same_state(engine.pool().snapshot(a.slot()), a_at_stop));
}

// EOS ends a sequence with "stop" (the EOS kept), max_new_tokens with "length"; max_new_tokens 0 finishes at
// the prefill. Counts: prompt and generated tokens.
TEST(GenerateEngine, FinishReasonsAndCounts) {
  const Model& m = bundled_model();
  const std::int64_t vocab = bundled_tokenizer().vocab_size();
  const std::vector<std::int32_t> prompt = encode("MENENIUS:\n");
  const Outcome free_run = alone(m, prompt, kGreedy, up_to(30), vocab);
  ASSERT_EQ(free_run.ids.size(), 30u);
  EXPECT_EQ(free_run.finish, FinishReason::length);
  // EOS: the token greedy decoding produced 6th; it stops at that token's first appearance
  const std::int32_t eos = free_run.ids[5];
  const auto first = std::find(free_run.ids.begin(), free_run.ids.end(), eos) - free_run.ids.begin();
  Engine engine(m, {.slots = 2});
  Sequence s(prompt, kGreedy, {.max_new_tokens = 30, .eos_id = eos}, vocab);
  ASSERT_TRUE(engine.prefill(s));
  run_to_end(engine, {&s});
  EXPECT_EQ(s.finish_reason(), FinishReason::stop);
  EXPECT_EQ(finish_reason_name(s.finish_reason()), "stop");
  EXPECT_EQ(finish_reason_name(FinishReason::length), "length");
  EXPECT_EQ(s.generated_tokens(), first + 1);
  EXPECT_EQ(std::vector<std::int32_t>(s.generated().begin(), s.generated().end()),
            std::vector<std::int32_t>(free_run.ids.begin(), free_run.ids.begin() + first + 1));
  EXPECT_EQ(s.prompt_tokens(), std::ssize(prompt));
  EXPECT_EQ(std::ssize(s.tokens()), s.prompt_tokens() + s.generated_tokens());

  Sequence none(prompt, kGreedy, up_to(0), vocab);
  EXPECT_FALSE(engine.prefill(none));
  EXPECT_EQ(none.finish_reason(), FinishReason::length);
  EXPECT_EQ(none.generated_tokens(), 0);
  EXPECT_EQ(engine.pool().tokens_seen(none.slot()), none.prompt_tokens());  // its prompt's state, to snapshot
  engine.release(none);
  engine.release(s);
  EXPECT_EQ(engine.pool().in_use(), 0);
  EXPECT_EQ(s.slot(), -1);
}

// Forks taken after 4 tokens continue exactly as the original: one stepping beside it, one stepping after it
// has finished, on its own.
TEST(GenerateEngine, AForkContinuesExactlyAsTheOriginal) {
  const Model& m = bundled_model();
  const std::int64_t vocab = bundled_tokenizer().vocab_size();
  Engine engine(m, {.slots = 3});
  Sequence s(encode("GLOUCESTER:\n"), kSampled, up_to(24), vocab);
  ASSERT_TRUE(engine.prefill(s));
  std::vector<Sequence*> one = {&s};
  for (int i = 0; i < 4; ++i) (void)engine.step(one);
  Sequence beside = engine.fork(s), later = engine.fork(s);
  EXPECT_NE(beside.slot(), s.slot());
  EXPECT_NE(later.slot(), beside.slot());
  EXPECT_EQ(beside.generated_tokens(), 4);
  run_to_end(engine, {&s, &beside});
  run_to_end(engine, {&later});
  const Outcome want = outcome(engine, s);
  EXPECT_EQ(want.ids.size(), 24u);
  expect_same(outcome(engine, beside), want, "the fork stepped beside it");
  expect_same(outcome(engine, later), want, "the fork stepped after it");
}

// A snapshot of a state that absorbed the prompt's first 8 tokens, resumed by another sequence, gives what
// prefilling the same pieces in one sequence gives.
TEST(GenerateEngine, ResumingFromASnapshotEqualsPrefillingThePrefix) {
  const Model& m = bundled_model();
  const std::int64_t vocab = bundled_tokenizer().vocab_size();
  const std::vector<std::int32_t> prompt = encode("BRUTUS:\nRomans, countrymen");
  Engine engine(m, {.slots = 2});
  Sequence whole(prompt, kSampled, up_to(15), vocab);
  EXPECT_FALSE(engine.prefill(whole, 8));
  const InferenceState snapshot = engine.pool().snapshot(whole.slot());
  EXPECT_EQ(snapshot.tokens_seen, 8);
  ASSERT_TRUE(engine.prefill(whole));
  run_to_end(engine, {&whole});

  Sequence resumed(prompt, kSampled, up_to(15), vocab);
  engine.resume(resumed, snapshot);
  EXPECT_EQ(resumed.prefilled(), 8);
  ASSERT_TRUE(engine.prefill(resumed));
  run_to_end(engine, {&resumed});
  expect_same(outcome(engine, resumed), outcome(engine, whole), "resumed");
}

// A sequence prefilled `piece` tokens per call, for each piece, and sequences resumed from a snapshot taken after
// `at` tokens (reached `step` tokens per call), for each at, all generate `want` bit for bit.
void expect_same_however_cut(Engine& engine, const std::vector<std::int32_t>& prompt, std::int64_t vocab, PrefillBy by,
                             std::initializer_list<std::int64_t> pieces, std::initializer_list<std::int64_t> resume_at,
                             std::int64_t step, const Outcome& want) {
  for (const std::int64_t piece : pieces) {
    Sequence s(prompt, kSampled, up_to(12), vocab);
    while (!engine.prefill(s, piece, by)) {
    }
    run_to_end(engine, {&s});
    expect_same(outcome(engine, s), want, "pieces of " + std::to_string(piece));
    engine.release(s);
  }
  for (const std::int64_t at : resume_at) {
    Sequence first(prompt, kSampled, up_to(12), vocab);
    while (first.prefilled() < at) EXPECT_FALSE(engine.prefill(first, std::min(step, at - first.prefilled()), by));
    ASSERT_EQ(first.prefilled(), at);
    const InferenceState snapshot = engine.pool().snapshot(first.slot());
    engine.release(first);
    Sequence resumed(prompt, kSampled, up_to(12), vocab);
    engine.resume(resumed, snapshot);
    ASSERT_TRUE(engine.prefill(resumed, std::ssize(prompt), by));
    run_to_end(engine, {&resumed});
    expect_same(outcome(engine, resumed), want, "resumed at " + std::to_string(at));
    engine.release(resumed);
  }
}

// Prefilled by steps, a prompt's state is the same however it is cut (unlike the parallel forward's): a sequence
// prefilled whole, in pieces of 1 and 5, or resumed from a snapshot at any token and prefilled from there
// generates the same tokens and ends in the same state, bit for bit; and its state after the prompt is the one
// of lm_step run token by token (the decode's arithmetic, which batch invariance already pins down).
TEST(GenerateEngine, StepPrefillIsTheSameHoweverThePromptIsCut) {
  const Model& m = bundled_model();
  const std::int64_t vocab = bundled_tokenizer().vocab_size();
  const std::vector<std::int32_t> prompt = encode("BRUTUS:\nRomans, countrymen, and lovers!");
  const auto P = std::ssize(prompt);
  Engine engine(m, {.slots = 2});
  const auto by = PrefillBy::step;
  Sequence whole(prompt, kSampled, up_to(12), vocab);
  ASSERT_TRUE(engine.prefill(whole, P, by));
  {
    InferenceState stepped(m.config, 1);
    StepActivations acts;
    for (std::int64_t t = 0; t < P; ++t) lm_step(m, std::span(prompt).subspan(t, 1), stepped, acts);
    stepped.tokens_seen = P;
    EXPECT_TRUE(same_state(engine.pool().snapshot(whole.slot()), stepped));
  }
  run_to_end(engine, {&whole});
  const Outcome want = outcome(engine, whole);
  engine.release(whole);
  expect_same_however_cut(engine, prompt, vocab, by, {1, 5}, {1, 7, P - 1}, P, want);
}

// The aligned schedule (PrefillBy::aligned, chunk 8 here so that a 47-token prompt has chunks and a tail): its state
// after the prompt is, bit for bit, that of the forward over the aligned chunks [0, 8), …, [32, 40) followed by
// lm_step for tokens 40..46, composed here from lm_forward and lm_step directly; it does not depend on how the
// calls cut the prompt (max_tokens 1, 3 or all: a chunk is never split); and a sequence resumed from a snapshot at a
// chunk end, or in the step tail at any token, continues to the same tokens. A resume inside the chunks, off a
// chunk end, is an error: its state could not match.
TEST(GenerateEngine, AlignedPrefillIsChunksThenStepsHoweverCalled) {
  const Model& m = bundled_model();
  const std::int64_t vocab = bundled_tokenizer().vocab_size(), chunk = 8;
  const std::vector<std::int32_t> prompt = encode("BRUTUS:\nRomans, countrymen, and lovers! hear me");
  const auto P = std::ssize(prompt);
  ASSERT_EQ(aligned_forward_end(P, chunk), 40) << "the prompt should have 41..48 tokens, it has " << P;
  Engine engine(m, {.slots = 2, .prefill_chunk = chunk});
  const auto by = PrefillBy::aligned;
  Sequence whole(prompt, kSampled, up_to(12), vocab);
  ASSERT_TRUE(engine.prefill(whole, P, by));
  {
    InferenceState composed(m.config, 1);
    Activations fwd;
    for (std::int64_t t = 0; t < 40; t += chunk)
      lm_forward(m, std::span(prompt).subspan(t, chunk), 1, chunk, fwd, {.last_logits_only = true}, &composed);
    StepActivations acts;
    for (std::int64_t t = 40; t < P; ++t) lm_step(m, std::span(prompt).subspan(t, 1), composed, acts);
    composed.tokens_seen = P;
    EXPECT_TRUE(same_state(engine.pool().snapshot(whole.slot()), composed));
  }
  run_to_end(engine, {&whole});
  const Outcome want = outcome(engine, whole);
  engine.release(whole);
  expect_same_however_cut(engine, prompt, vocab, by, {1, 3}, {16, 40, 43}, chunk, want);
  Sequence off(prompt, kSampled, up_to(12), vocab);
  EXPECT_FALSE(engine.prefill(off, 5, PrefillBy::step));
  EXPECT_THROW((void)engine.prefill(off, P, by), Error);
}

// With a detokenizer, the texts the steps return are, joined, the decoded generated ids (a byte-level model
// may end a step inside a UTF-8 character: the decoder holds it back and the finish flushes it).
TEST(GenerateEngine, StreamedTextIsTheDecodedTokens) {
  const Tokenizer& tok = bundled_tokenizer();
  Engine engine(bundled_model(), {.slots = 1});
  Sequence s(encode("é"), seeded(kSampled, 9), up_to(40), tok.vocab_size(), &tok);
  ASSERT_TRUE(engine.prefill(s));
  std::string text;
  std::vector<Sequence*> one = {&s};
  while (!s.finished())
    for (const StepToken& t : engine.step(one)) text += t.text;
  EXPECT_EQ(text, tok.decode(s.generated()));
}

TEST(GenerateEngine, BadArgumentsAreErrorsNamingTheField) {
  const Model& m = bundled_model();
  const std::int64_t vocab = bundled_tokenizer().vocab_size();
  auto message = [](auto&& f) {
    try {
      f();
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  const StopRule stop = up_to(5);
  EXPECT_EQ(message([&] { Sequence({}, kGreedy, stop, vocab); }),
            "prompt: no token ids (a sequence starts from at least one)");
  EXPECT_EQ(message([&] { Sequence({1, 256}, kGreedy, stop, vocab); }),
            "prompt: token id 256 at position 1 is outside the vocabulary [0, 256)");
  EXPECT_EQ(message([&] { Sequence({1}, {.top_k = -1}, stop, vocab); }), "top_k must be >= 0 (0 = off), got -1");
  EXPECT_EQ(message([&] { Sequence({1}, kGreedy, up_to(-2), vocab); }),
            "max_new_tokens must be >= 0, got -2");
  EXPECT_EQ(message([&] { Sequence({1}, kGreedy, {.max_new_tokens = 2, .eos_id = 300}, vocab); }),
            "eos_id must be in [0, 256), got 300");
  EXPECT_EQ(message([&] { Sequence({1}, kGreedy, stop, 300, &bundled_tokenizer()); }),
            "vocab_size 300 exceeds the detokenizer's 256 ids");
  EXPECT_EQ(message([&] { Engine(m, {.slots = 0}); }), "slots must be >= 1, got 0");
  EXPECT_EQ(message([&] { Engine(m, {.prefill_chunk = 0}); }), "prefill_chunk must be >= 1, got 0");

  Engine engine(m, {.slots = 2});
  Sequence too_wide({1}, kGreedy, stop, m.config.padded_vocab() + 1);
  EXPECT_EQ(message([&] { (void)engine.prefill(too_wide); }),
            "vocab_size " + std::to_string(m.config.padded_vocab() + 1) + " exceeds the model's vocabulary of " +
                std::to_string(m.config.padded_vocab()));
  Sequence a({1, 2, 3}, kGreedy, stop, vocab), b({4, 5, 6}, kGreedy, stop, vocab), c({7}, kGreedy, stop, vocab);
  EXPECT_EQ(message([&] { (void)engine.prefill(a, 0); }), "max_tokens must be >= 1, got 0");
  std::vector<Sequence*> seqs = {&a};
  EXPECT_EQ(message([&] { (void)engine.step(seqs); }),
            "seqs[0] holds no state: not prefilled yet, or released");
  EXPECT_FALSE(engine.prefill(a, 2));
  EXPECT_EQ(message([&] { (void)engine.step(seqs); }), "seqs[0] is not prefilled: 2 of its 3 prompt tokens are in");
  EXPECT_TRUE(engine.prefill(a));
  EXPECT_EQ(message([&] { (void)engine.prefill(a); }), "prefill: all 3 prompt tokens are in already");
  ASSERT_TRUE(engine.prefill(b));
  EXPECT_EQ(message([&] { (void)engine.prefill(c); }), "state pool: all 2 slots are in use");
  seqs = {&a, &b, &a};
  EXPECT_EQ(message([&] { (void)engine.step(seqs); }), "seqs[0] and seqs[2] are the same sequence");
  seqs = {&a, nullptr};
  EXPECT_EQ(message([&] { (void)engine.step(seqs); }), "seqs[1] is null");
  std::vector<Sequence*> absorbing = {&c};
  EXPECT_EQ(message([&] { (void)engine.step({}, absorbing); }), "state pool: all 2 slots are in use");
  seqs = {&a};
  absorbing = {&b};
  EXPECT_EQ(message([&] { (void)engine.step(seqs, absorbing); }),
            "absorbing[0]: all 3 prompt tokens are in already");
  EXPECT_EQ(a.generated_tokens(), 0) << "refused steps change nothing";

  Engine other(m, {.slots = 1});
  seqs = {&a};
  EXPECT_EQ(message([&] { (void)other.step(seqs); }), "seqs[0] holds a slot of another engine");
  EXPECT_EQ(message([&] { engine.resume(a, engine.pool().snapshot(a.slot())); }),
            "resume: the sequence has started already (it holds or held a state)");
  InferenceState full(m.config, 1);
  full.tokens_seen = 1;
  EXPECT_EQ(message([&] { other.resume(c, full); }),
            "resume: the snapshot's 1 tokens must be fewer than the prompt's 1 (the last prompt token is run to give "
            "the first logits)");
  engine.release(a);
  EXPECT_EQ(message([&] { (void)engine.prefill(a); }), "prefill: the sequence was released");
}

}  // namespace
}  // namespace tinymamba
