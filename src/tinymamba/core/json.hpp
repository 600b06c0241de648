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

#include <cmath>
#include <cstddef>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

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

// Python's json module writes the non-finite floats as the bare tokens Infinity, -Infinity and NaN (transformers'
// config.json: "time_step_limit": [0.0, Infinity]). JSON has no such tokens; parse_json_python accepts exactly
// these three where a value may stand — an array element, an object member's value, the whole document — and
// nothing else that plain JSON refuses. Each becomes a string holding a marker (a control character, which a
// JSON string can only hold escaped); read it back with nonfinite_value.
inline constexpr char kNonfiniteMarker = '\x01';

inline nlohmann::json parse_json_python(std::string_view text, const std::string& name) {
  std::string out;
  out.reserve(text.size());
  std::vector<char> open;  // the containers around the current position: '[' or '{'
  char last = 0;           // the last structural character or value end outside strings (0 at the start)
  for (std::size_t i = 0; i < text.size();) {
    const char ch = text[i];
    if (ch == '"') {  // copy the string through, escapes included
      std::size_t j = i + 1;
      while (j < text.size() && text[j] != '"') j += text[j] == '\\' ? 2 : 1;
      j = std::min(j + 1, text.size());
      out.append(text.substr(i, j - i));
      i = j;
      last = '"';
      continue;
    }
    const bool value_position = (open.empty() && last == 0) || (!open.empty() && open.back() == '[' && (last == '[' || last == ',')) ||
                                (!open.empty() && open.back() == '{' && last == ':');
    bool replaced = false;
    for (const std::string_view token : {"-Infinity", "Infinity", "NaN"}) {
      if (value_position && text.substr(i, token.size()) == token) {
        out += "\"\\u0001";
        out += token;
        out += '"';
        i += token.size();
        last = '"';
        replaced = true;
        break;
      }
    }
    if (replaced) continue;
    if (ch == '[' || ch == '{') open.push_back(ch);
    if ((ch == ']' || ch == '}') && !open.empty()) open.pop_back();
    if (!std::isspace(static_cast<unsigned char>(ch))) last = ch;
    out += ch;
    ++i;
  }
  return parse_json(out, name);
}

// The number a parse_json_python marker stands for (±inf or NaN), or nullopt for any other value.
inline std::optional<double> nonfinite_value(const nlohmann::json& v) {
  if (!v.is_string()) return std::nullopt;
  const std::string& s = v.get_ref<const std::string&>();
  if (s.empty() || s[0] != kNonfiniteMarker) return std::nullopt;
  if (s == std::string(1, kNonfiniteMarker) + "Infinity") return std::numeric_limits<double>::infinity();
  if (s == std::string(1, kNonfiniteMarker) + "-Infinity") return -std::numeric_limits<double>::infinity();
  if (s == std::string(1, kNonfiniteMarker) + "NaN") return std::numeric_limits<double>::quiet_NaN();
  return std::nullopt;
}

}  // namespace tinymamba
