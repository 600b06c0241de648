#include "tinymamba/sampling/stop_rule.hpp"

#include "tinymamba/core/error.hpp"

namespace tinymamba {

bool StopRule::reached(std::span<const std::int32_t> generated) const {
  if (std::ssize(generated) >= max_new_tokens) return true;
  return eos_id.has_value() && !generated.empty() && generated.back() == *eos_id;
}

StopRule stop_rule_from_flags(std::int64_t max_new_tokens, std::optional<std::int64_t> eos_flag, bool ignore_eos,
                              std::optional<std::int32_t> tokenizer_eos, std::int64_t vocab_size) {
  TM_CHECK(max_new_tokens >= 0, "-n must be >= 0, got ", max_new_tokens);
  TM_CHECK(!(eos_flag && ignore_eos), "--eos and --ignore-eos contradict each other; pass one of them");
  if (ignore_eos) return {.max_new_tokens = max_new_tokens, .eos_id = std::nullopt};
  if (!eos_flag) return {.max_new_tokens = max_new_tokens, .eos_id = tokenizer_eos};
  TM_CHECK(*eos_flag >= 0 && *eos_flag < vocab_size, "--eos must be in [0, ", vocab_size, "), got ", *eos_flag);
  return {.max_new_tokens = max_new_tokens, .eos_id = static_cast<std::int32_t>(*eos_flag)};
}

}  // namespace tinymamba
