// Arbitrary bytes as the data.pkl of a torch.save archive. First the restricted unpickler alone; when it accepts
// the pickle, the harness writes a well-formed archive around it with every storage the pickle names (each of
// exactly numel x element-size bytes, all together at most 4 MiB), so the fuzzer reaches the view checks and the
// strided copies without having to keep a zip consistent. (That nothing outside the allowlist is ever called
// holds by construction: the unpickler has no way to call anything else; pickle_test checks the refusals.)
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "fuzz_support.hpp"
#include "tinymamba/core/error.hpp"
#include "tinymamba/io/pickle.hpp"
#include "tinymamba/io/torch_bin.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace tinymamba;
  const std::string pickle(reinterpret_cast<const char*>(data), size);
  PickledStateDict state;
  try {
    state = unpickle_state_dict(std::as_bytes(std::span(pickle)), "fuzz.pkl");
  } catch (const Error&) {
    return 0;
  }
  for (const PickledStorage& s : state.storages) TM_FUZZ_CHECK(s.numel >= 0);
  for (const auto& [key, t] : state.tensors) {
    TM_FUZZ_CHECK(t.storage < state.storages.size());
    TM_FUZZ_CHECK(t.shape.size() <= kMaxTensorDims);
  }

  std::vector<std::pair<std::string, std::string>> entries = {{"archive/data.pkl", pickle},
                                                              {"archive/version", "3\n"}};
  std::uint64_t total = 0;
  for (const PickledStorage& s : state.storages) {
    const auto element = static_cast<std::uint64_t>(dtype_size(s.dtype));
    if (static_cast<std::uint64_t>(s.numel) > (std::uint64_t{4} << 20) / element) return 0;
    total += static_cast<std::uint64_t>(s.numel) * element;
    if (total > (std::uint64_t{4} << 20)) return 0;
    std::string bytes(static_cast<std::size_t>(s.numel) * element, '\0');
    for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>(i * 131 + 7);
    entries.emplace_back("archive/data/" + s.key, std::move(bytes));
  }
  const std::string archive = fuzz::stored_zip(entries);
  try {
    const TensorMap tensors = parse_torch_bin(std::as_bytes(std::span(archive)), "fuzz.bin");
    TM_FUZZ_CHECK(tensors.size() == state.tensors.size());
    for (const auto& [name, t] : tensors) (void)fuzz::touch(t);
  } catch (const Error&) {
  }
  return 0;
}
