#include "tinymamba/sampling/sampler.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "tinymamba/core/error.hpp"

namespace tinymamba {
namespace {

// Higher score (the logit for top-k, the weight for top-p) first, ties to the lower id. A strict total order, so
// top-k and top-p keep the same ids on every platform whatever algorithm the standard library's sorts use.
bool ranks_before(const TokenProb& a, const TokenProb& b) {
  return a.prob > b.prob || (a.prob == b.prob && a.id < b.id);
}

// A double in [0, 1) from the top 53 bits of one generator output. std::uniform_real_distribution is not used:
// its algorithm is unspecified, so the same seed could give different text with another standard library.
double uniform_01(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

}  // namespace

Sampler::Sampler(SamplingParams params, std::int64_t vocab_size)
    : params_(params), vocab_size_(vocab_size), rng_(params.seed) {
  params_.validate();
  TM_CHECK(vocab_size >= 1 && vocab_size <= std::numeric_limits<std::int32_t>::max(),
           "sampling: vocab_size must be in [1, 2^31 - 1], got ", vocab_size);
  candidates_.resize(static_cast<std::size_t>(vocab_size));
  penalized_.assign(static_cast<std::size_t>(vocab_size), 0);
}

std::int32_t Sampler::sample(std::span<float> logits, std::span<const std::int32_t> history) {
  const std::span<const TokenProb> dist = distribution(logits, history);
  if (params_.temperature == 0) return dist[0].id;
  // Inverse CDF. The total is summed in the walk's order, so the walk ends exactly on it and a target below it
  // always lands on an id; only a product u * total rounded up to the total can fall off the end.
  double total = 0;
  for (const TokenProb& c : dist) total += c.prob;
  const double target = uniform_01(rng_) * total;
  double mass = 0;
  for (const TokenProb& c : dist) {
    mass += c.prob;
    if (mass > target) return c.id;
  }
  return dist.back().id;
}

std::span<const TokenProb> Sampler::distribution(std::span<float> all_logits,
                                                 std::span<const std::int32_t> history) {
  TM_CHECK(std::ssize(all_logits) >= vocab_size_, "sampling: got ", all_logits.size(),
           " logits for a vocabulary of ", vocab_size_);
  const std::span<float> logits = all_logits.first(static_cast<std::size_t>(vocab_size_));  // (vocab_size,)
  if (params_.repeat_penalty != 1) apply_repeat_penalty(logits, history);

  // The argmax, lowest id among ties; the same pass rejects logits no distribution can come from.
  std::int32_t best = -1;
  float best_logit = -std::numeric_limits<float>::infinity();
  for (std::int32_t id = 0; id < vocab_size_; ++id) {
    const float l = logits[static_cast<std::size_t>(id)];
    TM_CHECK(!std::isnan(l), "sampling: the logit of id ", id, " is NaN");
    TM_CHECK(l != std::numeric_limits<float>::infinity(), "sampling: the logit of id ", id, " is +inf");
    if (l > best_logit) {
      best_logit = l;
      best = id;
    }
  }
  TM_CHECK(best >= 0, "sampling: every logit is -inf");
  if (params_.temperature == 0) {
    candidates_[0] = {best, 1.0f};
    return {candidates_.data(), 1};
  }

  // candidates_[i].prob holds the logit for top-k (comparing values in place is faster than looking them up).
  for (std::int32_t id = 0; id < vocab_size_; ++id) {
    candidates_[static_cast<std::size_t>(id)] = {id, logits[static_cast<std::size_t>(id)]};
  }
  std::int64_t n = keep_top_k(vocab_size_);
  // Then the weight p / p_max = exp((l - l_max) / T): the softmax of l / T without its normaliser. Shifting
  // before dividing keeps every exponent <= 0, so a tiny T cannot overflow, and the argmax weighs exactly 1.
  for (std::int64_t i = 0; i < n; ++i) {
    TokenProb& c = candidates_[static_cast<std::size_t>(i)];
    c.prob = std::exp((c.prob - best_logit) / params_.temperature);
  }
  n = keep_top_p(n);
  n = keep_min_p(n);

  double total = 0;  // >= 1: the argmax survives every filter
  for (std::int64_t i = 0; i < n; ++i) total += candidates_[static_cast<std::size_t>(i)].prob;
  for (std::int64_t i = 0; i < n; ++i) {
    TokenProb& c = candidates_[static_cast<std::size_t>(i)];
    c.prob = static_cast<float>(c.prob / total);
  }
  return {candidates_.data(), static_cast<std::size_t>(n)};
}

// CTRL (Keskar et al. 2019) as the official modify_logit_for_repetition_penalty: a seen id's logit l becomes
// l * penalty if l < 0, else l / penalty, so penalty > 1 always makes it less likely. Each distinct id is
// penalised once however often it occurs (the official gather/scatter writes the same value for duplicates).
void Sampler::apply_repeat_penalty(std::span<float> logits, std::span<const std::int32_t> history) {
  // Checked before any change so that an error leaves penalized_ clear for the next call.
  for (const std::int32_t id : history) {
    TM_CHECK(id >= 0 && id < vocab_size_, "sampling: history id ", id, " is outside the vocabulary [0, ",
             vocab_size_, ")");
  }
  const float penalty = params_.repeat_penalty;
  for (const std::int32_t id : history) {
    const auto i = static_cast<std::size_t>(id);
    if (penalized_[i]) continue;
    penalized_[i] = 1;
    logits[i] = logits[i] < 0 ? logits[i] * penalty : logits[i] / penalty;
  }
  for (const std::int32_t id : history) penalized_[static_cast<std::size_t>(id)] = 0;
}

// The k best-ranked ids: nth_element finds them in O(n), then they are sorted by rank. The sort is not for
// speed: the draw walks the survivors in order, and the arrangement nth_element leaves differs between standard
// libraries, while the rank order is the same everywhere, so a seed gives the same text on every platform.
std::int64_t Sampler::keep_top_k(std::int64_t n) {
  const std::int64_t k = params_.top_k;
  if (k == 0 || k >= n) return n;
  const auto begin = candidates_.begin();
  std::nth_element(begin, begin + k, begin + n, ranks_before);
  std::sort(begin, begin + k, ranks_before);
  return k;
}

// The shortest prefix in rank order (most probable first, ties to the lower id) whose weight reaches top_p of the
// total: the smallest set with mass >= top_p. It is the official rule (drop ids whose ascending cumulative
// probability is <= 1 - top_p) seen from the other end: an id is kept iff the mass ranked strictly before it is
// < top_p. The nucleus is often a few dozen ids out of ~50k, so rather than sorting everything the ranking is
// built in doubling chunks (nth_element splits the next chunk off the rest in linear time, then only the chunk
// is sorted), stopping at the first chunk that reaches the mass. A wide nucleus costs O(n log n) like a full
// sort; a narrow one costs a few linear passes.
std::int64_t Sampler::keep_top_p(std::int64_t n) {
  if (params_.top_p >= 1) return n;
  double total = 0;
  for (std::int64_t i = 0; i < n; ++i) total += candidates_[static_cast<std::size_t>(i)].prob;
  const double target = static_cast<double>(params_.top_p) * total;
  const auto begin = candidates_.begin();
  double mass = 0;
  std::int64_t ranked = 0;  // candidates_[0, ranked) are the best-ranked, in order
  for (std::int64_t chunk = 64; ranked < n; chunk *= 2) {
    const std::int64_t end = std::min(n, ranked + chunk);
    std::nth_element(begin + ranked, begin + end, begin + n, ranks_before);  // no-op when end == n
    std::sort(begin + ranked, begin + end, ranks_before);
    for (; ranked < end; ++ranked) {
      mass += candidates_[static_cast<std::size_t>(ranked)].prob;
      if (mass >= target) return ranked + 1;
    }
  }
  return n;  // summed in another order, the mass fell a rounding error short of the target: keep all
}

// p >= min_p * p_max is weight >= min_p, since weights are p / p_max. Ids whose weight underflowed to 0 go too:
// they can never be drawn, and dropping them leaves exactly the support. The order is kept.
std::int64_t Sampler::keep_min_p(std::int64_t n) {
  std::int64_t kept = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    const TokenProb c = candidates_[static_cast<std::size_t>(i)];
    if (c.prob > 0 && c.prob >= params_.min_p) candidates_[static_cast<std::size_t>(kept++)] = c;
  }
  return kept;
}

}  // namespace tinymamba
