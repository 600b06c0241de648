// The tokenizer.json written beside byte-level models: under the project's (Hugging Face compatible) BPE
// tokenizer it encodes text as its UTF-8 bytes (id = byte value) and decodes back; and it is recognized as such.
#include "tinymamba/train/byte_tokenizer.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include "test_paths.hpp"
#include "tinymamba/core/file.hpp"
#include "tinymamba/tokenizer/tokenizer.hpp"

namespace tinymamba::train {
namespace {

TEST(ByteLevelTokenizer, EncodesTextAsItsBytesUnderTheBpeTokenizer) {
  const auto dir = test::temp_dir("byte-tokenizer");
  const auto path = dir / "tokenizer.json";
  std::ofstream(path) << byte_level_tokenizer_json();
  const Tokenizer tok = Tokenizer::load(path.string());
  EXPECT_EQ(tok.vocab_size(), 256);
  std::string text;
  for (int c = 1; c < 128; ++c) text += static_cast<char>(c);  // every ASCII byte, control characters included
  text += "  two spaces, caf\xc3\xa9, \xe2\x82\xac, \xf0\x9f\x98\x80, <|endoftext|>\r\n";
  const auto ids = tok.encode(text);
  ASSERT_EQ(ids.size(), text.size());
  for (std::size_t i = 0; i < text.size(); ++i) ASSERT_EQ(ids[i], static_cast<unsigned char>(text[i])) << i;
  EXPECT_EQ(tok.decode(ids), text);
  std::filesystem::remove_all(dir);
}

TEST(ByteLevelTokenizer, IsRecognizedAndOthersAreNot) {
  EXPECT_TRUE(is_byte_level_tokenizer(byte_level_tokenizer_json()));
  const auto neox = test::shared_dir() / "tokenizer" / "gpt-neox-20b.json";
  if (std::filesystem::exists(neox)) {
    EXPECT_FALSE(is_byte_level_tokenizer(read_text_file(neox.string())));
  }
  EXPECT_FALSE(is_byte_level_tokenizer("{}"));
  EXPECT_FALSE(is_byte_level_tokenizer("not json"));
}

}  // namespace
}  // namespace tinymamba::train
