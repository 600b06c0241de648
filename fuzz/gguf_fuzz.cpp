// Arbitrary bytes as a GGUF file: its metadata and tensor views, then a Mamba or Mamba-2 model from them
// (io/gguf_model), or an Error, nothing else (no crash, no UB, no huge allocation); every tensor's claimed bytes
// are read.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "tinymamba/core/error.hpp"
#include "tinymamba/core/quantize.hpp"
#include "tinymamba/io/gguf.hpp"
#include "tinymamba/io/gguf_model.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const auto f = tinymamba::parse_gguf(std::as_bytes(std::span(data, size)), "fuzz.gguf");
    for (const auto& t : f.tensors) {  // the reader bounded each tensor by the file: so is one row of floats
      std::vector<float> row(static_cast<std::size_t>(t.ne[0]));
      const auto row_bytes = static_cast<std::size_t>(tinymamba::weight_row_bytes(t.type, t.ne[0], t.name));
      for (std::size_t at = 0; at + row_bytes <= t.bytes.size(); at += row_bytes)
        tinymamba::dequantize_row(t.type, t.bytes.data() + at, t.ne[0], row.data());
    }
    // Allocates only once every tensor was found with the hparams' dims: a float32 copy of the file's tensors at most.
    (void)tinymamba::model_from_gguf(f, "fuzz.gguf");
  } catch (const tinymamba::Error&) {
  }
  return 0;
}
