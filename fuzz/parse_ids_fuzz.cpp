// Arbitrary bytes as token ids on the command line or stdin (`generate --prompt-ids`, `tokenize --decode`). The
// parser either returns ids or throws an Error with a one-line message; what it returns must survive a round
// trip through its canonical spelling, and agree with a plain reference reading of the grammar.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_support.hpp"
#include "tinymamba/core/error.hpp"
#include "tinymamba/core/parse_ids.hpp"

namespace {

// The grammar, read the simple way: items separated by whitespace and/or single commas; every item all digits
// and at most 2^63 - 1. Returns false where the parser must refuse.
bool reference_parse(std::string_view text, std::vector<std::int64_t>& ids) {
  std::string normalized;  // commas become " , " so that everything splits on whitespace
  for (char c : text) {
    if (c == ',') normalized += " , ";
    else if (c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r') normalized += ' ';
    else normalized += c;
  }
  std::vector<std::string> items;
  std::string current;
  for (char c : normalized + " ") {
    if (c == ' ') {
      if (!current.empty()) items.push_back(current);
      current.clear();
    } else {
      current += c;
    }
  }
  bool expect_id = true;  // at the start, and after a comma
  bool seen_comma_pending = false;
  for (const std::string& item : items) {
    if (item == ",") {
      if (expect_id) return false;  // comma first, or two commas
      expect_id = true;
      seen_comma_pending = true;
      continue;
    }
    std::uint64_t v = 0;
    for (char c : item) {
      if (c < '0' || c > '9') return false;
      if (v > (static_cast<std::uint64_t>(INT64_MAX) - static_cast<std::uint64_t>(c - '0')) / 10) return false;
      v = v * 10 + static_cast<std::uint64_t>(c - '0');
    }
    ids.push_back(static_cast<std::int64_t>(v));
    expect_id = false;
    seen_comma_pending = false;
  }
  return !seen_comma_pending;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace tinymamba;
  const std::string_view text = fuzz::as_text(data, size);
  std::vector<std::int64_t> want;
  const bool valid = reference_parse(text, want);
  try {
    const std::vector<std::int64_t> ids = parse_ids(text, "fuzz");
    TM_FUZZ_CHECK(valid);
    TM_FUZZ_CHECK(ids == want);
    std::string canonical;
    for (std::size_t i = 0; i < ids.size(); ++i) canonical += (i ? ", " : "") + std::to_string(ids[i]);
    TM_FUZZ_CHECK(parse_ids(canonical, "fuzz") == ids);
  } catch (const Error& e) {
    TM_FUZZ_CHECK(!valid);
    TM_FUZZ_CHECK(std::string_view(e.what()).find('\n') == std::string_view::npos);
  }
  return 0;
}
