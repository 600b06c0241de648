// JSON from outside (safetensors headers, config.json, tokenizer.json, sharded indexes) is parsed here:
// nlohmann-json with limits, and errors that name the file.
//  - Nesting: at most kMaxJsonDepth levels, so a file of a million '[' cannot exhaust the stack.
//  - Values: at most kMaxJsonValues (objects, arrays, scalars), so that memory stays bounded whatever the file:
//    the parsed document costs up to ~100 bytes per value (a std::map node per object member) however few bytes
//    of input a value takes ("0," is two), so a 100 MB header of "k":"" pairs would otherwise take 2.5 GB — and
//    a std::bad_alloc while nlohmann unwinds a large document ends in std::terminate (its destructor allocates).
//    With the cap the document stays under ~250 MB. Real files are far below it: GPT-NeoX's tokenizer.json has
//    about 100,000 values, the largest public tokenizers about 1,000,000, a safetensors header 8 per tensor.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "tinymamba/core/error.hpp"

namespace tinymamba {

inline constexpr int kMaxJsonDepth = 64;
inline constexpr std::size_t kMaxJsonValues = std::size_t{1} << 21;

// Parses `text`; throws Error("<name>: not valid JSON: ...") on malformed input or invalid UTF-8, and
// Error("<name>: JSON nesting deeper than ..." / "more than N JSON values ...") past the limits.
inline nlohmann::json parse_json(std::string_view text, const std::string& name, std::size_t max_values = kMaxJsonValues) {
  std::size_t values = 0;
  try {
    return nlohmann::json::parse(text.begin(), text.end(), [&](int depth, nlohmann::json::parse_event_t event, nlohmann::json&) {
      if (depth > kMaxJsonDepth) throw Error("JSON nesting deeper than " + std::to_string(kMaxJsonDepth) + " levels");
      using E = nlohmann::json::parse_event_t;
      if ((event == E::value || event == E::object_start || event == E::array_start) && ++values > max_values)
        throw Error("more than " + std::to_string(max_values) + " JSON values, the limit (memory stays bounded)");
      return true;
    });
  } catch (const nlohmann::json::exception& e) {
    fail(name, ": not valid JSON: ", e.what());
  } catch (const Error& e) {
    fail(name, ": ", e.what());
  }
}

}  // namespace tinymamba
