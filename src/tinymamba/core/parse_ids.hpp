// Token ids written as text, from the command line or stdin ("tokenize --decode", "generate --prompt-ids"):
// a strict parser, since the text comes from outside (and is fuzzed).
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace tinymamba {

// Parses non-negative decimal integers separated by ASCII whitespace and/or single commas: "1 2 3", "1,2,3",
// "1, 2,\n3". Empty or all-whitespace text gives no ids. Anything else is an Error naming `what`, the offending
// item (escaped and shortened so the message stays one line) and its byte offset: a sign ("-1", "+1"), any
// other character ("1.5", "0x10", "12a"), a number above 9223372036854775807, or an empty item (a comma at
// the start or the end, or two commas with nothing between them).
[[nodiscard]] std::vector<std::int64_t> parse_ids(std::string_view text, std::string_view what);

}  // namespace tinymamba
