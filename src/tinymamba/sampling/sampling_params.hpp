// The knobs of next-token selection, one field per CLI flag. docs/sampling.md gives each rule, the order the
// filters run in, and where they differ from the official mamba_ssm `sample()` and from llama.cpp.
#pragma once

#include <cstdint>

namespace tinymamba {

struct SamplingParams {
  float temperature = 1;       // --temperature: divides the logits; 0 = greedy (argmax, ties -> lowest id)
  std::int64_t top_k = 0;      // --top-k: keep the k highest logits; 0 = off
  float top_p = 1;             // --top-p: keep the smallest set of most likely ids with mass >= p; 1 = off
  float min_p = 0;             // --min-p: keep ids with p >= min_p * p_max; 0 = off
  float repeat_penalty = 1;    // --repeat-penalty: CTRL penalty on every id seen so far; 1 = off
  std::uint64_t seed = 0;      // --seed: the random stream; a fixed default so that a run replays

  // Throws tinymamba::Error naming the flag, e.g. "--top-p must be in (0, 1], got nan". Every comparison is
  // written so that NaN fails it.
  void validate() const;
};

}  // namespace tinymamba
