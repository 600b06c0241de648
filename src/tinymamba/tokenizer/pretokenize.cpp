#include "tinymamba/tokenizer/pretokenize.hpp"

#include <utf8proc.h>

#include <array>
#include <initializer_list>

#include "tinymamba/tokenizer/utf8.hpp"

namespace tinymamba {

CharClass char_class(char32_t cp) {
  // White_Space is the separators (Zs, Zl, Zp) plus the controls TAB, LF, VT, FF, CR and NEL; checked against
  // Hugging Face tokenizers 0.23.2 on every White_Space character and on look-alikes that are not (U+001C..1F,
  // U+180E, U+200B..200D, U+2060, U+FEFF).
  if ((cp >= 0x09 && cp <= 0x0D) || cp == 0x85) return CharClass::kSpace;
  switch (utf8proc_category(static_cast<utf8proc_int32_t>(cp))) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO:
      return CharClass::kLetter;
    case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_NO:
      return CharClass::kNumber;
    case UTF8PROC_CATEGORY_ZS:
    case UTF8PROC_CATEGORY_ZL:
    case UTF8PROC_CATEGORY_ZP:
      return CharClass::kSpace;
    default:
      return CharClass::kOther;
  }
}

namespace {

struct ClassifiedChar {
  char32_t value;
  std::uint32_t length;  // bytes
  CharClass cls;
};

// char_class of the ASCII characters, looked up once: most text is ASCII.
const std::array<CharClass, 128> kAsciiClasses = [] {
  std::array<CharClass, 128> table{};
  for (char32_t c = 0; c < 128; ++c) table[c] = char_class(c);
  return table;
}();

ClassifiedChar non_ascii_char_at(std::string_view text, std::size_t pos) {
  const CodePoint cp = decode_utf8_at(text, pos);
  return {cp.value, cp.length, char_class(cp.value)};
}

// Small enough to be inlined into the scanning loops (the ASCII case is a table lookup).
ClassifiedChar char_at(std::string_view text, std::size_t pos) {
  const auto byte = static_cast<std::uint8_t>(text[pos]);
  if (byte < 0x80) return {byte, 1, kAsciiClasses[byte]};
  return non_ascii_char_at(text, pos);
}

// 's|'t|'re|'ve|'m|'ll|'d — case-sensitive, whatever follows ("'sup" gives "'s", "up"). Returns 0 if none.
std::size_t contraction_length(std::string_view text, std::size_t pos) {
  if (text[pos] != '\'') return 0;
  const std::string_view rest = text.substr(pos + 1);
  for (std::string_view suffix : {"s", "t", "re", "ve", "m", "ll", "d"}) {
    if (rest.starts_with(suffix)) return 1 + suffix.size();
  }
  return 0;
}

}  // namespace

std::size_t gpt2_piece_length(std::string_view text, std::size_t pos) {
  if (const std::size_t n = contraction_length(text, pos)) return n;

  // ` ?\p{L}+`, ` ?\p{N}+`, ` ?[^\s\p{L}\p{N}]+`: an optional space, then a maximal run of one class.
  ClassifiedChar first = char_at(text, pos);
  std::size_t run = pos;
  if (first.value == ' ' && pos + 1 < text.size()) {
    const ClassifiedChar next = char_at(text, pos + 1);
    if (next.cls != CharClass::kSpace) {
      first = next;
      run = pos + 1;
    }
  }
  if (first.cls != CharClass::kSpace) {
    std::size_t end = run + first.length;
    while (end < text.size()) {
      const ClassifiedChar c = char_at(text, end);
      if (c.cls != first.cls) break;
      end += c.length;
    }
    return end - pos;
  }

  // `\s+(?!\S)|\s+`: a maximal whitespace run. Followed by a non-space, the first alternative backtracks one
  // character (so the run minus its last character), unless the run is a single character, which the second
  // alternative then takes alone.
  std::size_t end = pos;
  std::size_t last = pos;  // where the run's last character starts
  while (end < text.size()) {
    const ClassifiedChar c = char_at(text, end);
    if (c.cls != CharClass::kSpace) break;
    last = end;
    end += c.length;
  }
  if (end == text.size() || last == pos) return end - pos;
  return last - pos;
}

}  // namespace tinymamba
