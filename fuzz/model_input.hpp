// The input format of model_fuzz: a model folder's two files in one buffer,
//   [config length: 4 bytes little-endian][config.json text][model.safetensors bytes]
// (a length past the end means the whole input is the config and there is no tensor file).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

namespace tinymamba::fuzz {

inline std::string model_input(std::string_view config, std::string_view safetensors) {
  std::string out;
  for (int i = 0; i < 4; ++i) out += static_cast<char>((config.size() >> (8 * i)) & 0xff);
  return out.append(config).append(safetensors);
}

inline std::pair<std::string_view, std::string_view> split_model_input(std::string_view in) {
  if (in.size() < 4) return {in, {}};
  std::uint32_t n = 0;
  for (int i = 3; i >= 0; --i) n = (n << 8) | static_cast<std::uint8_t>(in[static_cast<std::size_t>(i)]);
  in.remove_prefix(4);
  if (n > in.size()) return {in, {}};
  return {in.substr(0, n), in.substr(n)};
}

}  // namespace tinymamba::fuzz
