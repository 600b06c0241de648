#include "tinymamba/core/parse_ids.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>

#include "tinymamba/core/error.hpp"

namespace tinymamba {
namespace {

using Ids = std::vector<std::int64_t>;

std::string error_of(std::string_view text) {
  try {
    (void)parse_ids(text, "--prompt-ids");
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(ParseIds, ParsesWhitespaceAndCommaSeparatedIds) {
  EXPECT_EQ(parse_ids("", "x"), Ids{});
  EXPECT_EQ(parse_ids(" \n\t ", "x"), Ids{});
  EXPECT_EQ(parse_ids("1 2 3", "x"), (Ids{1, 2, 3}));
  EXPECT_EQ(parse_ids("1,2,3", "x"), (Ids{1, 2, 3}));
  EXPECT_EQ(parse_ids("  1 ,\n2,\t3 \r\n", "x"), (Ids{1, 2, 3}));
  EXPECT_EQ(parse_ids("0 007 9223372036854775807", "x"), (Ids{0, 7, 9223372036854775807}));
}

TEST(ParseIds, ErrorsNameWhatTheItemAndItsOffset) {
  EXPECT_EQ(error_of("1 -2"), "--prompt-ids: '-2' at byte offset 2 is not a non-negative decimal integer");
  EXPECT_EQ(error_of("+1"), "--prompt-ids: '+1' at byte offset 0 is not a non-negative decimal integer");
  EXPECT_EQ(error_of("1.5"), "--prompt-ids: '1.5' at byte offset 0 is not a non-negative decimal integer");
  EXPECT_EQ(error_of("0x10"), "--prompt-ids: '0x10' at byte offset 0 is not a non-negative decimal integer");
  EXPECT_EQ(error_of("12a"), "--prompt-ids: '12a' at byte offset 0 is not a non-negative decimal integer");
  EXPECT_EQ(error_of("9223372036854775808"),
            "--prompt-ids: '9223372036854775808' at byte offset 0 is larger than 9223372036854775807");
  EXPECT_EQ(error_of("99999999999999999999999"),
            "--prompt-ids: '99999999999999999999999' at byte offset 0 is larger than 9223372036854775807");
  EXPECT_EQ(error_of(",1"), "--prompt-ids: empty item before the comma at byte offset 0");
  EXPECT_EQ(error_of("1,,2"), "--prompt-ids: empty item before the comma at byte offset 2");
  EXPECT_EQ(error_of("1, ,2"), "--prompt-ids: empty item before the comma at byte offset 3");
  EXPECT_EQ(error_of("1,"), "--prompt-ids: nothing after the comma at byte offset 1");
  EXPECT_EQ(error_of("1 , "), "--prompt-ids: nothing after the comma at byte offset 2");
}

TEST(ParseIds, ShowsHostileItemsEscapedAndShort) {
  EXPECT_EQ(error_of(std::string_view("1 a\0\xFF'\\", 7)),
            "--prompt-ids: 'a\\x00\\xFF\\x27\\x5C' at byte offset 2 is not a non-negative decimal integer");
  const std::string message = error_of(std::string(1000, 'z'));
  EXPECT_EQ(message,
            "--prompt-ids: '" + std::string(32, 'z') + "'... at byte offset 0 is not a non-negative decimal integer");
}

// Random text: either ids come back, and printing them gives the same list; or an Error of one line.
TEST(ParseIds, RandomTextGivesIdsOrOneLineErrors) {
  const unsigned seed = 17;
  std::mt19937 rng(seed);
  using namespace std::string_literals;
  const std::string alphabet = "0123456789 ,\n\t-+x\0\xFF"s;  // with the NUL
  for (int trial = 0; trial < 20000; ++trial) {
    std::string text;
    for (int n = static_cast<int>(rng() % 16); n > 0; --n) text += alphabet[rng() % alphabet.size()];
    try {
      const Ids ids = parse_ids(text, "x");
      std::string again;
      for (const auto id : ids) again += std::to_string(id) + " ";
      ASSERT_EQ(parse_ids(again, "x"), ids) << "seed " << seed << " trial " << trial;
    } catch (const Error& e) {
      ASSERT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace tinymamba
