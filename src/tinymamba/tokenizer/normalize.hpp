// Unicode Normalization Form C (canonical decomposition, then canonical composition), the `NFC` normalizer of
// tokenizer.json: "e" + U+0301 becomes "é", U+212B (Angstrom sign) becomes U+00C5, Hangul jamo compose to
// syllables. As Hugging Face's tokenizers computes it, with Unicode 9.0 data: utf8proc's (Unicode 15.0 in
// Debian 12's utf8proc 2.8) less the characters that normalize only since 10.0 (nfc_unicode9.hpp), which stay
// as they are — so where they occur this is not Unicode 15.0's NFC. O(n log n) on any input.
#pragma once

#include <string>
#include <string_view>

namespace tinymamba {

// The NFC form of `text` (Hugging Face's), which must be well-formed UTF-8 (NUL characters are fine).
[[nodiscard]] std::string nfc(std::string_view text);

}  // namespace tinymamba
