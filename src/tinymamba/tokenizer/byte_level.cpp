#include "tinymamba/tokenizer/byte_level.hpp"

#include <array>

#include "tinymamba/tokenizer/utf8.hpp"

namespace tinymamba {
namespace {

bool stands_for_itself(unsigned byte) {
  return (byte >= '!' && byte <= '~') || (byte >= 0xA1 && byte <= 0xAC) || (byte >= 0xAE && byte <= 0xFF);
}

// The stand-ins are all below U+0144 (0x100 + 68), so the inverse map is a small array.
constexpr char32_t kCharLimit = 0x100 + 68;

struct ByteLevelMap {
  std::array<char32_t, 256> char_of_byte{};
  std::array<std::int16_t, kCharLimit> byte_of_char{};  // -1: not a stand-in

  ByteLevelMap() {
    byte_of_char.fill(-1);
    char32_t next = 0x100;
    for (unsigned b = 0; b < 256; ++b) {
      char_of_byte[b] = stands_for_itself(b) ? char32_t{b} : next++;
      byte_of_char[char_of_byte[b]] = static_cast<std::int16_t>(b);
    }
  }
};

const ByteLevelMap& byte_level_map() {
  static const ByteLevelMap map;
  return map;
}

}  // namespace

char32_t byte_to_char(std::uint8_t byte) { return byte_level_map().char_of_byte[byte]; }

std::optional<std::uint8_t> char_to_byte(char32_t c) {
  if (c >= kCharLimit || byte_level_map().byte_of_char[c] < 0) return std::nullopt;
  return static_cast<std::uint8_t>(byte_level_map().byte_of_char[c]);
}

std::optional<std::string> byte_level_to_bytes(std::string_view token_text) {
  std::string bytes;
  for (std::size_t pos = 0; pos < token_text.size();) {
    const CodePoint cp = decode_utf8_at(token_text, pos);
    const auto byte = char_to_byte(cp.value);
    if (!byte) return std::nullopt;
    bytes += static_cast<char>(*byte);
    pos += cp.length;
  }
  return bytes;
}

}  // namespace tinymamba
