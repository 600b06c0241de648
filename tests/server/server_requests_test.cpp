// Request parsing: every field of POST /v1/completions in and out of range, wrong types, unknown fields,
// malformed JSON and invalid UTF-8 give a 400 naming the field; valid bodies give the typed request.
#include <gtest/gtest.h>

#include "generate_test_support.hpp"
#include "tinymamba/server/api_error.hpp"
#include "tinymamba/server/requests.hpp"

namespace tinymamba::server {
namespace {

const Tokenizer& tok() { return test::bundled_tokenizer(); }  // byte-level: one id per byte

CompletionRequest parse(const std::string& body, RequestLimits limits = {}) {
  return parse_completion_request(body, tok(), limits);
}

// The error's param, status and message of a body that must be refused.
ApiError refusal(const std::string& body, RequestLimits limits = {}) {
  try {
    (void)parse(body, limits);
  } catch (const ApiError& e) {
    return e;
  }
  ADD_FAILURE() << "accepted: " << body;
  return ApiError(0, "");
}

TEST(ServerRequests, PromptForms) {
  EXPECT_EQ(parse(R"({"prompt": "ab"})").prompts, (std::vector<std::vector<std::int32_t>>{{'a', 'b'}}));
  EXPECT_EQ(parse(R"({"prompt": [1, 2, 3]})").prompts, (std::vector<std::vector<std::int32_t>>{{1, 2, 3}}));
  EXPECT_EQ(parse(R"({"prompt": ["a", [5]]})").prompts, (std::vector<std::vector<std::int32_t>>{{'a'}, {5}}));
  EXPECT_EQ(parse(R"({"prompt": ["a", "b"]})").prompts.size(), 2u);
}

TEST(ServerRequests, DefaultsAreOpenAIs) {
  const CompletionRequest r = parse(R"({"prompt": "a"})");
  EXPECT_EQ(r.max_tokens, 16);
  EXPECT_EQ(r.sampling.temperature, 1.0f);
  EXPECT_EQ(r.sampling.top_p, 1.0f);
  EXPECT_FALSE(r.stream);
  EXPECT_FALSE(r.echo);
  EXPECT_EQ(r.logprobs, -1);
  EXPECT_FALSE(r.seeded);
}

TEST(ServerRequests, Fields) {
  const CompletionRequest r = parse(
      R"({"model": "m", "prompt": "a", "max_tokens": 5, "temperature": 0.5, "top_p": 0.9, "top_k": 7, "min_p": 0.1,
          "repeat_penalty": 1.2, "seed": 18446744073709551615, "stop": ["x", "yz"], "stream": true, "n": 1,
          "echo": true, "logprobs": 3, "user": "u"})");
  EXPECT_EQ(r.max_tokens, 5);
  EXPECT_EQ(r.sampling.temperature, 0.5f);
  EXPECT_EQ(r.sampling.top_p, 0.9f);
  EXPECT_EQ(r.sampling.top_k, 7);
  EXPECT_EQ(r.sampling.min_p, 0.1f);
  EXPECT_EQ(r.sampling.repeat_penalty, 1.2f);
  EXPECT_EQ(r.sampling.seed, 18446744073709551615ull);
  EXPECT_TRUE(r.seeded);
  EXPECT_EQ(r.stop, (std::vector<std::string>{"x", "yz"}));
  EXPECT_TRUE(r.stream);
  EXPECT_TRUE(r.echo);
  EXPECT_EQ(r.logprobs, 3);
  EXPECT_EQ(parse(R"({"prompt": "a", "stop": "q"})").stop, std::vector<std::string>{"q"});
  EXPECT_TRUE(parse(R"({"prompt": "a", "stream": true, "stream_options": {"include_usage": true}})").stream_usage);
}

TEST(ServerRequests, BadInputNamesTheField) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"prompt": "a", "max_tokens": "5"})", "max_tokens"},
      {R"({"prompt": "a", "max_tokens": -1})", "max_tokens"},
      {R"({"prompt": "a", "max_tokens": 5000})", "max_tokens"},
      {R"({"prompt": "a", "temperature": -1})", "temperature"},
      {R"({"prompt": "a", "temperature": 3})", "temperature"},
      {R"({"prompt": "a", "temperature": "hot"})", "temperature"},
      {R"({"prompt": "a", "top_p": 0})", "top_p"},
      {R"({"prompt": "a", "top_p": 1.5})", "top_p"},
      {R"({"prompt": "a", "top_k": -2})", "top_k"},
      {R"({"prompt": "a", "top_k": 1.5})", "top_k"},
      {R"({"prompt": "a", "min_p": 2})", "min_p"},
      {R"({"prompt": "a", "repeat_penalty": 0})", "repeat_penalty"},
      {R"({"prompt": "a", "seed": -1})", "seed"},
      {R"({"prompt": "a", "seed": 1.5})", "seed"},
      {R"({"prompt": "a", "stop": 3})", "stop"},
      {R"({"prompt": "a", "stop": ["a", "b", "c", "d", "e"]})", "stop"},
      {R"({"prompt": "a", "stop": [""]})", "stop"},
      {R"({"prompt": "a", "stream": "yes"})", "stream"},
      {R"({"prompt": "a", "echo": 1})", "echo"},
      {R"({"prompt": "a", "n": 2})", "n"},
      {R"({"prompt": "a", "best_of": 2})", "best_of"},
      {R"({"prompt": "a", "logprobs": 21})", "logprobs"},
      {R"({"prompt": "a", "presence_penalty": 0.5})", "presence_penalty"},
      {R"({"prompt": "a", "frobnicate": 1})", "frobnicate"},
      {R"({"prompt": "a", "model": 3})", "model"},
      {R"({"prompt": "a", "stream_options": {"include_usage": 1}})", "stream_options.include_usage"},
      {R"({"prompt": "a", "stream_options": {"x": true}})", "stream_options.x"},
      {R"({})", "prompt"},
      {R"({"prompt": ""})", "prompt"},
      {R"({"prompt": []})", "prompt"},
      {R"({"prompt": 5})", "prompt"},
      {R"({"prompt": [1, 256]})", "prompt[1]"},
      {R"({"prompt": [1, -1]})", "prompt[1]"},
      {R"({"prompt": ["a", ""]})", "prompt[1]"},
      {R"({"prompt": ["a", [1, "x"]]})", "prompt[1][1]"},
  };
  for (const auto& [body, param] : cases) {
    const ApiError e = refusal(body);
    EXPECT_EQ(e.status(), 400) << body;
    EXPECT_EQ(e.param(), param) << body << ": " << e.what();
    EXPECT_EQ(e.type(), "invalid_request_error");
  }
}

