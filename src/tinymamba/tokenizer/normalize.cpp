#include "tinymamba/tokenizer/normalize.hpp"

#include <utf8proc.h>

#include <algorithm>
#include <vector>

#include "tinymamba/core/error.hpp"
#include "tinymamba/tokenizer/utf8.hpp"

namespace tinymamba {
namespace {

int combining_class(utf8proc_int32_t cp) { return utf8proc_get_property(cp)->combining_class; }

}  // namespace

// NFC in its three textbook steps. utf8proc_map would do all three, but its canonical ordering is a gnome sort:
// quadratic on a long run of alternating combining marks (160 KB of them took 22 s), so hostile text could
// hang it. Here utf8proc decomposes and composes, and each run of marks is put in order by std::stable_sort —
// the same order (stable, by combining class), in O(n log n).
std::string nfc(std::string_view text) {
  // ASCII is its own NFC form (no ASCII character decomposes or composes with a following ASCII character).
  if (std::all_of(text.begin(), text.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; })) {
    return std::string(text);
  }
  // 1. Canonical decomposition, a character at a time (Hangul syllables into jamo, "é" into "e" + U+0301).
  std::vector<utf8proc_int32_t> cps;
  cps.reserve(text.size() + 1);
  for (std::size_t pos = 0; pos < text.size();) {
    const CodePoint cp = decode_utf8_at(text, pos);
    pos += cp.length;
    utf8proc_int32_t parts[8];  // canonical decompositions have at most 4 code points
    const utf8proc_ssize_t n = utf8proc_decompose_char(static_cast<utf8proc_int32_t>(cp.value), parts, 8,
                                                       UTF8PROC_DECOMPOSE, nullptr);
    TM_CHECK(n > 0 && n <= 8, "NFC: cannot decompose U+", static_cast<std::uint32_t>(cp.value));
    cps.insert(cps.end(), parts, parts + n);
  }
  // 2. Canonical ordering: each run of non-starters (combining class > 0) sorted stably by class.
  for (auto run = cps.begin(); run != cps.end();) {
    run = std::find_if(run, cps.end(), [](utf8proc_int32_t c) { return combining_class(c) != 0; });
    const auto end = std::find_if(run, cps.end(), [](utf8proc_int32_t c) { return combining_class(c) == 0; });
    if (end - run > 1) {
      std::stable_sort(run, end, [](utf8proc_int32_t a, utf8proc_int32_t b) {
        return combining_class(a) < combining_class(b);
      });
    }
    run = end;
  }
  // 3. Canonical composition (STABLE: composition exclusions stay decomposed), then UTF-8, in place: the
  // bytes take at most 4 per code point, plus the NUL utf8proc_reencode writes after them.
  const std::size_t count = cps.size();
  cps.push_back(0);
  const utf8proc_ssize_t bytes = utf8proc_reencode(cps.data(), static_cast<utf8proc_ssize_t>(count),
                                                   static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_COMPOSE));
  TM_CHECK(bytes >= 0, "NFC: composition failed: ", utf8proc_errmsg(bytes));
  return std::string(reinterpret_cast<const char*>(cps.data()), static_cast<std::size_t>(bytes));
}

}  // namespace tinymamba
