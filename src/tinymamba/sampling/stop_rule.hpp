// When generation ends: after the EOS token (kept in the output, as the official decode() keeps it) or once
// max_new_tokens new tokens exist, whichever comes first.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

namespace tinymamba {

struct StopRule {
  std::int64_t max_new_tokens = 0;
  std::optional<std::int32_t> eos_id;  // nullopt: no token stops generation

  // Whether `generated` (the new ids only, not the prompt) is complete. True for an empty list when
  // max_new_tokens is 0, so the loop `while (!rule.reached(generated)) generated.push_back(...)` is the whole
  // protocol.
  [[nodiscard]] bool reached(std::span<const std::int32_t> generated) const;

  // Throws Error naming the field for a negative max_new_tokens or an eos_id outside [0, vocab_size).
  void validate(std::int64_t vocab_size) const;
};

}  // namespace tinymamba
