// Arbitrary bytes as a safetensors file: a model or an Error, nothing else (no crash, no UB, no huge allocation).
#include <cstddef>
#include <cstdint>
#include <span>

#include "tinymamba/core/error.hpp"
#include "tinymamba/io/safetensors.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const auto f = tinymamba::parse_safetensors(std::as_bytes(std::span(data, size)), "fuzz.safetensors");
    for (const auto& [name, t] : f.tensors)
      if (tinymamba::dtype_is_float(t.dtype)) (void)tinymamba::to_f32(t, name);  // touch every byte it claims
  } catch (const tinymamba::Error&) {
  }
  return 0;
}
