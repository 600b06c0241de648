// When generation ends: after the EOS token (kept in the output, as the official decode() keeps it) or once
// -n new tokens exist, whichever comes first.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

namespace tinymamba {

struct StopRule {
  std::int64_t max_new_tokens = 0;     // -n
  std::optional<std::int32_t> eos_id;  // nullopt: no token stops generation (--ignore-eos, or no EOS known)

  // Whether `generated` (the new ids only, not the prompt) is complete. True for an empty list when
  // max_new_tokens is 0, so the loop `while (!rule.reached(generated)) generated.push_back(...)` is the whole
  // protocol.
  [[nodiscard]] bool reached(std::span<const std::int32_t> generated) const;
};

// The rule for the flags `-n N [--eos ID] [--ignore-eos]`: EOS is --eos if given, else the tokenizer's (nullopt
// if it has none); --ignore-eos turns it off. Throws Error naming the flag for a negative -n, an --eos outside
// [0, vocab_size), or --eos together with --ignore-eos (they contradict each other).
[[nodiscard]] StopRule stop_rule_from_flags(std::int64_t max_new_tokens, std::optional<std::int64_t> eos_flag,
                                            bool ignore_eos, std::optional<std::int32_t> tokenizer_eos,
                                            std::int64_t vocab_size);

}  // namespace tinymamba
