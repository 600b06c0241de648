#include "tinymamba/tokenizer/pretokenize.hpp"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <gtest/gtest.h>
#include <pcre2.h>

#include <memory>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include "tinymamba/tokenizer/utf8.hpp"

namespace tinymamba {
namespace {

std::vector<std::string> split(std::string_view text) {
  std::vector<std::string> pieces;
  for_each_gpt2_piece(text, [&](std::string_view piece) { pieces.emplace_back(piece); });
  return pieces;
}

using Pieces = std::vector<std::string>;

TEST(TokenizerPretokenize, SplitsLikeGpt2) {
  EXPECT_EQ(split(""), Pieces{});
  EXPECT_EQ(split("Hello world"), (Pieces{"Hello", " world"}));
  EXPECT_EQ(split("a   b"), (Pieces{"a", "  ", " b"}));  // the run gives its last space to the word
  EXPECT_EQ(split("a   "), (Pieces{"a", "   "}));        // ... unless it ends the text
  EXPECT_EQ(split(" "), (Pieces{" "}));
  EXPECT_EQ(split("a\n\nb"), (Pieces{"a", "\n", "\n", "b"}));  // a 2-run before a word: one, then one alone
  EXPECT_EQ(split("a \n b"), (Pieces{"a", " \n", " b"}));
  EXPECT_EQ(split("don't we'll I'M"), (Pieces{"don", "'t", " we", "'ll", " I", "'", "M"}));  // case-sensitive
  EXPECT_EQ(split("'sup ''s"), (Pieces{"'s", "up", " ''", "s"}));
  EXPECT_EQ(split("abc123def"), (Pieces{"abc", "123", "def"}));
  EXPECT_EQ(split("x = (1+2);"), (Pieces{"x", " =", " (", "1", "+", "2", ");"}));
  EXPECT_EQ(split(" !!x"), (Pieces{" !!", "x"}));
  EXPECT_EQ(split("a\u00a0b"), (Pieces{"a", "\u00a0", "b"}));  // NBSP is whitespace, but only ' ' prefixes
  EXPECT_EQ(split("a \u00a0b"), (Pieces{"a", " ", "\u00a0", "b"}));
  EXPECT_EQ(split("\u0663\u0664 \u0665"), (Pieces{"\u0663\u0664", " \u0665"}));  // Arabic-Indic digits are \p{N}
  EXPECT_EQ(split(std::string_view("a\0b", 3)), (Pieces{"a", std::string(1, '\0'), "b"}));
  EXPECT_EQ(split("x\u200by"), (Pieces{"x", "\u200b", "y"}));  // ZWSP is not whitespace
}

TEST(TokenizerPretokenize, CharacterClasses) {
  EXPECT_EQ(char_class(U'a'), CharClass::kLetter);
  EXPECT_EQ(char_class(U'\u00e9'), CharClass::kLetter);
  EXPECT_EQ(char_class(U'\u4e2d'), CharClass::kLetter);
  EXPECT_EQ(char_class(U'\u02b0'), CharClass::kLetter);  // Lm
  EXPECT_EQ(char_class(U'7'), CharClass::kNumber);
  EXPECT_EQ(char_class(U'\u0663'), CharClass::kNumber);  // Nd
  EXPECT_EQ(char_class(U'\u216b'), CharClass::kNumber);  // Nl (Roman numeral twelve)
  EXPECT_EQ(char_class(U'\u00bd'), CharClass::kNumber);  // No (one half)
  EXPECT_EQ(char_class(U'\u00b2'), CharClass::kNumber);  // superscript two
  for (char32_t c : {0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x20, 0x85, 0xA0, 0x1680, 0x2000, 0x200A, 0x2028, 0x2029, 0x202F,
                     0x205F, 0x3000}) {
    EXPECT_EQ(char_class(c), CharClass::kSpace) << static_cast<std::uint32_t>(c);
  }
  for (char32_t c : {0x00, 0x1C, 0x1F, 0x7F, 0x180E, 0x200B, 0x200D, 0x2060, 0xFEFF, 0x0301, 0xE000, 0x0378}) {
    EXPECT_EQ(char_class(c), CharClass::kOther) << static_cast<std::uint32_t>(c);
  }
}

// The oracle: PCRE2 running the GPT-2 pattern itself, with \s written out as the White_Space property
// (separators plus TAB..CR and NEL) because PCRE2's own \s also takes U+180E, which Hugging Face's engine does not.
class Gpt2Regex {
 public:
  Gpt2Regex() {
    const std::string s = R"([\t-\r\x{85}\p{Z}])", not_s = R"([^\t-\r\x{85}\p{Z}])";
    const std::string pattern = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\t-\r\x{85}\p{Z}\p{L}\p{N}]+|)" + s +
                                "+(?!" + not_s + ")|" + s + "+";
    int error = 0;
    PCRE2_SIZE offset = 0;
    code_.reset(pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.c_str()), pattern.size(), PCRE2_UTF | PCRE2_UCP,
                              &error, &offset, nullptr));
    match_.reset(pcre2_match_data_create_from_pattern(code_.get(), nullptr));
  }
  [[nodiscard]] bool ok() const { return code_ != nullptr; }

  std::vector<std::string> split(std::string_view text) const {
    std::vector<std::string> pieces;
    for (std::size_t pos = 0; pos < text.size();) {
      const int rc = pcre2_match(code_.get(), reinterpret_cast<PCRE2_SPTR>(text.data()), text.size(), pos, 0,
                                 match_.get(), nullptr);
      const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(match_.get());
      if (rc < 0 || ov[0] != pos) return {"<the pattern left a gap>"};  // cannot happen: every character matches
      pieces.emplace_back(text.substr(ov[0], ov[1] - ov[0]));
      pos = ov[1];
    }
    return pieces;
  }

 private:
  struct FreeCode {
    void operator()(pcre2_code* c) const { pcre2_code_free(c); }
  };
  struct FreeMatch {
    void operator()(pcre2_match_data* m) const { pcre2_match_data_free(m); }
  };
  std::unique_ptr<pcre2_code, FreeCode> code_;
  std::unique_ptr<pcre2_match_data, FreeMatch> match_;
};

