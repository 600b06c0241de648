// Arbitrary bytes as a pytorch_model.bin: the strict zip reader, the restricted unpickler and the storage and
// view checks together. A state_dict or an Error, nothing else: no crash, no read outside the input, no
// allocation beyond the copy budget (the archive's own size), and every tensor's bytes agree with its shape.
#include <cstddef>
#include <cstdint>
#include <span>

#include "fuzz_support.hpp"
#include "tinymamba/core/error.hpp"
#include "tinymamba/io/torch_bin.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace tinymamba;
  try {
    const TensorMap tensors = parse_torch_bin(std::as_bytes(std::span(data, size)), "fuzz.bin");
    std::uint64_t copied = 0;
    for (const auto& [name, t] : tensors) {
      (void)fuzz::touch(t);
      const auto* begin = reinterpret_cast<const std::byte*>(data);
      const bool inside = t.bytes.empty() || (t.bytes.data() >= begin && t.bytes.data() + t.bytes.size() <= begin + size);
      if (!inside) copied += t.bytes.size();
    }
    TM_FUZZ_CHECK(copied <= size);  // strided copies, all together, stay within the archive's size
  } catch (const Error&) {
  }
  return 0;
}
