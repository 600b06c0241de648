// UTF-8 as the tokenizer needs it: check that input text is well formed (naming the first bad byte), walk the
// code points of text already checked, and turn arbitrary bytes (token bytes can split a character) back into
// valid text the way Hugging Face's decoder does.
//
// Well-formed means Unicode §3.9 Table 3-7: no overlong forms, no surrogates (U+D800..DFFF), nothing past
// U+10FFFF. The lossy conversion replaces each ill-formed stretch by one U+FFFD per "maximal subpart" (the
// longest prefix of a well-formed sequence, or a single byte) — the practice of Unicode §3.9 (U+FFFD
// substitution of maximal subparts) and of Rust's String::from_utf8_lossy, which Hugging Face decode uses.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tinymamba {

// The byte offset of the first byte of the first ill-formed sequence in `bytes`, or nullopt if all of it is
// well-formed UTF-8. A sequence cut off by the end of `bytes` is ill-formed.
[[nodiscard]] std::optional<std::size_t> find_invalid_utf8(std::string_view bytes);

// Throws Error("<what>: invalid UTF-8 at byte offset N (byte 0xXX)") unless `text` is well-formed UTF-8.
void check_utf8(std::string_view text, std::string_view what);

// Whether `byte` can be part of well-formed UTF-8 (all bytes but C0, C1 and F5..FF can).
[[nodiscard]] constexpr bool byte_occurs_in_utf8(std::uint8_t byte) {
  return byte != 0xC0 && byte != 0xC1 && byte < 0xF5;
}

struct CodePoint {
  char32_t value;
  std::uint32_t length;  // its UTF-8 length in bytes, 1..4
};

// The code point that starts at text[pos]. Precondition: `text` is well-formed and pos < text.size().
[[nodiscard]] CodePoint decode_utf8_at(std::string_view text, std::size_t pos);

// Appends the UTF-8 form of `cp` (a Unicode scalar value) to `out`.
void append_utf8(std::string& out, char32_t cp);

// Appends `bytes` to `out`, each maximal subpart of an ill-formed sequence replaced by U+FFFD, and returns how
// many bytes of `bytes` it consumed. With `final` false it stops before a trailing sequence that is incomplete
// but could still be completed by later bytes (a streaming decoder holds those back); with `final` true it
// consumes everything.
std::size_t append_utf8_lossy(std::string& out, std::string_view bytes, bool final);

}  // namespace tinymamba
