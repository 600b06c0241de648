// Sampling on hand-built distributions. Every random test uses a fixed seed, printed on failure through
// SCOPED_TRACE, and its statistical bound is derived in a comment: a correct sampler passes it with
// overwhelming probability at any seed, a wrong one fails it.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "tinymamba/core/error.hpp"
#include "tinymamba/sampling/sampler.hpp"
#include "tinymamba/sampling/sampling_params.hpp"
#include "tinymamba/sampling/stop_rule.hpp"

namespace tinymamba {
namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr std::int64_t kDraws = 20000;

std::vector<float> log_of(const std::vector<double>& probs) {
  std::vector<float> logits;
  for (double p : probs) logits.push_back(static_cast<float>(std::log(p)));
  return logits;
}

// softmax(logits / temperature) in double: the oracle for the sampler's float arithmetic.
std::vector<double> softmax(const std::vector<float>& logits, double temperature = 1) {
  const double max = *std::max_element(logits.begin(), logits.end());
  std::vector<double> p;
  for (float l : logits) p.push_back(std::exp((l - max) / temperature));
  const double total = std::accumulate(p.begin(), p.end(), 0.0);
  for (double& x : p) x /= total;
  return p;
}

// The distribution as (id, prob) pairs, for EXPECT_EQ on ids and a tolerance on probs.
struct Dist {
  std::vector<std::int32_t> ids;
  std::vector<double> probs;
};
Dist distribution_of(Sampler& sampler, std::vector<float> logits, const std::vector<std::int32_t>& history = {}) {
  Dist d;
  for (const TokenProb& c : sampler.distribution(logits, history)) {
    d.ids.push_back(c.id);
    d.probs.push_back(c.prob);
  }
  return d;
}

// Float exp and division, each within 2^-24 relative, and a sum over a handful of terms: 1e-6 is a few times the
// accumulated rounding and far below any difference a wrong rule makes.
constexpr double kProbTolerance = 1e-6;

void expect_probs(const Dist& got, const std::vector<double>& want) {
  ASSERT_EQ(got.probs.size(), want.size());
  for (std::size_t i = 0; i < want.size(); ++i) {
    EXPECT_NEAR(got.probs[i], want[i], kProbTolerance) << "position " << i << " (id " << got.ids[i] << ")";
  }
}

std::vector<std::int64_t> draw_counts(Sampler& sampler, const std::vector<float>& logits, std::int64_t draws,
                                      const std::vector<std::int32_t>& history = {}) {
  std::vector<std::int64_t> counts(static_cast<std::size_t>(sampler.vocab_size()), 0);
  for (std::int64_t i = 0; i < draws; ++i) {
    std::vector<float> scratch = logits;
    const std::int32_t id = sampler.sample(scratch, history);
    EXPECT_TRUE(id >= 0 && id < sampler.vocab_size()) << "draw " << i << " returned id " << id;
    if (id >= 0 && id < sampler.vocab_size()) ++counts[static_cast<std::size_t>(id)];
  }
  return counts;
}

// Each count is Binomial(draws, p) with standard deviation s = sqrt(draws p (1 - p)); a correct sampler lands
// within 6 s (plus 1 for the integer grid) except with probability < 2e-9 per id. At 20k draws 6 s is at most
// 424 counts (2.1% of the draws), so a probability off by more than ~0.02 fails. An id with p = 0 must never come.
void expect_frequencies(const std::vector<std::int64_t>& counts, const std::vector<double>& want) {
  ASSERT_EQ(counts.size(), want.size());
  const auto draws = static_cast<double>(std::accumulate(counts.begin(), counts.end(), std::int64_t{0}));
  for (std::size_t id = 0; id < want.size(); ++id) {
    const double mean = draws * want[id];
    const double bound = 6 * std::sqrt(draws * want[id] * (1 - want[id])) + 1;
    EXPECT_LE(std::abs(static_cast<double>(counts[id]) - mean), bound)
        << "id " << id << ": drawn " << counts[id] << " times in " << draws << ", expected " << mean;
    if (want[id] == 0) {
      EXPECT_EQ(counts[id], 0) << "id " << id << " has probability 0";
    }
  }
}

double chi_square(const std::vector<std::int64_t>& counts, const std::vector<double>& want) {
  const auto draws = static_cast<double>(std::accumulate(counts.begin(), counts.end(), std::int64_t{0}));
  double chi2 = 0;
  for (std::size_t i = 0; i < counts.size(); ++i) {
    const double mean = draws * want[i];
    chi2 += (static_cast<double>(counts[i]) - mean) * (static_cast<double>(counts[i]) - mean) / mean;
  }
  return chi2;
}

// ---- parameters ----

TEST(SamplingParams, DefaultsAndBoundariesAreValid) {
  EXPECT_NO_THROW(SamplingParams{}.validate());
  EXPECT_NO_THROW((SamplingParams{.temperature = 0}.validate()));
  EXPECT_NO_THROW((SamplingParams{.top_k = 1'000'000}.validate()));
  EXPECT_NO_THROW((SamplingParams{.top_p = 1e-6f}.validate()));
  EXPECT_NO_THROW((SamplingParams{.min_p = 1}.validate()));
  EXPECT_NO_THROW((SamplingParams{.repeat_penalty = 0.5f}.validate()));
}

TEST(SamplingParams, EveryBadValueIsAnErrorNamingItsField) {
  struct Case {
    std::function<void(SamplingParams&)> set;
    std::string message;
  };
  const std::vector<Case> cases = {
      {[](auto& p) { p.temperature = -1; }, "temperature must be a finite number >= 0 (0 = greedy), got -1"},
      {[](auto& p) { p.temperature = kNaN; }, "temperature must be a finite number >= 0 (0 = greedy), got nan"},
      {[](auto& p) { p.temperature = kInf; }, "temperature must be a finite number >= 0 (0 = greedy), got inf"},
      {[](auto& p) { p.top_k = -3; }, "top_k must be >= 0 (0 = off), got -3"},
      {[](auto& p) { p.top_p = 0; }, "top_p must be in (0, 1], got 0"},
      {[](auto& p) { p.top_p = -0.5f; }, "top_p must be in (0, 1], got -0.5"},
      {[](auto& p) { p.top_p = 1.5f; }, "top_p must be in (0, 1], got 1.5"},
      {[](auto& p) { p.top_p = kNaN; }, "top_p must be in (0, 1], got nan"},
      {[](auto& p) { p.min_p = -0.25f; }, "min_p must be in [0, 1], got -0.25"},
      {[](auto& p) { p.min_p = 2; }, "min_p must be in [0, 1], got 2"},
      {[](auto& p) { p.min_p = kNaN; }, "min_p must be in [0, 1], got nan"},
      {[](auto& p) { p.repeat_penalty = 0; }, "repeat_penalty must be a finite number > 0 (1 = off), got 0"},
      {[](auto& p) { p.repeat_penalty = -1.5f; }, "repeat_penalty must be a finite number > 0 (1 = off), got -1.5"},
      {[](auto& p) { p.repeat_penalty = kNaN; }, "repeat_penalty must be a finite number > 0 (1 = off), got nan"},
      {[](auto& p) { p.repeat_penalty = kInf; }, "repeat_penalty must be a finite number > 0 (1 = off), got inf"},
  };
  for (const Case& c : cases) {
    SamplingParams params;
    c.set(params);
    try {
      params.validate();
      ADD_FAILURE() << "accepted; wanted: " << c.message;
    } catch (const Error& e) {
      EXPECT_EQ(std::string(e.what()), c.message);
    }
    const auto bad = params.invalid_field();  // the same, in pieces, for callers that name the field their way
    ASSERT_TRUE(bad.has_value()) << c.message;
    EXPECT_EQ(cat(bad->field, " ", bad->problem), c.message);
    // The Sampler validates too, so no caller can skip it.
    EXPECT_THROW(Sampler(params, 4), Error) << c.message;
  }
}

TEST(Sampler, RejectsBadShapes) {
  EXPECT_THROW(Sampler({}, 0), Error);
  EXPECT_THROW(Sampler({}, std::int64_t{1} << 31), Error);
  Sampler sampler({}, 4);
  std::vector<float> three = {1, 2, 3};
  EXPECT_THROW((void)sampler.sample(three, {}), Error);
}

// ---- greedy ----

TEST(Sampler, GreedyIsTheArgmaxWithTiesToTheLowestId) {
  Sampler greedy({.temperature = 0}, 5);
  std::vector<float> logits = {0.5f, 3, 1, 3, -2};
  EXPECT_EQ(greedy.sample(logits, {}), 1);
  logits = {-1, -1, -1, -1, -0.5f};
  EXPECT_EQ(greedy.sample(logits, {}), 4);
  logits = {7, 7, 7, 7, 7};
  EXPECT_EQ(greedy.sample(logits, {}), 0);
  logits = {-kInf, -kInf, 2, -kInf, 2};
  EXPECT_EQ(greedy.sample(logits, {}), 2);
  const Dist d = distribution_of(greedy, {0.5f, 3, 1, 3, -2});
  EXPECT_EQ(d.ids, std::vector<std::int32_t>{1});
  expect_probs(d, {1.0});
}

// The official sample(): top_k == 1 is argmax whatever the temperature.
TEST(Sampler, TopK1IsTheArgmaxAtAnyTemperature) {
  const std::uint64_t seed = 11;
  SCOPED_TRACE(cat("seed ", seed));
  Sampler sampler({.temperature = 5, .top_k = 1, .seed = seed}, 4);
  const std::vector<float> logits = {1, 1.01f, 1, 0.99f};
  const std::vector<std::int64_t> counts = draw_counts(sampler, logits, 1000);
  EXPECT_EQ(counts[1], 1000);
}

TEST(Sampler, LogitsPastVocabSizeAreNeverChosen) {
  const std::uint64_t seed = 12;
  SCOPED_TRACE(cat("seed ", seed));
  // A padded embedding: 6 logit rows, 4 ids the tokenizer knows. The padding rows hold the largest logits.
  const std::vector<float> padded = {0, 1, 0.5f, 0.25f, 100, 100};
  Sampler greedy({.temperature = 0}, 4);
  std::vector<float> scratch = padded;
  EXPECT_EQ(greedy.sample(scratch, {}), 1);
  Sampler sampler({.seed = seed}, 4);
  const std::vector<std::int64_t> counts = draw_counts(sampler, padded, kDraws);
  const std::vector<double> want = softmax({0, 1, 0.5f, 0.25f});
  expect_frequencies(counts, want);
}

// ---- temperature ----

TEST(Sampler, DistributionIsTheSoftmaxOfLogitsOverTemperature) {
  const std::vector<float> logits = {1, 2, 0.5f, -1, 2};
  for (float temperature : {0.25f, 0.5f, 1.0f, 2.0f, 10.0f}) {
    SCOPED_TRACE(cat("temperature ", temperature));
    Sampler sampler({.temperature = temperature}, 5);
    const Dist d = distribution_of(sampler, logits);
    EXPECT_EQ(d.ids, (std::vector<std::int32_t>{0, 1, 2, 3, 4}));
    expect_probs(d, softmax(logits, temperature));
  }
}

TEST(Sampler, DrawFrequenciesMatchTheDistribution) {
  const std::uint64_t seed = 13;
  SCOPED_TRACE(cat("seed ", seed));
  const std::vector<float> logits = {0.3f, -1, 2, 0, 1.2f, -kInf, 0.7f, -0.2f};
  Sampler sampler({.temperature = 0.8f, .seed = seed}, 8);
  expect_frequencies(draw_counts(sampler, logits, kDraws), softmax(logits, 0.8));
}

TEST(Sampler, LowTemperatureApproachesGreedy) {
  const std::uint64_t seed = 14;
  SCOPED_TRACE(cat("seed ", seed));
  const std::vector<float> logits = {1, 2, 1.9f, 0};
  double previous = 0;
  for (float temperature : {2.0f, 1.0f, 0.3f, 0.1f, 0.03f, 0.01f}) {
    Sampler sampler({.temperature = temperature}, 4);
    const Dist d = distribution_of(sampler, logits);
    const double p_argmax = d.probs[1];
    EXPECT_GT(p_argmax, previous) << "temperature " << temperature;
    previous = p_argmax;
  }
  EXPECT_GT(previous, 0.9999);  // 1 / (1 + e^-10 + ...)
  // At T = 1e-3 the runner-up weighs e^-100: 1000 draws all give the argmax unless the sampler is wrong.
  Sampler cold({.temperature = 1e-3f, .seed = seed}, 4);
  EXPECT_EQ(draw_counts(cold, logits, 1000)[1], 1000);
}

// A tiny temperature must not turn (l - l_max) / T into inf - inf = NaN.
TEST(Sampler, TinyTemperatureDoesNotOverflow) {
  Sampler sampler({.temperature = 1e-30f}, 3);
  const Dist d = distribution_of(sampler, {1e30f, -1e30f, 0});
  EXPECT_EQ(d.ids, std::vector<std::int32_t>{0});
  expect_probs(d, {1.0});
}

TEST(Sampler, HighTemperatureApproachesUniform) {
  const std::uint64_t seed = 15;
  SCOPED_TRACE(cat("seed ", seed));
  const std::vector<float> logits = {0, 3, 1, 2.5f, 0.5f, 1.5f, 2, 0.25f};
  const std::vector<double> uniform(8, 1.0 / 8);
  // 8 ids: chi-square with 7 degrees of freedom. P(chi2 > 50) = 1.4e-8 for a sampler that is uniform; at
  // T = 1e4 the weights are within 3e-4 of 1, which moves the expected statistic by ~1e-3.
  constexpr double kBound = 50;
  Sampler hot({.temperature = 1e4f, .seed = seed}, 8);
  EXPECT_LT(chi_square(draw_counts(hot, logits, kDraws), uniform), kBound);
  // The same check catches a sampler that ignores the temperature (draws at T = 1): its statistic is in the
  // thousands.
  Sampler ignores_temperature({.temperature = 1, .seed = seed}, 8);
  EXPECT_GT(chi_square(draw_counts(ignores_temperature, logits, kDraws), uniform), kBound);
}

// ---- top-k ----

TEST(Sampler, TopKNeverLeavesTheKLargest) {
  const std::uint64_t seed = 16;
  SCOPED_TRACE(cat("seed ", seed));
  std::mt19937_64 gen(seed);
  std::normal_distribution<float> normal(0, 2);  // only shapes the test data; the sampler's stream is its own
  std::vector<float> logits(100);
  for (float& l : logits) l = normal(gen);
  constexpr std::int64_t k = 5;
  std::vector<std::int32_t> order(logits.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int a, int b) { return logits[a] > logits[b]; });

