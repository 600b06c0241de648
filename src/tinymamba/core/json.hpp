// JSON from outside (safetensors headers, config.json, tokenizer.json) is parsed here: nlohmann-json with a
// nesting limit, so a hostile file of a million '[' cannot exhaust the stack, and errors that name the file.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "tinymamba/core/error.hpp"

namespace tinymamba {

inline constexpr int kMaxJsonDepth = 64;

// Parses `text`; throws Error("<name>: not valid JSON: ...") on malformed input, invalid UTF-8 or nesting
// deeper than kMaxJsonDepth.
inline nlohmann::json parse_json(std::string_view text, const std::string& name) {
  try {
    return nlohmann::json::parse(text.begin(), text.end(), [](int depth, nlohmann::json::parse_event_t, nlohmann::json&) {
      if (depth > kMaxJsonDepth) throw Error("nesting deeper than " + std::to_string(kMaxJsonDepth) + " levels");
      return true;
    });
  } catch (const nlohmann::json::exception& e) {
    fail(name, ": not valid JSON: ", e.what());
  } catch (const Error& e) {
    fail(name, ": not valid JSON: ", e.what());
  }
}

}  // namespace tinymamba
