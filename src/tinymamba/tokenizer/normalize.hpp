// Unicode Normalization Form C (canonical decomposition, then canonical composition), the `NFC` normalizer of
// tokenizer.json: "e" + U+0301 becomes "é", U+212B (Angstrom sign) becomes U+00C5, Hangul jamo compose to
// syllables. Unicode data from utf8proc (Unicode 15.0 in Debian 12's utf8proc 2.8). O(n log n) on any input.
#pragma once

#include <string>
#include <string_view>

namespace tinymamba {

// The NFC form of `text`, which must be well-formed UTF-8 (NUL characters are fine).
[[nodiscard]] std::string nfc(std::string_view text);

}  // namespace tinymamba
