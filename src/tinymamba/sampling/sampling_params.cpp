#include "tinymamba/sampling/sampling_params.hpp"

#include <cmath>

#include "tinymamba/core/error.hpp"

namespace tinymamba {

std::optional<InvalidField> SamplingParams::invalid_field() const {
  if (!(std::isfinite(temperature) && temperature >= 0))
    return InvalidField{"temperature", cat("must be a finite number >= 0 (0 = greedy), got ", temperature)};
  if (!(top_k >= 0)) return InvalidField{"top_k", cat("must be >= 0 (0 = off), got ", top_k)};
  if (!(top_p > 0 && top_p <= 1)) return InvalidField{"top_p", cat("must be in (0, 1], got ", top_p)};
  if (!(min_p >= 0 && min_p <= 1)) return InvalidField{"min_p", cat("must be in [0, 1], got ", min_p)};
  if (!(std::isfinite(repeat_penalty) && repeat_penalty > 0))
    return InvalidField{"repeat_penalty", cat("must be a finite number > 0 (1 = off), got ", repeat_penalty)};
  return std::nullopt;
}

void SamplingParams::validate() const {
  if (const auto bad = invalid_field()) fail(bad->field, " ", bad->problem);
}

}  // namespace tinymamba
