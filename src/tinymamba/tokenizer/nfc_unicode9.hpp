// Hugging Face's NFC normalizes with Unicode 9.0 data (tokenizers 0.23.2 calls the crate
// unicode-normalization-alignments 0.1.12, whose tables are Unicode 9.0), while utf8proc has Unicode 15.0. By
// Unicode's normalization stability policy the two differ only on characters assigned after 9.0: to Unicode
// 9.0 those are unassigned — combining class 0, no decomposition, in no composition.
#pragma once

namespace tinymamba {

// Whether `cp` is one of the 111 characters (Unicode 10.0..15.0) that Unicode 15.0 gives a non-zero canonical
// combining class, a canonical decomposition or a place in one, and Unicode 9.0 did not have — U+1DF6..1DFA,
// U+11943, U+1E4EC.. — so that Hugging Face's NFC treats it as a starter that composes with nothing.
[[nodiscard]] bool normalizes_after_unicode9(char32_t cp);

}  // namespace tinymamba
