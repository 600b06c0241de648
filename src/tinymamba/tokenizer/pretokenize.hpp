// The byte-level pre-tokenizer's split: GPT-2's pattern, which cuts text into the pieces ("words") that BPE then
// encodes one at a time,
//
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//
// matched leftmost-first from the start of the text: a contraction; a run of letters, of numbers or of other
// characters, each with at most one leading space; or whitespace, where a run followed by a non-space gives up
// its last character so that the next word can take it as its leading space ("a   b" -> "a", "  ", " b").
//
// Written out as a scanner rather than run through a regex engine so that the character classes come from the
// same Unicode data as NFC (utf8proc) and so that \s means what it means in Hugging Face's regex engine
// (Oniguruma): the Unicode White_Space property. PCRE2's \s also takes U+180E, and its Unicode tables are older.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace tinymamba {

// What the pattern distinguishes: \p{L}, \p{N}, \s, and everything else (punctuation, symbols, controls that
// are not White_Space such as NUL, format characters such as U+200B and U+FEFF, marks, unassigned).
enum class CharClass : std::uint8_t { kLetter, kNumber, kSpace, kOther };

[[nodiscard]] CharClass char_class(char32_t cp);

// The length in bytes of the piece that starts at text[pos]. `text` must be well-formed UTF-8; pos < size.
[[nodiscard]] std::size_t gpt2_piece_length(std::string_view text, std::size_t pos);

// Calls fn(piece) for each piece of `text` (well-formed UTF-8), in order; the pieces concatenate to `text`.
template <class Fn>
void for_each_gpt2_piece(std::string_view text, Fn&& fn) {
  for (std::size_t pos = 0; pos < text.size();) {
    const std::size_t length = gpt2_piece_length(text, pos);
    fn(text.substr(pos, length));
    pos += length;
  }
}

}  // namespace tinymamba
