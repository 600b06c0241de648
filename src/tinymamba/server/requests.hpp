// The JSON bodies the server accepts, parsed into typed requests. Every problem is an ApiError 400 naming the
// field (`param`) and what is wrong: malformed JSON, wrong types, unknown fields, values out of range, prompts
// or max_tokens beyond the limits. Strings arrive as JSON, which the parser checks for valid UTF-8.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "tinymamba/sampling/sampling_params.hpp"
#include "tinymamba/tokenizer/tokenizer.hpp"

namespace tinymamba::server {

struct RequestLimits {
  std::int64_t ctx_max = 4096;  // prompt tokens + max_tokens, per prompt
  std::int64_t max_prompts = 16;  // prompts in one request (a list of prompts)
};

// POST /v1/completions, as OpenAI defines it (n = 1), plus top_k, min_p and repeat_penalty.
struct CompletionRequest {
  std::vector<std::vector<std::int32_t>> prompts;  // each non-empty
  std::int64_t max_tokens = 16;
  SamplingParams sampling;           // OpenAI's defaults: temperature 1, top_p 1, no top_k / min_p / penalty
  bool seeded = false;               // whether `seed` was given (else sampling.seed is a random one)
  std::vector<std::string> stop;     // up to 4 non-empty strings; the text ends before the first one
  bool stream = false, echo = false;
  bool stream_usage = false;         // stream_options.include_usage: a last chunk with the usage
  std::int64_t logprobs = -1;        // how many top alternatives per token; -1: none
};

// Throws ApiError 400 unless `body` is one JSON object.
[[nodiscard]] nlohmann::json parse_json_object(std::string_view body);

[[nodiscard]] CompletionRequest parse_completion_request(std::string_view body, const Tokenizer& tokenizer,
                                                         const RequestLimits& limits);

// POST /tokenize {"content": "text"} -> the text.
[[nodiscard]] std::string parse_tokenize_request(std::string_view body);
// POST /detokenize {"tokens": [ids]} -> the ids, each in [0, vocab_size).
[[nodiscard]] std::vector<std::int32_t> parse_detokenize_request(std::string_view body, std::int64_t vocab_size);

}  // namespace tinymamba::server