  // Expected: the softmax renormalised over the 5 largest, 0 elsewhere.
  std::vector<float> top_only(logits.size(), -kInf);
  for (std::int64_t i = 0; i < k; ++i) top_only[order[i]] = logits[order[i]];
  Sampler sampler({.top_k = k, .seed = seed}, 100);
  expect_frequencies(draw_counts(sampler, logits, kDraws), softmax(top_only));
}

// The survivors come most likely first, ties to the lower id: an order that does not depend on the standard
// library, so the draw that walks them lands on the same id everywhere.
TEST(Sampler, TopKKeepsRankOrderWithTiesToTheLowerId) {
  Sampler sampler({.top_k = 3}, 5);
  const std::vector<float> logits = {0.5f, 3, 1, 2, -1};
  const Dist d = distribution_of(sampler, logits);
  EXPECT_EQ(d.ids, (std::vector<std::int32_t>{1, 3, 2}));
  const std::vector<double> p = softmax({3, 2, 1});
  expect_probs(d, p);
  Sampler two({.top_k = 2}, 5);
  EXPECT_EQ(distribution_of(two, {1, 2, 2, 2, 0}).ids, (std::vector<std::int32_t>{1, 2}));
}

// ---- top-p ----

TEST(Sampler, TopPKeepsTheSmallestSetReachingP) {
  // Probabilities by id: 0.3, 0.1, 0.4, 0.2; most likely first: id 2 (0.4), 0 (0.7), 3 (0.9), 1 (1.0).
  const std::vector<float> logits = log_of({0.3, 0.1, 0.4, 0.2});
  struct Case {
    float top_p;
    std::vector<std::int32_t> ids;
    std::vector<double> probs;
  };
  const std::vector<Case> cases = {
      {0.3f, {2}, {1.0}},                                 // 0.4 >= 0.3 already
      {0.65f, {2, 0}, {0.4 / 0.7, 0.3 / 0.7}},            // 0.4 < 0.65 <= 0.7
      {0.75f, {2, 0, 3}, {0.4 / 0.9, 0.3 / 0.9, 0.2 / 0.9}},
      {0.95f, {2, 0, 3, 1}, {0.4, 0.3, 0.2, 0.1}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(cat("top_p ", c.top_p));
    Sampler sampler({.top_p = c.top_p}, 4);
    const Dist d = distribution_of(sampler, logits);
    EXPECT_EQ(d.ids, c.ids);
    expect_probs(d, c.probs);
  }
}

// Temperature runs before top-p, so the nucleus is taken from the tempered distribution (as in the official code
// and Hugging Face; llama.cpp's default chain applies temperature last).
TEST(Sampler, TopPSeesTheTemperedDistribution) {
  const std::vector<float> logits = log_of({0.4, 0.3, 0.2, 0.1});
  Sampler plain({.top_p = 0.5f}, 4);
  EXPECT_EQ(distribution_of(plain, logits).ids, (std::vector<std::int32_t>{0, 1}));  // 0.4 < 0.5
  // T = 0.5 squares the probabilities: 0.16 / 0.30 = 0.533 >= 0.5 alone.
  Sampler cold({.temperature = 0.5f, .top_p = 0.5f}, 4);
  EXPECT_EQ(distribution_of(cold, logits).ids, std::vector<std::int32_t>{0});
}

// Top-k runs first, top-p among the survivors, renormalised (the official order).
TEST(Sampler, TopPRunsWithinTopK) {
  const std::vector<float> logits = log_of({0.4, 0.3, 0.2, 0.1});
  // Within the top 2: 0.4 / 0.7 = 0.571 >= 0.5.
  Sampler sampler({.top_k = 2, .top_p = 0.5f}, 4);
  const Dist d = distribution_of(sampler, logits);
  EXPECT_EQ(d.ids, std::vector<std::int32_t>{0});
  expect_probs(d, {1.0});
}

// Min-p runs after top-p: it thresholds p / p_max, which top-p's renormalisation leaves unchanged, so the result
// is the intersection of the two sets. Run the other way round, top-p would measure its mass among the min-p
// survivors and keep fewer ids.
TEST(Sampler, MinPRunsAfterTopP) {
  const std::vector<float> logits = log_of({0.4, 0.3, 0.2, 0.1});
  // Top-p 0.75 keeps 0.4 + 0.3 + 0.2; min-p 0.5 keeps p / p_max = 1, 0.75, 0.5. Min-p first would leave a mass
  // of 0.9 in which 0.4 + 0.3 = 0.78 already reaches 0.75, dropping id 2.
  Sampler sampler({.top_p = 0.75f, .min_p = 0.5f}, 4);
  const Dist d = distribution_of(sampler, logits);
  EXPECT_EQ(d.ids, (std::vector<std::int32_t>{0, 1, 2}));
  expect_probs(d, {0.4 / 0.9, 0.3 / 0.9, 0.2 / 0.9});
}

// The sampler ranks the nucleus in doubling chunks; a full sort with the same weights must keep the same ids.
TEST(Sampler, TopPMatchesAFullSortOnALargeVocab) {
  const std::uint64_t seed = 17;
  SCOPED_TRACE(cat("seed ", seed));
  std::mt19937_64 gen(seed);
  std::normal_distribution<float> normal(0, 3);
  std::vector<float> logits(5000);
  for (float& l : logits) l = normal(gen);
  const float max = *std::max_element(logits.begin(), logits.end());
  std::int64_t largest_nucleus = 0;
  for (float temperature : {0.7f, 1.3f}) {
    for (float top_p : {0.1f, 0.5f, 0.9f, 0.99f}) {
      SCOPED_TRACE(cat("temperature ", temperature, ", top_p ", top_p));
      // Float weights computed and summed in id order as the sampler does, so that only the ranking is compared.
      std::vector<float> weight;
      double total = 0;
      for (float l : logits) {
        weight.push_back(std::exp((l - max) / temperature));
        total += weight.back();
      }
      std::vector<std::int32_t> order(logits.size());
      std::iota(order.begin(), order.end(), 0);
      std::sort(order.begin(), order.end(),
                [&](int a, int b) { return weight[a] > weight[b] || (weight[a] == weight[b] && a < b); });
      std::vector<std::int32_t> want;
      double mass = 0;
      for (std::int32_t id : order) {
        want.push_back(id);
        mass += weight[id];
        if (mass >= top_p * total) break;
      }
      Sampler sampler({.temperature = temperature, .top_p = top_p}, 5000);
      EXPECT_EQ(distribution_of(sampler, logits).ids, want);
      largest_nucleus = std::max(largest_nucleus, std::ssize(want));
    }
  }
  EXPECT_GT(largest_nucleus, 4 * 64) << "the data no longer exercises several chunks";
}

// ---- min-p ----

TEST(Sampler, MinPKeepsExactlyTheIdsAboveAFractionOfTheMax) {
  // p / p_max by id: 0.3, 1, 0.05, 0.5, 0.2. All logits are negative: the official code, which compares raw
  // logits with min_p, would drop every id here.
  const std::vector<double> ratio = {0.3, 1, 0.05, 0.5, 0.2};
  std::vector<float> logits = log_of(ratio);
  for (float& l : logits) l -= 5;
  struct Case {
    float temperature, min_p;
    std::vector<std::int32_t> ids;
  };
  const std::vector<Case> cases = {
      {1, 0.25f, {0, 1, 3}},  // 0.3, 1, 0.5 >= 0.25 > 0.2
      {1, 0.4f, {1, 3}},
      {1, 1, {1}},
      {0.5f, 0.2f, {1, 3}},  // T = 0.5 squares the ratios: 0.09, 1, 0.0025, 0.25, 0.04
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(cat("temperature ", c.temperature, ", min_p ", c.min_p));
    Sampler sampler({.temperature = c.temperature, .min_p = c.min_p}, 5);
    const Dist d = distribution_of(sampler, logits);
    EXPECT_EQ(d.ids, c.ids);
    std::vector<float> kept_only(logits.size(), -kInf);
    for (std::int32_t id : c.ids) kept_only[id] = logits[id];
    std::vector<double> want;
    const std::vector<double> p = softmax(kept_only, c.temperature);
    for (std::int32_t id : c.ids) want.push_back(p[id]);
    expect_probs(d, want);
  }
}

// ---- repetition penalty ----

TEST(Sampler, RepeatPenaltyFollowsTheCtrlRule) {
  const std::vector<float> logits = {2, -2, 0.5f, -0.5f, 1};
  const std::vector<std::int32_t> history = {0, 1, 1, 0, 3};  // ids 0 and 1 twice: penalised once each
  struct Case {
    float penalty;
    std::vector<float> want;
  };
  const std::vector<Case> cases = {
      {2, {1, -4, 0.5f, -1, 1}},        // l > 0: l / 2; l < 0: l * 2; unseen ids unchanged
      {0.5f, {4, -1, 0.5f, -0.25f, 1}},  // a penalty < 1 rewards repetition, by the same formula
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(cat("penalty ", c.penalty));
    Sampler sampler({.repeat_penalty = c.penalty}, 5);
    std::vector<float> scratch = logits;
    const std::span<const TokenProb> dist = sampler.distribution(scratch, history);
    EXPECT_EQ(scratch, c.want);  // exact: every product and quotient here is a power-of-two scaling
    Dist d;
    for (const TokenProb& t : dist) {
      d.ids.push_back(t.id);
      d.probs.push_back(t.prob);
    }
    expect_probs(d, softmax(c.want));
  }
}

TEST(Sampler, RepeatPenaltyAppliesToGreedyToo) {
  Sampler greedy({.temperature = 0, .repeat_penalty = 2}, 2);
  std::vector<float> logits = {3, 2.5f};
  const std::vector<std::int32_t> history = {0};
  EXPECT_EQ(greedy.sample(logits, history), 1);  // 3 / 2 = 1.5 < 2.5
}

TEST(Sampler, HistoryIdOutsideTheVocabIsAnErrorThatLeavesNoTrace) {
  Sampler sampler({.repeat_penalty = 2}, 4);
  std::vector<float> logits = {1, 1, 1, 1};
  const std::vector<std::int32_t> bad = {1, 7};
  try {
    (void)sampler.distribution(logits, bad);
    ADD_FAILURE() << "accepted history id 7 for a vocabulary of 4";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "sampling: history id 7 is outside the vocabulary [0, 4)");
  }
  // Id 1 was not left marked: the next call penalises it.
  logits = {1, 1, 1, 1};
  const std::vector<std::int32_t> good = {1};
  (void)sampler.distribution(logits, good);
  EXPECT_EQ(logits, (std::vector<float>{1, 0.5f, 1, 1}));
}

