// Arbitrary model folders (config.json + model.safetensors, packed as in model_input.hpp) through what `info`,
// `forward` and `generate` do: parse the config, read the tensors, build the model (every tensor present, of the
// config's shape and a float dtype, all values finite), then run a short parallel forward and recurrent steps.
// A model or an Error, nothing else: no crash, no allocation beyond what the file's tensors account for.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "fuzz_support.hpp"
#include "model_input.hpp"
#include "tinymamba/core/error.hpp"
#include "tinymamba/core/parallel.hpp"
#include "tinymamba/io/model_folder.hpp"
#include "tinymamba/io/config_json.hpp"
#include "tinymamba/io/safetensors.hpp"
#include "tinymamba/model/lm.hpp"
#include "tinymamba/model/lm_step.hpp"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  tinymamba::set_num_threads(1);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace tinymamba;
  const auto [config_text, tensor_bytes] = fuzz::split_model_input(fuzz::as_text(data, size));
  try {
    const Config c = parse_config(config_text, "fuzz/config.json");
    const SafetensorsFile f =
        parse_safetensors(std::as_bytes(std::span(tensor_bytes.data(), tensor_bytes.size())), "fuzz/model.safetensors");
    const Model m = model_from_tensors(c, f.tensors, "fuzz/model.safetensors");
    // The model's float32 buffer is accounted for by the file: at most 2 bytes of file per parameter (F16/BF16),
    // plus the layout's alignment padding.
    TM_FUZZ_CHECK(static_cast<std::uint64_t>(c.parameter_count()) <= tensor_bytes.size() / 2);
    const std::int32_t V = static_cast<std::int32_t>(std::min<std::int64_t>(c.vocab_size, 1 << 30));
    const std::vector<std::int32_t> ids = {0, V - 1, V / 2};
    Activations acts;
    InferenceState state(c, 1);
    lm_forward(m, ids, 1, 3, acts, {.last_logits_only = true}, &state);
    TM_FUZZ_CHECK(static_cast<std::int64_t>(acts.logits.size()) == c.padded_vocab());
    const std::int32_t next[] = {V - 1};
    StepActivations step;
    lm_step(m, next, state, step);
    TM_FUZZ_CHECK(static_cast<std::int64_t>(step.logits.size()) == c.padded_vocab());
  } catch (const Error& e) {
    TM_FUZZ_CHECK(std::string_view(e.what()).find('\n') == std::string_view::npos);
  }
  return 0;
}
