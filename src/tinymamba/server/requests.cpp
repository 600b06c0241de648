#include "tinymamba/server/requests.hpp"

#include <cmath>
#include <random>
#include <set>

#include "tinymamba/core/error.hpp"
#include "tinymamba/server/api_error.hpp"

namespace tinymamba::server {

using nlohmann::json;

namespace {

[[noreturn]] void bad(const std::string& param, const std::string& message) { throw ApiError(400, message, param); }

void check_known_fields(const json& body, const std::set<std::string>& known) {
  for (const auto& [key, value] : body.items())
    if (!known.contains(key)) bad(key, "unknown field '" + key + "'");
}

std::int64_t get_int(const json& v, const std::string& name, std::int64_t lo, std::int64_t hi) {
  if (!v.is_number_integer()) bad(name, name + " must be an integer, got " + v.dump());
  if (v.is_number_unsigned() ? v.get<std::uint64_t>() > static_cast<std::uint64_t>(hi) : v.get<std::int64_t>() < lo ||
                                                                                         v.get<std::int64_t>() > hi)
    bad(name, cat(name, " must be in [", lo, ", ", hi, "], got ", v.dump()));
  return v.get<std::int64_t>();
}

float get_float(const json& v, const std::string& name) {
  if (!v.is_number()) bad(name, name + " must be a number, got " + v.dump());
  return v.get<float>();
}

bool get_bool(const json& v, const std::string& name) {
  if (!v.is_boolean()) bad(name, name + " must be true or false, got " + v.dump());
  return v.get<bool>();
}

std::vector<std::int32_t> token_array(const json& v, const std::string& name, std::int64_t vocab) {
  std::vector<std::int32_t> ids;
  for (std::size_t i = 0; i < v.size(); ++i)
    ids.push_back(static_cast<std::int32_t>(get_int(v[i], cat(name, "[", i, "]"), 0, vocab - 1)));
  return ids;
}

// A prompt: a string, or an array of token ids.
std::vector<std::int32_t> one_prompt(const json& v, const std::string& name, const Tokenizer& tok) {
  std::vector<std::int32_t> ids;
  if (v.is_string()) {
    ids = tok.encode(v.get<std::string>());
  } else if (v.is_array()) {
    ids = token_array(v, name, tok.vocab_size());
  } else {
    bad(name, name + " must be a string, an array of token ids, or a list of either");
  }
  if (ids.empty()) bad(name, name + " is empty (it must hold at least one token)");
  return ids;
}

}  // namespace

json parse_json_object(std::string_view body) {
  json j;
  try {
    j = json::parse(body);
  } catch (const json::exception& e) {  // parse_error, and out_of_range for a number beyond a double
    throw ApiError(400, std::string("the body is not valid JSON: ") + e.what());
  }
  if (!j.is_object()) throw ApiError(400, "the body must be a JSON object");
  return j;
}

CompletionRequest parse_completion_request(std::string_view text, const Tokenizer& tok, const RequestLimits& limits) {
  const json body = parse_json_object(text);
  check_known_fields(body, {"model", "prompt", "max_tokens", "temperature", "top_p", "top_k", "min_p",
                            "repeat_penalty", "seed", "stop", "stream", "n", "echo", "logprobs", "user",
                            "presence_penalty", "frequency_penalty", "best_of", "stream_options"});
  CompletionRequest r;
  if (body.contains("model") && !body["model"].is_string()) bad("model", "model must be a string");

  if (!body.contains("prompt")) bad("prompt", "prompt is required");
  const json& p = body["prompt"];
  // A list of prompts: strings, or arrays of ids. A flat array of integers is one prompt.
  const bool list = p.is_array() && !p.empty() && (p[0].is_string() || p[0].is_array());
  if (list) {
    if (std::ssize(p) > limits.max_prompts) bad("prompt", cat("more than ", limits.max_prompts, " prompts"));
    for (std::size_t i = 0; i < p.size(); ++i) r.prompts.push_back(one_prompt(p[i], cat("prompt[", i, "]"), tok));
  } else {
    r.prompts.push_back(one_prompt(p, "prompt", tok));
  }

  if (body.contains("max_tokens") && !body["max_tokens"].is_null())
    r.max_tokens = get_int(body["max_tokens"], "max_tokens", 0, limits.ctx_max);
  for (std::size_t i = 0; i < r.prompts.size(); ++i) {
    const std::int64_t n = std::ssize(r.prompts[i]);
    const std::string name = list ? cat("prompt[", i, "]") : "prompt";
    if (n > limits.ctx_max) bad(name, cat(name, " has ", n, " tokens, more than the context limit of ", limits.ctx_max));
    if (n + r.max_tokens > limits.ctx_max)
      bad("max_tokens", cat("max_tokens ", r.max_tokens, " + the prompt's ", n, " tokens exceed the context limit of ",
                            limits.ctx_max));
  }

  const auto set_float = [&](const char* name, float& field) {
    if (body.contains(name) && !body[name].is_null()) field = get_float(body[name], name);
  };
  set_float("temperature", r.sampling.temperature);
  set_float("top_p", r.sampling.top_p);
  set_float("min_p", r.sampling.min_p);
  set_float("repeat_penalty", r.sampling.repeat_penalty);
  if (body.contains("top_k") && !body["top_k"].is_null())
    r.sampling.top_k = get_int(body["top_k"], "top_k", 0, tok.vocab_size());
  if (r.sampling.temperature > 2) bad("temperature", cat("temperature must be in [0, 2], got ", r.sampling.temperature));
  if (const auto f = r.sampling.invalid_field()) bad(std::string(f->field), std::string(f->field) + " " + f->problem);
  if (body.contains("seed") && !body["seed"].is_null()) {
    const json& s = body["seed"];
    if (!s.is_number_unsigned() && !(s.is_number_integer() && s.get<std::int64_t>() >= 0))
      bad("seed", "seed must be an integer from 0 to 2^64-1, got " + s.dump());
    r.sampling.seed = s.get<std::uint64_t>();
    r.seeded = true;
  } else {
    r.sampling.seed = std::random_device{}();
  }

  if (body.contains("stop") && !body["stop"].is_null()) {
    const json& s = body["stop"];
    if (s.is_string()) {
      r.stop.push_back(s.get<std::string>());
    } else if (s.is_array() && s.size() <= 4) {
      for (const json& e : s) {
        if (!e.is_string()) bad("stop", "stop must be a string or a list of up to 4 strings");
        r.stop.push_back(e.get<std::string>());
      }
    } else {
      bad("stop", "stop must be a string or a list of up to 4 strings");
    }
    for (const std::string& s2 : r.stop)
      if (s2.empty()) bad("stop", "stop strings must not be empty");
  }
  if (body.contains("stream") && !body["stream"].is_null()) r.stream = get_bool(body["stream"], "stream");
  if (body.contains("echo") && !body["echo"].is_null()) r.echo = get_bool(body["echo"], "echo");
  if (body.contains("n") && !body["n"].is_null()) (void)get_int(body["n"], "n", 1, 1);
  if (body.contains("best_of") && !body["best_of"].is_null()) (void)get_int(body["best_of"], "best_of", 1, 1);
  if (body.contains("logprobs") && !body["logprobs"].is_null())
    r.logprobs = get_int(body["logprobs"], "logprobs", 0, 20);
  for (const char* name : {"presence_penalty", "frequency_penalty"})
    if (body.contains(name) && !body[name].is_null() && get_float(body[name], name) != 0)
      bad(name, std::string(name) + " is not supported (only 0); use repeat_penalty");
  if (body.contains("user") && !body["user"].is_string()) bad("user", "user must be a string");
  if (body.contains("stream_options") && !body["stream_options"].is_null()) {
    const json& o = body["stream_options"];
    if (!o.is_object()) bad("stream_options", "stream_options must be an object");
    for (const auto& [key, value] : o.items()) {
      if (key != "include_usage") bad("stream_options." + key, "unknown field 'stream_options." + key + "'");
      r.stream_usage = get_bool(value, "stream_options.include_usage");
    }
  }
  return r;
}

std::string parse_tokenize_request(std::string_view text) {
  const json body = parse_json_object(text);
  check_known_fields(body, {"content"});
  if (!body.contains("content") || !body["content"].is_string()) bad("content", "content must be a string");
  return body["content"].get<std::string>();
}

std::vector<std::int32_t> parse_detokenize_request(std::string_view text, std::int64_t vocab_size) {
  const json body = parse_json_object(text);
  check_known_fields(body, {"tokens"});
  if (!body.contains("tokens") || !body["tokens"].is_array()) bad("tokens", "tokens must be an array of token ids");
  return token_array(body["tokens"], "tokens", vocab_size);
}

}  // namespace tinymamba::server