// ---- bad logits ----

TEST(Sampler, NaNAndPlusInfLogitsAreErrorsNamingTheId) {
  Sampler sampler({}, 4);
  std::vector<float> logits = {0, 1, kNaN, 2};
  try {
    (void)sampler.sample(logits, {});
    ADD_FAILURE() << "accepted a NaN logit";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "sampling: the logit of id 2 is NaN");
  }
  logits = {kInf, 0, 0, 0};
  EXPECT_THROW((void)sampler.sample(logits, {}), Error);
  logits = {-kInf, -kInf, -kInf, -kInf};
  try {
    (void)sampler.sample(logits, {});
    ADD_FAILURE() << "accepted all -inf";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "sampling: every logit is -inf");
  }
}

TEST(Sampler, MinusInfLogitsAreNeverDrawn) {
  const std::uint64_t seed = 18;
  SCOPED_TRACE(cat("seed ", seed));
  const std::vector<float> logits = {-kInf, 0, -kInf, 0.5f, -kInf};
  Sampler sampler({.seed = seed}, 5);
  EXPECT_EQ(distribution_of(sampler, logits).ids, (std::vector<std::int32_t>{1, 3}));
  expect_frequencies(draw_counts(sampler, logits, kDraws), softmax(logits));
}

// ---- the random stream ----