TEST(ServerRequests, LimitsOnPromptsAndContext) {
  const RequestLimits limits{.ctx_max = 8, .max_prompts = 2};
  EXPECT_EQ(refusal(R"({"prompt": "123456789"})", limits).param(), "prompt");
  EXPECT_EQ(refusal(R"({"prompt": "1234", "max_tokens": 5})", limits).param(), "max_tokens");
  EXPECT_EQ(refusal(R"({"prompt": ["a", "b", "c"]})", limits).param(), "prompt");
  EXPECT_EQ(parse(R"({"prompt": "1234", "max_tokens": 4})", limits).max_tokens, 4);
}

TEST(ServerRequests, MalformedBodies) {
  // The last two: a number beyond a double (the JSON library's out_of_range, found by fuzzing) and an input the
  // parser's message quotes with its newline (messages are one line).
  for (const std::string body : {"", "{", "[1]", "\"x\"", "{\"prompt\": \"a\"} x", "{\"prompt\": \"\xff\"}",
                                 "{\"prompt\": \"\xc3\"}", "{\"prompt\": \"a\", \"seed\": 1e99999}", "{\"prompt\":\n x"}) {
    const ApiError e = refusal(body);
    EXPECT_EQ(e.status(), 400) << body;
    EXPECT_EQ(e.param(), "") << body;
    EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();
  }
}

TEST(ServerRequests, TokenizeAndDetokenize) {
  EXPECT_EQ(parse_tokenize_request(R"({"content": "hi"})"), "hi");
  EXPECT_EQ(parse_detokenize_request(R"({"tokens": [104, 105]})", 256), (std::vector<std::int32_t>{104, 105}));
  EXPECT_THROW((void)parse_tokenize_request(R"({"content": 1})"), ApiError);
  EXPECT_THROW((void)parse_detokenize_request(R"({"tokens": [256]})", 256), ApiError);
  EXPECT_THROW((void)parse_detokenize_request(R"({"tokens": "x"})", 256), ApiError);
  EXPECT_THROW((void)parse_detokenize_request(R"({"tokens": [], "x": 1})", 256), ApiError);
}

TEST(ServerRequests, ErrorBodyIsOpenAIs) {
  const auto body = ApiError(400, "bad thing", "top_p").body();
  EXPECT_EQ(body.dump(), R"({"error":{"message":"bad thing","param":"top_p","type":"invalid_request_error"}})");
  EXPECT_TRUE(ApiError(503, "busy", "", "server_error").body()["error"]["param"].is_null());
}

}  // namespace
}  // namespace tinymamba::server
