// Arbitrary bytes as the body of POST /v1/completions (`tinymamba serve`). The parser either returns a request
// that holds to every limit the scheduler relies on, or throws an ApiError with a 4xx status, a one-line
// message and OpenAI's error body — never another exception, a crash or a hang.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_support.hpp"
#include "tinymamba/server/api_error.hpp"
#include "tinymamba/server/requests.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace tinymamba;
  static const Tokenizer tok = Tokenizer::load(std::string(TINYMAMBA_SOURCE_DIR) + "/models/tinyshakespeare/tokenizer.json");
  const server::RequestLimits limits{.ctx_max = 512, .max_prompts = 4};
  try {
    const server::CompletionRequest r = server::parse_completion_request(fuzz::as_text(data, size), tok, limits);
    TM_FUZZ_CHECK(!r.prompts.empty() && std::ssize(r.prompts) <= limits.max_prompts);
    for (const auto& p : r.prompts) {
      TM_FUZZ_CHECK(!p.empty() && std::ssize(p) + r.max_tokens <= limits.ctx_max);
      for (const std::int32_t id : p) TM_FUZZ_CHECK(id >= 0 && id < tok.vocab_size());
    }
    TM_FUZZ_CHECK(r.max_tokens >= 0);
    TM_FUZZ_CHECK(!r.sampling.invalid_field());
    TM_FUZZ_CHECK(r.stop.size() <= 4);
    for (const std::string& s : r.stop) TM_FUZZ_CHECK(!s.empty());
    TM_FUZZ_CHECK(r.logprobs >= -1 && r.logprobs <= 20);
  } catch (const server::ApiError& e) {
    TM_FUZZ_CHECK(e.status() >= 400 && e.status() < 500);
    TM_FUZZ_CHECK(std::string_view(e.what()).find('\n') == std::string_view::npos);
    (void)e.body().dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  return 0;
}
