#include "tinymamba/tokenizer/utf8.hpp"

#include <cstdio>
#include <cstring>

#include "tinymamba/core/error.hpp"

namespace tinymamba {
namespace {

// What starts at bytes[pos]: a well-formed sequence of `length` bytes, or an ill-formed one whose maximal
// subpart is `length` bytes long. `truncated`: the subpart is a valid prefix that ran into the end of `bytes`.
struct Utf8Sequence {
  std::uint32_t length;
  bool valid;
  bool truncated;
};

Utf8Sequence examine_utf8(std::string_view bytes, std::size_t pos) {
  const auto byte = [&](std::size_t i) { return static_cast<std::uint8_t>(bytes[i]); };
  const std::uint8_t b0 = byte(pos);
  if (b0 < 0x80) return {1, true, false};
  // Table 3-7: the lead byte fixes how many continuation bytes follow and the range of the first one (which is
  // where overlong forms, surrogates and code points past U+10FFFF are excluded); later ones are 80..BF.
  std::uint32_t continuation = 0;
  std::uint8_t lo = 0x80, hi = 0xBF;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    continuation = 1;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    continuation = 2;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    continuation = 3;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;
  } else {
    return {1, false, false};  // 80..C1 or F5..FF never start a sequence
  }
  for (std::uint32_t i = 1; i <= continuation; ++i) {
    if (pos + i >= bytes.size()) return {i, false, true};
    const std::uint8_t b = byte(pos + i);
    if (b < (i == 1 ? lo : 0x80) || b > (i == 1 ? hi : 0xBF)) return {i, false, false};
  }
  return {continuation + 1, true, false};
}

}  // namespace

std::optional<std::size_t> find_invalid_utf8(std::string_view bytes) {
  std::size_t pos = 0;
  while (pos < bytes.size()) {
    // ASCII fast path: most text is ASCII, eight bytes at a time.
    while (pos + 8 <= bytes.size()) {
      std::uint64_t word;
      std::memcpy(&word, bytes.data() + pos, 8);
      if (word & 0x8080808080808080ull) break;
      pos += 8;
    }
    if (pos >= bytes.size()) break;
    const Utf8Sequence s = examine_utf8(bytes, pos);
    if (!s.valid) return pos;
    pos += s.length;
  }
  return std::nullopt;
}

void check_utf8(std::string_view text, std::string_view what) {
  const auto bad = find_invalid_utf8(text);
  if (!bad) return;
  char hex[8];
  std::snprintf(hex, sizeof hex, "0x%02X", static_cast<unsigned>(static_cast<std::uint8_t>(text[*bad])));
  fail(what, ": invalid UTF-8 at byte offset ", *bad, " (byte ", hex, ")");
}

CodePoint decode_utf8_at(std::string_view text, std::size_t pos) {
  const auto byte = [&](std::size_t i) { return static_cast<char32_t>(static_cast<std::uint8_t>(text[pos + i])); };
  const char32_t b0 = byte(0);
  if (b0 < 0x80) return {b0, 1};
  if (b0 < 0xE0) return {((b0 & 0x1F) << 6) | (byte(1) & 0x3F), 2};
  if (b0 < 0xF0) return {((b0 & 0x0F) << 12) | ((byte(1) & 0x3F) << 6) | (byte(2) & 0x3F), 3};
  return {((b0 & 0x07) << 18) | ((byte(1) & 0x3F) << 12) | ((byte(2) & 0x3F) << 6) | (byte(3) & 0x3F), 4};
}

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

std::size_t append_utf8_lossy(std::string& out, std::string_view bytes, bool final) {
  static constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD
  std::size_t pos = 0;
  std::size_t valid_from = 0;  // start of the well-formed run not yet appended
  while (pos < bytes.size()) {
    const Utf8Sequence s = examine_utf8(bytes, pos);
    if (s.valid) {
      pos += s.length;
      continue;
    }
    if (s.truncated && !final) break;  // may still be completed by the next bytes
    out.append(bytes.substr(valid_from, pos - valid_from));
    out.append(kReplacement);
    pos += s.length;
    valid_from = pos;
  }
  out.append(bytes.substr(valid_from, pos - valid_from));
  return pos;
}

}  // namespace tinymamba
