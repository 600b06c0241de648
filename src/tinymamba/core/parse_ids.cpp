#include "tinymamba/core/parse_ids.hpp"

#include <charconv>
#include <cstdio>
#include <string>
#include <system_error>

#include "tinymamba/core/error.hpp"

namespace tinymamba {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'; }

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// An item for an error message: quoted, every byte outside printable ASCII as \xNN, at most 32 bytes.
std::string quote_for_message(std::string_view item) {
  constexpr std::size_t kMaxBytes = 32;
  std::string out = "'";
  for (const char c : item.substr(0, kMaxBytes)) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x20 && byte < 0x7F && c != '\\' && c != '\'') {
      out += c;
    } else {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02X", byte);
      out += hex;
    }
  }
  out += item.size() > kMaxBytes ? "'..." : "'";
  return out;
}

}  // namespace

std::vector<std::int64_t> parse_ids(std::string_view text, std::string_view what) {
  std::vector<std::int64_t> ids;
  bool after_id = false;                       // the last item was an id (not a comma, not the start)
  std::size_t comma = std::string_view::npos;  // offset of a comma still waiting for the id after it
  std::size_t pos = 0;
  while (pos < text.size()) {
    if (is_space(text[pos])) {
      ++pos;
    } else if (text[pos] == ',') {
      TM_CHECK(after_id, what, ": empty item before the comma at byte offset ", pos);
      after_id = false;
      comma = pos++;
    } else {
      const std::size_t begin = pos;
      while (pos < text.size() && !is_space(text[pos]) && text[pos] != ',') ++pos;
      const std::string_view item = text.substr(begin, pos - begin);
      bool all_digits = true;
      for (const char c : item) all_digits = all_digits && is_digit(c);
      TM_CHECK(all_digits, what, ": ", quote_for_message(item), " at byte offset ", begin,
               " is not a non-negative decimal integer");
      std::int64_t id = 0;
      const auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), id);
      TM_CHECK(ec == std::errc() && end == item.data() + item.size(), what, ": ", quote_for_message(item),
               " at byte offset ", begin, " is larger than 9223372036854775807");
      ids.push_back(id);
      after_id = true;
      comma = std::string_view::npos;
    }
  }
  TM_CHECK(comma == std::string_view::npos, what, ": nothing after the comma at byte offset ", comma);
  return ids;
}

}  // namespace tinymamba
