#include "tinymamba/sampling/stop_rule.hpp"

#include "tinymamba/core/error.hpp"

namespace tinymamba {

bool StopRule::reached(std::span<const std::int32_t> generated) const {
  if (std::ssize(generated) >= max_new_tokens) return true;
  return eos_id.has_value() && !generated.empty() && generated.back() == *eos_id;
}

void StopRule::validate(std::int64_t vocab_size) const {
  TM_CHECK(max_new_tokens >= 0, "max_new_tokens must be >= 0, got ", max_new_tokens);
  TM_CHECK(!eos_id || (*eos_id >= 0 && *eos_id < vocab_size), "eos_id must be in [0, ", vocab_size, "), got ",
           *eos_id);
}

}  // namespace tinymamba
