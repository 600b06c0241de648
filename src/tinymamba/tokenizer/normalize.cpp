#include "tinymamba/tokenizer/normalize.hpp"

#include <utf8proc.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <span>
#include <utility>
#include <vector>

#include "tinymamba/core/error.hpp"
#include "tinymamba/tokenizer/nfc_unicode9.hpp"
#include "tinymamba/tokenizer/utf8.hpp"

namespace tinymamba {
namespace {

// A starter that composes with nothing, at which step 3 cuts the text for utf8proc: a character Unicode 9.0 did
// not have, or U+11A7, which utf8proc 2.8 "composes" with a preceding LV syllable by dropping it (it takes
// T index 0, U+11A7, as a trailing consonant; Unicode's LV + T composition takes only U+11A8..11C2).
bool composes_with_nothing(utf8proc_int32_t cp) {
  return cp == 0x11A7 || normalizes_after_unicode9(static_cast<char32_t>(cp));
}

}  // namespace

// NFC in its three textbook steps. utf8proc_map would do all three, but its canonical ordering is a gnome sort:
// quadratic on a long run of alternating combining marks (160 KB of them took 22 s), so hostile text could
// hang it; it would use all of its Unicode 15.0 data, where Hugging Face has 9.0's (nfc_unicode9.hpp); and it
// drops a U+11A7 after an LV syllable.
// Here utf8proc decomposes and composes, each run of marks is put in order by std::stable_sort — the same
// order (stable, by combining class), in O(n log n) — and the characters that Unicode 9.0 did not have are
// left as they are: not decomposed, starters, and composed with nothing.
std::string nfc(std::string_view text) {
  // ASCII is its own NFC form (no ASCII character decomposes or composes with a following ASCII character).
  if (std::all_of(text.begin(), text.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; })) {
    return std::string(text);
  }
  // 1. Canonical decomposition, a character at a time (Hangul syllables into jamo, "é" into "e" + U+0301), and
  // the combining class of each code point in Unicode 9.0 (of the parts of a decomposition, all in 9.0 as the
  // character is: utf8proc's).
  std::vector<utf8proc_int32_t> cps;
  std::vector<std::uint8_t> classes;
  cps.reserve(text.size());
  classes.reserve(text.size());
  bool barriers = false;  // whether a starter that composes with nothing occurs
  for (std::size_t pos = 0; pos < text.size();) {
    const CodePoint cp = decode_utf8_at(text, pos);
    pos += cp.length;
    if (normalizes_after_unicode9(cp.value)) {
      cps.push_back(static_cast<utf8proc_int32_t>(cp.value));
      classes.push_back(0);
      barriers = true;
      continue;
    }
    utf8proc_int32_t parts[8];  // canonical decompositions have at most 4 code points
    const utf8proc_ssize_t n = utf8proc_decompose_char(static_cast<utf8proc_int32_t>(cp.value), parts, 8,
                                                       UTF8PROC_DECOMPOSE, nullptr);
    TM_CHECK(n > 0 && n <= 8, "NFC: cannot decompose U+", static_cast<std::uint32_t>(cp.value));
    for (const utf8proc_int32_t part : std::span(parts, static_cast<std::size_t>(n))) {
      cps.push_back(part);
      classes.push_back(utf8proc_get_property(part)->combining_class);
      barriers = barriers || part == 0x11A7;
    }
  }
  // 2. Canonical ordering: each run of non-starters (combining class > 0) sorted stably by class.
  std::vector<std::pair<std::uint8_t, utf8proc_int32_t>> run;  // (class, code point)
  for (std::size_t begin = 0; begin < cps.size();) {
    if (classes[begin] == 0) {
      ++begin;
      continue;
    }
    std::size_t end = begin + 1;
    while (end < cps.size() && classes[end] != 0) ++end;
    if (end - begin > 1) {
      run.clear();
      for (std::size_t i = begin; i < end; ++i) run.emplace_back(classes[i], cps[i]);
      std::stable_sort(run.begin(), run.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
      for (std::size_t i = begin; i < end; ++i) cps[i] = run[i - begin].second;
    }
    begin = end;
  }
  // 3. Canonical composition (STABLE: composition exclusions stay decomposed) by utf8proc, of each stretch
  // between two starters that compose with nothing: they block every composition across them, so they can be
  // left out (and utf8proc would give a character newer than 9.0 its 15.0 class). Then UTF-8.
  std::string out;
  out.reserve(text.size());
  for (auto stretch = cps.begin(); stretch != cps.end();) {
    const auto end = barriers ? std::find_if(stretch, cps.end(), composes_with_nothing) : cps.end();
    const utf8proc_ssize_t n = utf8proc_normalize_utf32(
        std::to_address(stretch), end - stretch, static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_COMPOSE));
    TM_CHECK(n >= 0, "NFC: composition failed: ", utf8proc_errmsg(n));
    std::for_each(stretch, stretch + n, [&](utf8proc_int32_t c) { append_utf8(out, static_cast<char32_t>(c)); });
    if (end == cps.end()) break;
    append_utf8(out, static_cast<char32_t>(*end));
    stretch = end + 1;
  }
  return out;
}

}  // namespace tinymamba
