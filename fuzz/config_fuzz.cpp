// Arbitrary bytes as config.json, read as each dialect (official and Hugging Face) and as detected. A resolved
// Config or an Error with a one-line message, nothing else. A config that parses must describe a parameter
// layout without overflow, and survive a round trip: the Hugging Face serialization (and the official one, when
// it can express the config) reads back to the same model shape.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_support.hpp"
#include "tinymamba/core/error.hpp"
#include "tinymamba/io/config_json.hpp"
#include "tinymamba/model/weights.hpp"

namespace {

void expect_same_shape(const tinymamba::Config& a, const tinymamba::Config& b, bool padded_vocab_only) {
  TM_FUZZ_CHECK(a.d_model == b.d_model && a.n_layer == b.n_layer && a.d_state == b.d_state && a.d_conv == b.d_conv);
  TM_FUZZ_CHECK(a.d_inner == b.d_inner && a.dt_rank == b.dt_rank && a.conv_bias == b.conv_bias && a.bias == b.bias);
  TM_FUZZ_CHECK(a.tie_embeddings == b.tie_embeddings && a.padded_vocab() == b.padded_vocab());
  if (!padded_vocab_only) TM_FUZZ_CHECK(a.vocab_size == b.vocab_size);
  TM_FUZZ_CHECK(a.parameter_count() == b.parameter_count());
}

void check(const tinymamba::Config& c) {
  using namespace tinymamba;
  // The layout of 4096 layers has 45,000 named tensors, built a few times below: keep the fuzzer fast by checking
  // the round trip on configs of at most 64 layers (nothing in it depends on the layer count).
  if (c.n_layer > 64) return;
  const auto layout = parameter_layout(c);
  TM_FUZZ_CHECK(!layout.empty() && parameter_buffer_size(layout) >= c.parameter_count());
  expect_same_shape(c, parse_hf_config(hf_config_json(c), "roundtrip/hf.json"), true);
  std::string official;
  try {
    official = official_config_json(c);  // refuses a d_inner that is not expand * d_model
  } catch (const Error&) {
    return;
  }
  expect_same_shape(c, parse_official_config(official, "roundtrip/official.json"), false);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace tinymamba;
  const std::string_view text = fuzz::as_text(data, size);
  using Parser = Config (*)(std::string_view, const std::string&);
  for (Parser parse : {Parser{parse_config}, Parser{parse_official_config}, Parser{parse_hf_config}}) {
    try {
      check(parse(text, "fuzz/config.json"));
    } catch (const Error& e) {
      TM_FUZZ_CHECK(std::string_view(e.what()).find('\n') == std::string_view::npos);
    }
  }
  return 0;
}
