// Bytes for hand-built binary files, shared by the unit tests' builders (torch_bin_builders.hpp) and the
// fuzz targets' (fuzz/fuzz_support.hpp): little-endian integers and the zip format's CRC-32. No GoogleTest here,
// so the fuzz targets can include it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace tinymamba::test {

// Little-endian integers as bytes.
inline std::string le(std::uint64_t v, int bytes) {
  std::string out;
  for (int i = 0; i < bytes; ++i) out += static_cast<char>((v >> (8 * i)) & 0xff);
  return out;
}

// CRC-32 (IEEE 802.3, reflected, as zip records it), bit by bit.
inline std::uint32_t crc32(std::string_view data) {
  std::uint32_t crc = 0xffffffff;
  for (char c : data) {
    crc ^= static_cast<std::uint8_t>(c);
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1)));
  }
  return ~crc;
}

}  // namespace tinymamba::test
