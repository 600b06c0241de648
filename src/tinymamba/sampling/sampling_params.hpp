// The knobs of next-token selection. docs/sampling.md gives each rule, the order the filters run in, and where
// they differ from the official mamba_ssm `sample()` and from llama.cpp.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tinymamba {

// A field that fails validation, named as the struct spells it, and what is wrong with it, e.g.
// {"top_p", "must be in (0, 1], got nan"}: a caller that took the value from elsewhere (a CLI flag, a request's
// JSON key) names it its own way.
struct InvalidField {
  std::string_view field;
  std::string problem;
};

struct SamplingParams {
  float temperature = 1;       // divides the logits; 0 = greedy (argmax, ties -> lowest id)
  std::int64_t top_k = 0;      // keep the k highest logits; 0 = off
  float top_p = 1;             // keep the smallest set of most likely ids with mass >= p; 1 = off
  float min_p = 0;             // keep ids with p >= min_p * p_max; 0 = off
  float repeat_penalty = 1;    // CTRL penalty on every id seen so far; 1 = off
  std::uint64_t seed = 0;      // the random stream; a fixed default so that a run replays

  // The first invalid field, or nullopt. Every comparison is written so that NaN fails it.
  [[nodiscard]] std::optional<InvalidField> invalid_field() const;
  // Throws tinymamba::Error naming the first invalid field, e.g. "top_p must be in (0, 1], got nan".
  void validate() const;
};

}  // namespace tinymamba
