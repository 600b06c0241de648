#include "tinymamba/sampling/sampling_params.hpp"

#include <cmath>

#include "tinymamba/core/error.hpp"

namespace tinymamba {

void SamplingParams::validate() const {
  TM_CHECK(std::isfinite(temperature) && temperature >= 0,
           "--temperature must be a finite number >= 0 (0 = greedy), got ", temperature);
  TM_CHECK(top_k >= 0, "--top-k must be >= 0 (0 = off), got ", top_k);
  TM_CHECK(top_p > 0 && top_p <= 1, "--top-p must be in (0, 1], got ", top_p);
  TM_CHECK(min_p >= 0 && min_p <= 1, "--min-p must be in [0, 1], got ", min_p);
  TM_CHECK(std::isfinite(repeat_penalty) && repeat_penalty > 0,
           "--repeat-penalty must be a finite number > 0 (1 = off), got ", repeat_penalty);
}

}  // namespace tinymamba