// Random strings over characters whose classes are the same in PCRE2 10.42's Unicode 14 and utf8proc's 15.0.
TEST(TokenizerPretokenize, AgreesWithTheRegexOnRandomText) {
  const Gpt2Regex regex;
  ASSERT_TRUE(regex.ok());
  const std::vector<char32_t> alphabet = {
      ' ',    ' ',    ' ',    ' ',    '\n',   '\t',   '\r',   '\v',   '\f',    0,       0x1C,    0x7F,    'a',
      'Z',    'q',    '7',    '0',    '\'',   '\'',   's',    't',    'r',     'e',     'v',     'm',     'l',
      'd',    '!',    '.',    '-',    '<',    '|',    0x85,   0xA0,   0xAD,    0xB2,    0xBD,    0xE9,    0x0301,
      0x0378, 0x03A9, 0x0416, 0x05D0, 0x0627, 0x0663, 0x06F5, 0x0915, 0x093F,  0x0967,  0x0E01,  0x0E51,  0x1100,
      0x1161, 0x1680, 0x180E, 0x2003, 0x200B, 0x200D, 0x2028, 0x2029, 0x202F,  0x205F,  0x2060,  0x216B,  0x2460,
      0x3000, 0x3007, 0x4E2D, 0xAC00, 0xE000, 0xFEFF, 0xFF11, 0xFFFD, 0x1D7CE, 0x1F600, 0x1F3FD, 0x10FFFD};
  const unsigned seed = 7;
  std::mt19937 rng(seed);
  for (int trial = 0; trial < 30000; ++trial) {
    std::string text;
    for (int n = static_cast<int>(rng() % 24); n > 0; --n) append_utf8(text, alphabet[rng() % alphabet.size()]);
    ASSERT_EQ(split(text), regex.split(text))
        << "seed " << seed << " trial " << trial << " text " << nlohmann::json(text).dump();
  }
}

}  // namespace
}  // namespace tinymamba
