// The goldens: ../shared/golden/tokenizer.json, produced by Hugging Face's tokenizers (see its README). Every case
// must give exactly its ids, its byte-level token strings and its decoded text.
#include <gtest/gtest.h>

#include "tinymamba/core/error.hpp"
#include "tinymamba/tokenizer/tokenizer.hpp"
#include "tokenizer_test_support.hpp"

namespace tinymamba {
namespace {

using test::join_ids;

TEST(TokenizerGolden, EveryCaseGivesItsIdsTokensAndText) {
  const nlohmann::json golden = test::read_json(test::golden_dir() / "tokenizer.json");
  ASSERT_FALSE(golden.at("add_special_tokens").get<bool>());
  // The tokenizer file the goldens name lives in ../tokenizer/ beside the golden directory.
  const Tokenizer tokenizer =
      Tokenizer::load((test::tokenizer_dir_for_goldens() / golden.at("tokenizer").get<std::string>()).string());
  const auto& cases = golden.at("cases");
  ASSERT_GE(cases.size(), 41u);
  for (const auto& c : cases) {
    const std::string text = c.at("text");
    const auto want = c.at("ids").get<std::vector<std::int32_t>>();
    SCOPED_TRACE("text: " + nlohmann::json(text).dump().substr(0, 200));
    const std::vector<std::int32_t> ids = tokenizer.encode(text);
    EXPECT_EQ(join_ids(ids), join_ids(want));
    const auto tokens = c.at("tokens").get<std::vector<std::string>>();
    ASSERT_EQ(tokens.size(), want.size());
    for (std::size_t i = 0; i < want.size(); ++i) EXPECT_EQ(tokenizer.token(want[i]), tokens[i]) << "token " << i;
    EXPECT_EQ(tokenizer.decode(want), c.at("decoded").get<std::string>());
  }
}

TEST(TokenizerGolden, VocabSizeAndEndOfText) {
  const Tokenizer& tokenizer = test::neox_tokenizer();
  EXPECT_EQ(tokenizer.vocab_size(), 50277);  // the mamba configs' vocab_size
  EXPECT_EQ(tokenizer.eos_id(), 0);
  EXPECT_EQ(tokenizer.token(0), "<|endoftext|>");
  EXPECT_EQ(tokenizer.token(1), "<|padding|>");
  EXPECT_EQ(tokenizer.token(50254), std::string(24, ' '));
  EXPECT_EQ(tokenizer.token(50276), "  ");
  EXPECT_EQ(tokenizer.token(209), "Ġ");
  EXPECT_EQ(tokenizer.token_bytes(209), " ");
  EXPECT_THROW((void)tokenizer.token(50277), Error);
  EXPECT_THROW((void)tokenizer.token(-1), Error);
}

}  // namespace
}  // namespace tinymamba
