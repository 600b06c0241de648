// Two small helpers for parsers of bytes that come from outside (zip archives, pickles):
//  - load_le<T>: a little-endian unsigned integer from bytes the caller has already bounds-checked (byte by byte, so
//    alignment and host byte order do not matter);
//  - quoted: a name read from a file, made safe for a one-line error message (control and non-ASCII bytes escaped,
//    long names cut), because a hostile file can put a newline or a megabyte into a tensor or entry name.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>

namespace tinymamba {

template <class T>
[[nodiscard]] T load_le(const std::byte* p) {
  static_assert(std::is_unsigned_v<T>);
  T v = 0;
  for (std::size_t i = sizeof(T); i-- > 0;) v = static_cast<T>((v << 8) | static_cast<std::uint8_t>(p[i]));
  return v;
}

// 'text' with bytes outside printable ASCII (and the quote and backslash) written as \xNN; at most `max_bytes` of
// the input are shown, then "...".
[[nodiscard]] inline std::string quoted(std::string_view text, std::size_t max_bytes = 120) {
  constexpr char kHex[] = "0123456789abcdef";
  std::string out = "'";
  for (std::size_t i = 0; i < text.size() && i < max_bytes; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7f && c != '\'' && c != '\\') {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  if (text.size() > max_bytes) out += "...";
  return out + "'";
}

}  // namespace tinymamba