TEST(Sampler, SameSeedReplaysAndAnotherSeedDiffers) {
  const std::vector<float> logits = {0, 0.1f, 0.2f, 0.3f, 0, 0.1f, 0.2f, 0.3f};
  auto run = [&](std::uint64_t seed) {
    Sampler sampler({.top_p = 0.9f, .seed = seed}, 8);
    std::vector<std::int32_t> ids;
    for (int i = 0; i < 200; ++i) {
      std::vector<float> scratch = logits;
      ids.push_back(sampler.sample(scratch, ids));
    }
    return ids;
  };
  EXPECT_EQ(run(1), run(1));
  // 200 draws over 7+ ids: two independent streams agree everywhere with probability < 2^-200.
  EXPECT_NE(run(1), run(2));
}

// Pins the stream: std::mt19937_64 and the 53-bit draw are fully specified, so these ids must come out on every
// platform and compiler. A change here changes what every --seed produces: document it if it is deliberate.
// The ids were checked against a separate Python MT19937-64 (which gives the standard's 10000th output,
// 9981545732273789042, for the default seed) walking the cumulative sum of 0.1, 0.2, 0.3, 0.4.
TEST(Sampler, StreamForSeed42IsPinned) {
  const std::vector<float> logits = log_of({0.1, 0.2, 0.3, 0.4});
  Sampler sampler({.seed = 42}, 4);
  std::vector<std::int32_t> ids;
  for (int i = 0; i < 16; ++i) {
    std::vector<float> scratch = logits;
    ids.push_back(sampler.sample(scratch, {}));
  }
  EXPECT_EQ(ids, (std::vector<std::int32_t>{3, 3, 3, 1, 3, 0, 2, 2, 1, 2, 0, 2, 3, 3, 3, 3}));
}

