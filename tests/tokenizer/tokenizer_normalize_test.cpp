#include "tinymamba/tokenizer/normalize.hpp"

#include <gtest/gtest.h>
#include <utf8proc.h>

#include <chrono>
#include <cstdlib>
#include <random>

#include <nlohmann/json.hpp>

#include "tinymamba/tokenizer/utf8.hpp"
#include "tokenizer_test_support.hpp"

namespace tinymamba {
namespace {

TEST(TokenizerNormalize, KnownNfcForms) {
  EXPECT_EQ(nfc(""), "");
  EXPECT_EQ(nfc("plain ASCII\n"), "plain ASCII\n");
  EXPECT_EQ(nfc("e\u0301"), "\u00e9");
  EXPECT_EQ(nfc("\u212b \u2126 \uf900"), "\u00c5 \u03a9 \u8c48");  // singletons: Angstrom, Ohm, CJK compatibility
  EXPECT_EQ(nfc("\u1100\u1161\u11a8"), "\uac01");                  // conjoining jamo -> a Hangul syllable
  EXPECT_EQ(nfc("\u0958"), "\u0915\u093c");                         // a composition exclusion stays decomposed
  EXPECT_EQ(nfc("a\u0328\u0301"), "\u0105\u0301");                 // ogonek (202) before acute (230)
  EXPECT_EQ(nfc("a\u0301\u0328"), "\u0105\u0301");                 // ... in either order
  EXPECT_EQ(nfc("\u1e9b\u0323"), "\u1e9b\u0323");                   // UAX #15's example
  EXPECT_EQ(nfc(std::string_view("\0e\u0301\0", 5)), std::string_view("\0\u00e9\0", 4));  // NUL is kept
  EXPECT_EQ(nfc("\ufb01 \u2122"), "\ufb01 \u2122");                  // compatibility characters are kept
}

// Hugging Face's NFC has Unicode 9.0 data (nfc_unicode9.hpp), utf8proc 15.0's; each string is a minimal case of
// a difference, and the expected NFC and ids are Hugging Face's (tokenizers 0.23.2, as installed into the build
// folder by tests/tokenizer_diff/run.sh), from the repository root:
//   node -e 'const t = require("./build/tokenizer-diff/node_modules/tokenizers");
//     const tok = t.Tokenizer.fromFile("../shared/tokenizer/gpt-neox-20b.json"); const nfc = t.nfcNormalizer();
//     (async () => { for (const s of process.argv.slice(1)) { const text = JSON.parse(`"${s}"`);
//       const ids = (await tok.encode(text, null, { addSpecialTokens: false })).getIds();
//       console.log(s, [...nfc.normalizeString(text)].map((c) => c.codePointAt(0).toString(16)), ids); } })();'
//     'x\u0301\u1df7' 'a\ud806\udd43\u0301' '\ud806\udd35\ud806\udd30' '\uac00\u11a7' '\u1100\u1161\u11a7'
TEST(TokenizerNormalize, MarksNewerThanUnicode9AreStartersLikeHuggingFace) {
  const Tokenizer& tok = test::neox_tokenizer();
  // U+1DF7 (class 228 since Unicode 10.0) is not sorted before U+0301 (230).
  EXPECT_EQ(nfc("x\u0301\u1df7"), "x\u0301\u1df7");
  EXPECT_EQ(tok.encode("x\u0301\u1df7"), (std::vector<std::int32_t>{89, 136, 212, 157, 117, 117}));
  // U+11943 (class 7 since Unicode 13.0) blocks "a" + U+0301 from composing, as a starter does.
  EXPECT_EQ(nfc("a\U00011943\u0301"), "a\U00011943\u0301");
  EXPECT_EQ(tok.encode("a\U00011943\u0301"), (std::vector<std::int32_t>{66, 172, 228, 100, 214, 136, 212}));
  // U+11935 U+11930 is not composed into U+11938 (a Unicode 13.0 composition).
  EXPECT_EQ(nfc("\U00011935\U00011930"), "\U00011935\U00011930");
  EXPECT_EQ(tok.encode("\U00011935\U00011930"), (std::vector<std::int32_t>{172, 228, 99, 115, 172, 228, 99, 110}));
}

// utf8proc 2.8 composed an LV syllable with U+11A7 (not a trailing consonant) by dropping the U+11A7.
TEST(TokenizerNormalize, KeepsU11A7AfterAnLvSyllableLikeHuggingFace) {
  const Tokenizer& tok = test::neox_tokenizer();
  for (const std::string text : {"\uac00\u11a7", "\u1100\u1161\u11a7"}) {
    EXPECT_EQ(nfc(text), "\uac00\u11a7") << nlohmann::json(text).dump();
    EXPECT_EQ(tok.encode(text), (std::vector<std::int32_t>{35061, 157, 217, 102})) << nlohmann::json(text).dump();
  }
}

// utf8proc's own NFC (utf8proc_map with STABLE|COMPOSE, what utf8proc_NFC does) is the oracle on short strings
// of characters that Unicode 9.0 had already (where its 15.0 data is 9.0's), U+11A7 excepted.
std::string utf8proc_nfc(std::string_view text) {
  utf8proc_uint8_t* out = nullptr;
  const auto n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(text.data()),
                              static_cast<utf8proc_ssize_t>(text.size()), &out,
                              static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_COMPOSE));
  std::string s = n >= 0 ? std::string(reinterpret_cast<char*>(out), static_cast<std::size_t>(n)) : "<error>";
  std::free(out);
  return s;
}

