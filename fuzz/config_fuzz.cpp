// Arbitrary bytes as config.json (both dialects): a resolved Config or an Error. A config that parses must
// also describe a parameter layout without overflow.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "tinymamba/core/error.hpp"
#include "tinymamba/io/config_json.hpp"
#include "tinymamba/model/weights.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const tinymamba::Config c = tinymamba::parse_config(text, "fuzz/config.json");
    (void)c.parameter_count();
  } catch (const tinymamba::Error&) {
  }
  return 0;
}