// ---- stopping ----

TEST(SamplingStopRule, StopsAfterNTokensOrAfterEos) {
  const StopRule rule{.max_new_tokens = 3, .eos_id = 0};
  EXPECT_FALSE(rule.reached(std::vector<std::int32_t>{}));
  EXPECT_FALSE(rule.reached(std::vector<std::int32_t>{5, 6}));
  EXPECT_TRUE(rule.reached(std::vector<std::int32_t>{5, 6, 7}));
  EXPECT_TRUE(rule.reached(std::vector<std::int32_t>{5, 0}));
  const StopRule no_eos{.max_new_tokens = 3, .eos_id = std::nullopt};
  EXPECT_FALSE(no_eos.reached(std::vector<std::int32_t>{0, 0}));
  const StopRule none{.max_new_tokens = 0, .eos_id = 0};
  EXPECT_TRUE(none.reached(std::vector<std::int32_t>{}));
}

TEST(SamplingStopRule, ValidateNamesTheField) {
  EXPECT_NO_THROW((StopRule{.max_new_tokens = 0, .eos_id = 50276}.validate(50277)));
  EXPECT_NO_THROW((StopRule{.max_new_tokens = 5, .eos_id = std::nullopt}.validate(50277)));
  auto message = [](const StopRule& rule) {
    try {
      rule.validate(50277);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(message({.max_new_tokens = -1, .eos_id = 0}), "max_new_tokens must be >= 0, got -1");
  EXPECT_EQ(message({.max_new_tokens = 5, .eos_id = 50277}), "eos_id must be in [0, 50277), got 50277");
  EXPECT_EQ(message({.max_new_tokens = 5, .eos_id = -2}), "eos_id must be in [0, 50277), got -2");
}

}  // namespace
}  // namespace tinymamba
