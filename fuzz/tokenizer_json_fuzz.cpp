// Arbitrary bytes as a tokenizer.json (Tokenizer::from_json, what Tokenizer::load runs on the file's text). A
// tokenizer or an Error, nothing else. A tokenizer that loads must then work: a few fixed texts encode to ids in
// range that decode without error (streamed decoding agreeing with decode), and every id decodes.
#include <algorithm>
#include <cstddef>
#include <optional>
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_support.hpp"
#include "tinymamba/core/error.hpp"
#include "tinymamba/tokenizer/streaming_decoder.hpp"
#include "tinymamba/tokenizer/tokenizer.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace tinymamba;
  std::optional<Tokenizer> tok;
  try {
    tok.emplace(Tokenizer::from_json(fuzz::as_text(data, size), "fuzz/tokenizer.json"));
  } catch (const Error& e) {
    TM_FUZZ_CHECK(std::string_view(e.what()).find('\n') == std::string_view::npos);
    return 0;
  }
  TM_FUZZ_CHECK(tok->vocab_size() >= 1);
  const char* texts[] = {"Hello world", "  two  spaces\n\ttab", "<|endoftext|>x", "caf\xc3\xa9 e\xcc\x81", "123 4567",
                         "\xf0\x9f\x98\x80!", ""};
  for (const char* text : texts) {
    const std::vector<std::int32_t> ids = tok->encode(text);
    for (std::int32_t id : ids) TM_FUZZ_CHECK(id >= 0 && id < tok->vocab_size());
    const std::string decoded = tok->decode(ids);
    StreamingDecoder stream(*tok);
    std::string streamed;
    for (std::int32_t id : ids) streamed += stream.push(id);
    streamed += stream.flush();
    TM_FUZZ_CHECK(streamed == decoded);
  }
  const std::int32_t n = static_cast<std::int32_t>(std::min<std::int64_t>(tok->vocab_size(), 4096));
  for (std::int32_t id = 0; id < n; ++id) {
    const std::int32_t one[] = {id};
    (void)tok->decode(one);
    (void)tok->token(id);
  }
  return 0;
}
