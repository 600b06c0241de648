// Recurrent (step) mode against the parallel forward: every token by step, prefill + step, chunked prefill,
// and the state's contents after a prefill (official facts 6 and 7 in ../shared/reference/official-mamba.md §10).
#include "tinymamba/model/lm_step.hpp"

#include <gtest/gtest.h>

#include "fd.hpp"
#include "small_models.hpp"
#include "tinymamba/core/error.hpp"
#include "tinymamba/core/parallel.hpp"
#include "tinymamba/model/init.hpp"

namespace tinymamba {
namespace {

Model random_model() {
  return test::initialized_model(test::small_config({.d_model = 16, .n_layer = 2, .vocab_size = 30, .d_state = 4}), 11);
}

// Step and parallel compute the same function in another order: float32 rounding only. The goldens show the
// official code's own step-vs-parallel gap at 2.4e-7..4.0e-7 of max|logits|; 1e-5 (the README's suggested
// check) leaves room for our different summation order.
constexpr double kTol = 1e-5;

TEST(Recurrent, StepByStepAndPrefillPlusStepEqualTheParallelForward) {
  const Model m = random_model();
  const std::int64_t B = 2, L = 9;
  std::vector<std::int32_t> ids(B * L);
  for (std::int64_t i = 0; i < B * L; ++i) ids[i] = static_cast<std::int32_t>((i * 7 + 3) % 30);
  Activations acts;
  lm_forward(m, ids, B, L, acts, {});
  const std::vector<float> parallel(acts.logits.begin(), acts.logits.end());
  for (std::int64_t prefill : {0, 1, 2, 5, 9}) {
    InferenceState state(m.config, B);
    const Buffer<float> logits = lm_forward_recurrent(m, ids, B, L, prefill, state);
    EXPECT_LE(test::max_rel_error(logits, parallel), kTol) << "prefill " << prefill;
    EXPECT_EQ(state.tokens_seen, L);
  }
}

// A model whose parameters are frozen (its large matrices used in place, as the loaders make it) precomputes
// A = −exp(A_log) once (Model::decay_rates_), where an owned model's step computes it at every step: the same
// operations on the same values, so the two give bitwise the same logits and states. A made before the model's
// float32 tensors were filled (A = −exp(0) = −1) changes the logits at the first step.
TEST(Recurrent, AFrozenModelsPrecomputedDecayGivesTheOwnedModelsStep) {
  const Model owned = random_model();
  std::vector<Model::InPlaceMatrix> in_place;
  for (const ParamInfo& p : owned.layout)
    if (is_large_matrix(p))
      in_place.push_back({p.name, WeightMatrix::f32(owned.params.data() + p.offset, p.shape[0], p.shape[1]), nullptr});
  Model frozen(owned.config, std::move(in_place), WeightType::f32, [&](const ParamInfo& p, float* values) {
    std::copy_n(owned.params.data() + p.offset, p.numel, values);
  });
  ASSERT_EQ(std::as_const(owned).weights().mamba1[1].A, nullptr);
  ASSERT_NE(std::as_const(frozen).weights().mamba1[1].A, nullptr);
  const std::int64_t B = 2, L = 5;
  std::vector<std::int32_t> ids(B * L);
  for (std::int64_t i = 0; i < B * L; ++i) ids[i] = static_cast<std::int32_t>((i * 11 + 2) % 30);
  const auto run = [&](const Model& m) {
    InferenceState state(m.config, B);
    const Buffer<float> logits = lm_forward_recurrent(m, ids, B, L, 0, state);
    std::vector<float> out(logits.begin(), logits.end());
    for (const auto& h : state.ssm) out.insert(out.end(), h.begin(), h.end());
    return out;
  };
  const std::vector<float> want = run(owned);
  EXPECT_EQ(run(frozen), want);
  const Model copy = frozen;  // a copy binds its own A
  EXPECT_NE(std::as_const(copy).weights().mamba1[1].A, std::as_const(frozen).weights().mamba1[1].A);
  EXPECT_EQ(run(copy), want);
  frozen.make_owned();  // writable again: A is computed per step from then on
  EXPECT_EQ(std::as_const(frozen).weights().mamba1[1].A, nullptr);
  EXPECT_EQ(run(frozen), want);
}

// A model big enough (17 MB of weights) that a step runs as a team of threads: with 1, 2 and 3 threads the step
// gives bitwise the same logits and state (every output is computed whole by one thread, in the same order,
// whichever thread claims it), and matches the parallel forward.
TEST(Recurrent, StepOnSeveralThreadsIsDeterministicAndEqualsTheParallelForward) {
  Config c;
  c.d_model = 64;
  c.n_layer = 2;
  c.vocab_size = 65000;  // the embedding makes the weights 16.6 MB: over the one-thread threshold
  c.d_state = 16;
  c.resolve("test");
  Model m(c);
  init_parameters(m, 12);
  ASSERT_GE(m.params.size() * sizeof(float), 16e6);
  const std::int64_t B = 2, L = 4;
  std::vector<std::int32_t> ids(B * L);
  for (std::int64_t i = 0; i < B * L; ++i) ids[i] = static_cast<std::int32_t>((i * 7919 + 3) % c.vocab_size);
  Activations acts;
  lm_forward(m, ids, B, L, acts, {});
  const std::vector<float> parallel(acts.logits.begin(), acts.logits.end());
  const int saved = num_threads();
  std::vector<std::vector<float>> runs;
  for (const int threads : {1, 2, 3}) {
    set_num_threads(threads);
    InferenceState state(m.config, B);
    const Buffer<float> logits = lm_forward_recurrent(m, ids, B, L, 1, state);
    EXPECT_LE(test::max_rel_error(logits, parallel), kTol) << threads << " threads";
    runs.emplace_back(logits.begin(), logits.end());
    runs.back().insert(runs.back().end(), state.ssm[1].begin(), state.ssm[1].end());
  }
  set_num_threads(saved);
  EXPECT_EQ(runs[1], runs[0]);
  EXPECT_EQ(runs[2], runs[0]);
}

TEST(Recurrent, ChunkedPrefillCarriesTheState) {
  const Model m = random_model();
  const std::int64_t L = 12, V = m.config.padded_vocab();
  std::vector<std::int32_t> ids(L);
  for (std::int64_t i = 0; i < L; ++i) ids[i] = static_cast<std::int32_t>((i * 5 + 1) % 30);
  Activations whole, piece;
  InferenceState s_whole(m.config, 1), s_pieces(m.config, 1);
  lm_forward(m, ids, 1, L, whole, {}, &s_whole);
  std::vector<float> pieces;
  for (std::int64_t start : {0, 2, 3, 7}) {  // pieces of 2, 1, 4 and 5 tokens (some shorter than d_conv)
    const std::int64_t end = start == 7 ? L : (start == 0 ? 2 : start == 2 ? 3 : 7);
    const std::span<const std::int32_t> part(ids.data() + start, end - start);
    lm_forward(m, part, 1, end - start, piece, {}, &s_pieces);
    pieces.insert(pieces.end(), piece.logits.begin(), piece.logits.end());
  }
  EXPECT_EQ(static_cast<std::int64_t>(pieces.size()), L * V);
  EXPECT_LE(test::max_rel_error(pieces, whole.logits), kTol);
  for (std::int64_t i = 0; i < m.config.n_layer; ++i) {
    EXPECT_LE(test::max_rel_error(s_pieces.ssm[i], s_whole.ssm[i]), kTol);
    EXPECT_LE(test::max_rel_error(s_pieces.conv[i], s_whole.conv[i]), kTol);
  }
}

// After a prefill shorter than d_conv, the conv state is the prompt's pre-conv inputs left-padded with zeros.
TEST(Recurrent, ShortPrefillLeavesAZeroPaddedConvState) {
  const Model m = random_model();
  const Config& c = m.config;
  const std::vector<std::int32_t> ids = {3, 8};
  InferenceState state(c, 1);
  Activations acts;
  lm_forward(m, ids, 1, 2, acts, {}, &state);
  for (std::int64_t e = 0; e < c.d_inner; ++e) {
    EXPECT_EQ(state.conv[0][e * c.d_conv + 0], 0.0f);
    EXPECT_EQ(state.conv[0][e * c.d_conv + 1], 0.0f);
  }
  // The last entry is the last token's x (the x half of in_proj's output).
  for (std::int64_t e = 0; e < c.d_inner; ++e)
    EXPECT_EQ(state.conv[1][e * c.d_conv + c.d_conv - 1], acts.mamba1[0].xz[1 * 2 * c.d_inner + e]);
}

// A step checks what it is given before touching the state: one id per sequence of the state, ids in the
// vocabulary; each a one-line Error, and the state is left as it was.
TEST(Recurrent, StepRejectsBadIdsAndAMismatchedBatch) {
  const Model m = random_model();
  InferenceState state(m.config, 2);
  StepActivations step;
  const auto expect_error = [&](std::vector<std::int32_t> ids, const std::string& part) {
    try {
      lm_step(m, ids, state, step);
      ADD_FAILURE() << "no error for " << part;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
      EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();
    }
  };
  expect_error({1}, "inference state holds 2 sequences, the step 1 tokens");
  const auto V = static_cast<std::int32_t>(m.config.padded_vocab());
  expect_error({1, V}, "token id " + std::to_string(V) + " at position 1 is outside");
  expect_error({-1, 1}, "token id -1 at position 0 is outside");
  EXPECT_EQ(state.tokens_seen, 0);
  for (float v : state.ssm[0]) EXPECT_EQ(v, 0.0f);
}

TEST(Recurrent, ResetAndCopy) {
  const Model m = random_model();
  InferenceState a(m.config, 1);
  Activations acts;
  const std::vector<std::int32_t> ids = {1, 2, 3};
  lm_forward(m, ids, 1, 3, acts, {}, &a);
  InferenceState snapshot = a;  // a copy is a snapshot
  StepActivations step;
  lm_step(m, std::vector<std::int32_t>{4}, a, step);
  EXPECT_NE(snapshot.ssm[0], a.ssm[0]);
  a = snapshot;
  EXPECT_EQ(snapshot.ssm[0], a.ssm[0]);
  a.reset();
  for (float v : a.ssm[1]) EXPECT_EQ(v, 0.0f);
  EXPECT_EQ(a.tokens_seen, 0);
}

}  // namespace
}  // namespace tinymamba