TEST(TokenizerNormalize, AgreesWithUtf8procOnRandomMarkHeavyText) {
  const std::vector<char32_t> alphabet = {
      'a', 'e', 'o', 'A', ' ', 0,      0x00E9, 0x0300, 0x0301, 0x0308, 0x0316, 0x0323, 0x0327, 0x0328, 0x0344,
      0x0345, 0x05B0, 0x05BC, 0x0915, 0x093C, 0x0958, 0x0F71, 0x0F72, 0x0F73, 0x0F80, 0x1100, 0x1161, 0x11A8,
      0xAC00, 0x1E9B, 0x1F00, 0x212B, 0x3099, 0x304B, 0xF900, 0x1D15E, 0x1D165, 0x1D16E};
  const unsigned seed = 9;
  std::mt19937 rng(seed);
  for (int trial = 0; trial < 20000; ++trial) {
    std::string text;
    for (int n = static_cast<int>(rng() % 12); n > 0; --n) append_utf8(text, alphabet[rng() % alphabet.size()]);
    ASSERT_EQ(nfc(text), utf8proc_nfc(text)) << "seed " << seed << " trial " << trial << " text "
                                             << nlohmann::json(text).dump();
  }
}

// A megabyte of alternating combining marks: canonical ordering must not be quadratic.
TEST(TokenizerNormalize, LongRunsOfMarksAreFast) {
  constexpr int kPairs = 1 << 18;
  std::string text = "a";
  for (int i = 0; i < kPairs; ++i) text += "\u0301\u0316";  // acute (class 230), grave below (220)
  const auto start = std::chrono::steady_clock::now();
  const std::string out = nfc(text);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("NFC of %zu bytes of alternating marks: %.2f s\n", text.size(), seconds);
  // All the 220s move before the 230s; then the first acute is no longer blocked and composes with 'a'.
  std::string want = "\u00e1";
  for (int i = 0; i < kPairs; ++i) want += "\u0316";
  for (int i = 1; i < kPairs; ++i) want += "\u0301";
  EXPECT_EQ(out, want);
  std::string tibetan;  // U+0F73 is a starter that decomposes into two marks of different classes
  for (int i = 0; i < kPairs; ++i) tibetan += "\u0f73";
  EXPECT_EQ(nfc(tibetan).size(), std::size_t{6} * kPairs);
}

}  // namespace
}  // namespace tinymamba
