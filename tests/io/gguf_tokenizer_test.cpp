// A tokenizer through a GGUF file's tokenizer.ggml.* keys (io/gguf_tokenizer.hpp): GPT-NeoX's tokenizer.json
// written as keys, the file read back, encodes and decodes as the original does (on NFC text: no normalizer
// travels); `generate -m model.gguf` needs nothing else and generates what the model folder generates.
#include <gtest/gtest.h>

#include "run_cli.hpp"
#include "test_paths.hpp"
#include "tinymamba/core/error.hpp"
#include "tinymamba/core/file.hpp"
#include "tinymamba/io/gguf_tokenizer.hpp"
#include "tinymamba/tokenizer/tokenizer.hpp"

namespace tinymamba {
namespace {

TEST(GgufTokenizer, GptNeoxRoundTripsThroughTheKeys) {
  const std::string path = (test::shared_dir() / "tokenizer" / "gpt-neox-20b.json").string();
  const Tokenizer original = Tokenizer::load(path);
  // Through a real file: the keys written, read back by the container.
  const std::string file = (test::temp_dir("gguf-tok") / "t.gguf").string();
  write_gguf(file, gguf_tokenizer_keys(read_text_file(path), 50280, path), {});
  const GgufFile f = read_gguf(file);
  EXPECT_EQ(f.find("tokenizer.ggml.tokens")->strings.size(), 50280u);  // padded as llama.cpp's converter pads
  EXPECT_EQ(f.find("tokenizer.ggml.tokens")->strings[50279], "[PAD50279]");
  EXPECT_EQ(f.find("tokenizer.ggml.eos_token_id")->i, 0);
  const Tokenizer back = Tokenizer::from_json(tokenizer_json_from_gguf(f, file), file);
  EXPECT_EQ(back.vocab_size(), original.vocab_size());
  EXPECT_EQ(back.eos_id(), original.eos_id());
  for (const std::string text : {"Hello, world! It's 2026.", "  indented\n\tcode    with   spaces<|endoftext|>x",
                                 "naïve café — ünïcödé 日本語 🙂"}) {
    const auto ids = original.encode(text);
    EXPECT_EQ(back.encode(text), ids) << text;
    EXPECT_EQ(back.decode(ids), original.decode(ids)) << text;
  }
}

TEST(GgufTokenizer, AFileWithoutOrWithAnotherTokenizerIsAnError) {
  GgufFile f;
  EXPECT_THROW((void)tokenizer_json_from_gguf(f, "m.gguf"), Error);
  GgufValue llama;
  llama.type = GgufType::string;
  llama.s = "llama";
  f.metadata["tokenizer.ggml.model"] = llama;
  try {
    (void)tokenizer_json_from_gguf(f, "m.gguf");
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("only byte-level BPE"), std::string::npos) << e.what();
  }
}

TEST(GgufTokenizer, GenerateFromAGgufFileAloneMatchesTheFolder) {
  const std::string model = (test::source_dir() / "models" / "tinyshakespeare").string();
  const std::string file = (test::temp_dir("gguf-gen") / "shk.gguf").string();
  const auto c = test::run_cli("convert -m " + test::shell_quote(model) + " --out " + test::shell_quote(file) +
                               " --format gguf --dtype q8_0");
  ASSERT_EQ(c.status, 0) << c.err;
  const std::string args = " -p 'ROMEO:' -n 24 --seed 3 --threads 1";
  const auto from_file = test::run_cli("generate -m " + test::shell_quote(file) + args);
  const auto from_folder = test::run_cli("generate -m " + test::shell_quote(model) + " --dtype q8_0" + args);
  ASSERT_EQ(from_file.status, 0) << from_file.err;
  ASSERT_EQ(from_folder.status, 0) << from_folder.err;
  EXPECT_EQ(from_file.out, from_folder.out);
  EXPECT_GT(from_file.out.size(), 10u);
}

}  // namespace
}  // namespace tinymamba
