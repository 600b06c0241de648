// Next-token selection for one sequence: repetition penalty -> temperature -> top-k -> top-p -> min-p -> draw.
// The rules, the order and the differences from the official mamba_ssm `sample()` are in docs/sampling.md.
//
// A Sampler owns its random stream, so batch generation keeps one Sampler per sequence (give each its own
// seed, e.g. seed + row, or every row draws the same numbers). All buffers are sized in the constructor;
// a call allocates nothing.
#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <vector>

#include "tinymamba/sampling/sampling_params.hpp"

namespace tinymamba {

// One id that survived the filters and its probability in the final distribution.
struct TokenProb {
  std::int32_t id;
  float prob;
};

class Sampler {
 public:
  // vocab_size: how many ids may be sampled. The model's logits may be longer (the embedding is padded, e.g.
  // 50280 rows for a 50277-id tokenizer); logits past vocab_size are ignored. Throws Error on a bad parameter.
  Sampler(SamplingParams params, std::int64_t vocab_size);

  // The next id, in [0, vocab_size).
  //   logits  (>= vocab_size,): this step's logits; a scratch copy: the repetition penalty is applied in place.
  //   history: every id so far (prompt + generated), for the repetition penalty; each distinct id counts once.
  // Greedy (temperature 0) uses no random numbers; otherwise each call draws exactly one, so the stream
  // position is the number of sampled tokens whatever the filters keep.
  // Throws Error if a logit is NaN or +inf, if every logit is -inf, or if a history id is outside the vocab.
  [[nodiscard]] std::int32_t sample(std::span<float> logits, std::span<const std::int32_t> history);

  // The distribution `sample` draws from: the surviving ids with probabilities that sum to 1, most likely first
  // (ties to the lower id) when top-k or top-p ran, else in id order; `sample` walks them in this order. Greedy
  // gives the argmax alone. Same arguments and errors as `sample`, draws nothing; valid until the next call.
  [[nodiscard]] std::span<const TokenProb> distribution(std::span<float> logits,
                                                        std::span<const std::int32_t> history);

  [[nodiscard]] const SamplingParams& params() const { return params_; }
  [[nodiscard]] std::int64_t vocab_size() const { return vocab_size_; }

 private:
  void apply_repeat_penalty(std::span<float> logits, std::span<const std::int32_t> history);
  // Each filter narrows candidates_[0, n) and returns the new n.
  std::int64_t keep_top_k(std::int64_t n);
  std::int64_t keep_top_p(std::int64_t n);
  std::int64_t keep_min_p(std::int64_t n);

  SamplingParams params_;
  std::int64_t vocab_size_;
  std::mt19937_64 rng_;                  // fully specified by the C++ standard: same seed, same stream anywhere
  std::vector<TokenProb> candidates_;    // (vocab_size,) ids still in the running; prob holds the logit, then
                                         // the weight p / p_max, and the probability only at the end
  std::vector<std::uint8_t> penalized_;  // (vocab_size,) 1 while an id's penalty is applied; all 0 between calls
};

}  // namespace tinymamba
