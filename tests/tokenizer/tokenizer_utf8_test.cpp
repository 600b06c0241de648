#include <gtest/gtest.h>

#include <random>
#include <string>

#include "tinymamba/core/error.hpp"
#include "tinymamba/tokenizer/utf8.hpp"

namespace tinymamba {
namespace {

constexpr std::string_view kFffd = "\xEF\xBF\xBD";

std::string lossy(std::string_view bytes) {
  std::string out;
  EXPECT_EQ(append_utf8_lossy(out, bytes, /*final=*/true), bytes.size());
  return out;
}

TEST(TokenizerUtf8, FindsTheFirstIllFormedSequence) {
  EXPECT_EQ(find_invalid_utf8(""), std::nullopt);
  EXPECT_EQ(find_invalid_utf8("plain ASCII, long enough for the 8-byte fast path"), std::nullopt);
  EXPECT_EQ(find_invalid_utf8("h\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 \xF4\x8F\xBF\xBF"), std::nullopt);
  EXPECT_EQ(find_invalid_utf8(std::string_view("a\0b", 3)), std::nullopt);  // NUL is a character
  EXPECT_EQ(find_invalid_utf8("abcdefghij\xFF"), 10u);
  EXPECT_EQ(find_invalid_utf8("ab\x80"), 2u);              // lone continuation byte
  EXPECT_EQ(find_invalid_utf8("ab\xC0\xAF"), 2u);          // overlong '/'
  EXPECT_EQ(find_invalid_utf8("ab\xE0\x80\xAF"), 2u);      // overlong '/', three bytes
  EXPECT_EQ(find_invalid_utf8("ab\xED\xA0\x80"), 2u);      // surrogate U+D800
  EXPECT_EQ(find_invalid_utf8("ab\xF4\x90\x80\x80"), 2u);  // U+110000
  EXPECT_EQ(find_invalid_utf8("ab\xF5\x80\x80\x80"), 2u);  // F5 never starts a sequence
  EXPECT_EQ(find_invalid_utf8("abc\xE2\x82"), 3u);         // cut off by the end
  EXPECT_EQ(find_invalid_utf8("\xE2\x82x"), 0u);
}

TEST(TokenizerUtf8, CheckNamesTheOffsetAndByte) {
  try {
    check_utf8("abc\xFF", "input text");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "input text: invalid UTF-8 at byte offset 3 (byte 0xFF)");
  }
  EXPECT_NO_THROW(check_utf8("ok \xE2\x82\xAC", "x"));
}

TEST(TokenizerUtf8, DecodesAndEncodesEveryScalarValue) {
  for (char32_t cp = 0; cp <= 0x10FFFF; ++cp) {
    if (cp >= 0xD800 && cp <= 0xDFFF) continue;
    std::string s;
    append_utf8(s, cp);
    ASSERT_EQ(find_invalid_utf8(s), std::nullopt) << "U+" << std::hex << static_cast<std::uint32_t>(cp);
    const CodePoint back = decode_utf8_at(s, 0);
    ASSERT_TRUE(back.value == cp) << "U+" << std::hex << static_cast<std::uint32_t>(cp);
    ASSERT_EQ(back.length, s.size());
  }
}

// Unicode §3.9, Table 3-8 ("U+FFFD for maximal subparts"): the example bytes 61 F1 80 80 E1 80 C2 62 80 63 80
// BF 64 give a FFFD FFFD FFFD b FFFD c FFFD FFFD d.
TEST(TokenizerUtf8, LossyReplacesEachMaximalSubpart) {
  const std::string f(kFffd);
  EXPECT_EQ(lossy("\x61\xF1\x80\x80\xE1\x80\xC2\x62\x80\x63\x80\xBF\x64"),
            "a" + f + f + f + "b" + f + "c" + f + f + "d");
  EXPECT_EQ(lossy("\xED\xA0\x80"), f + f + f);  // surrogate: ED then A0 is not allowed, each byte alone
  EXPECT_EQ(lossy("\xF0\x9F\x98"), f);          // one truncated sequence at the end
  EXPECT_EQ(lossy("\xF0\x9F\x98x"), f + "x");
  EXPECT_EQ(lossy("\xC0\xAF"), f + f);
  EXPECT_EQ(lossy("ok \xE2\x82\xAC"), "ok \xE2\x82\xAC");
}

TEST(TokenizerUtf8, NonFinalLossyHoldsBackOnlyACompletablePrefix) {
  std::string out;
  EXPECT_EQ(append_utf8_lossy(out, "ab\xE2\x82", /*final=*/false), 2u);
  EXPECT_EQ(out, "ab");
  out.clear();
  EXPECT_EQ(append_utf8_lossy(out, "ab\xE2\x82x", /*final=*/false), 5u);  // broken by 'x': not completable
  EXPECT_EQ(out, "ab" + std::string(kFffd) + "x");
  out.clear();
  EXPECT_EQ(append_utf8_lossy(out, "\xFF", /*final=*/false), 1u);  // can never become valid
  EXPECT_EQ(out, kFffd);
}

// Feeding bytes in pieces (holding back a completable tail each time) gives what one final pass gives.
TEST(TokenizerUtf8, PiecewiseLossyEqualsWholeLossy) {
  const unsigned seed = 20240615;
  std::mt19937 rng(seed);
  const std::string alphabet = "a\x80\xBF\xC2\xC3\xE0\xE2\xED\xF0\xF4\x82\xAC\x9F\x90\xA0\x98";
  for (int trial = 0; trial < 20000; ++trial) {
    std::string bytes;
    for (int i = static_cast<int>(rng() % 12); i > 0; --i) bytes += alphabet[rng() % alphabet.size()];
    std::string streamed, pending;
    for (std::size_t pos = 0; pos < bytes.size();) {
      const std::size_t n = 1 + rng() % 3;
      pending += bytes.substr(pos, n);
      pos += n;
      pending.erase(0, append_utf8_lossy(streamed, pending, /*final=*/false));
      ASSERT_LE(pending.size(), 3u);
    }
    append_utf8_lossy(streamed, pending, /*final=*/true);
    ASSERT_EQ(streamed, lossy(bytes)) << "seed " << seed << " trial " << trial;
    ASSERT_EQ(find_invalid_utf8(streamed), std::nullopt);
  }
}

}  // namespace
}  // namespace tinymamba
