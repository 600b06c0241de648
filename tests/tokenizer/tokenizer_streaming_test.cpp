#include <gtest/gtest.h>

#include <random>

#include "tinymamba/core/error.hpp"
#include "tinymamba/tokenizer/streaming_decoder.hpp"
#include "tinymamba/tokenizer/utf8.hpp"
#include "tokenizer_test_support.hpp"

namespace tinymamba {
namespace {

TEST(TokenizerStreaming, HoldsBackACharacterSplitOverTokens) {
  const Tokenizer& tokenizer = test::neox_tokenizer();
  // "😀 ok": the emoji's four bytes are the tokens 14931 ("ðŁ"), 235 ("ĺ"), 211 ("Ģ"); then " ok".
  const std::vector<std::int32_t> ids = tokenizer.encode("\xF0\x9F\x98\x80 ok");
  ASSERT_GE(ids.size(), 4u);
  ASSERT_EQ((std::vector<std::int32_t>(ids.begin(), ids.begin() + 3)), (std::vector<std::int32_t>{14931, 235, 211}));
  StreamingDecoder stream(tokenizer);
  EXPECT_EQ(stream.push(ids[0]), "");
  EXPECT_EQ(stream.push(ids[1]), "");
  EXPECT_EQ(stream.push(ids[2]), "\xF0\x9F\x98\x80");
  std::string rest;
  for (std::size_t i = 3; i < ids.size(); ++i) rest += stream.push(ids[i]);
  EXPECT_EQ(rest, " ok");
  EXPECT_EQ(stream.flush(), "");
}

TEST(TokenizerStreaming, FlushReplacesAnIncompleteCharacterAndResets) {
  StreamingDecoder stream(test::neox_tokenizer());
  EXPECT_EQ(stream.push(14931), "");
  EXPECT_EQ(stream.flush(), "\xEF\xBF\xBD");
  EXPECT_EQ(stream.flush(), "");
  EXPECT_EQ(stream.push(12092), "Hello");
}

TEST(TokenizerStreaming, OutOfRangeIdIsAnErrorAndChangesNothing) {
  StreamingDecoder stream(test::neox_tokenizer());
  EXPECT_EQ(stream.push(14931), "");
  EXPECT_THROW((void)stream.push(50277), Error);
  EXPECT_THROW((void)stream.push(-1), Error);
  EXPECT_EQ(stream.push(235), "");
  EXPECT_EQ(stream.push(211), "\xF0\x9F\x98\x80");
}

// Random id sequences (a model can emit anything): pushing one at a time, then flushing, equals decode().
TEST(TokenizerStreaming, EqualsDecodeOnRandomIds) {
  const Tokenizer& tokenizer = test::neox_tokenizer();
  const unsigned seed = 3;
  std::mt19937 rng(seed);
  for (int trial = 0; trial < 2000; ++trial) {
    std::vector<std::int32_t> ids(rng() % 12);
    for (auto& id : ids) {  // half the time one of the byte tokens that hold parts of characters
      id = rng() % 2 ? static_cast<std::int32_t>(rng() % tokenizer.vocab_size())
                     : static_cast<std::int32_t>(rng() % 256);
    }
    StreamingDecoder stream(tokenizer);
    std::string streamed;
    for (const std::int32_t id : ids) {
      const std::string piece = stream.push(id);
      ASSERT_EQ(find_invalid_utf8(piece), std::nullopt);
      streamed += piece;
    }
    streamed += stream.flush();
    ASSERT_EQ(streamed, tokenizer.decode(ids))
        << "seed " << seed << " trial " << trial << " ids " << test::join_ids(ids);
  }
}

TEST(TokenizerStreaming, DecodeRejectsOutOfRangeIds) {
  const Tokenizer& tokenizer = test::neox_tokenizer();
  try {
    (void)tokenizer.decode(std::vector<std::int32_t>{12092, 50277});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "token id 50277 is out of range [0, 50277)");
  }
}

}  // namespace
}  // namespace tinymamba
