// Tokenizer::load on a small valid tokenizer.json built here, and on hostile variants of it: each must fail with
// one line naming the file and the problem.
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>

#include "tinymamba/core/error.hpp"
#include "tinymamba/tokenizer/byte_level.hpp"
#include "tinymamba/tokenizer/tokenizer.hpp"
#include "tinymamba/tokenizer/utf8.hpp"
#include "tokenizer_test_support.hpp"

namespace tinymamba {
namespace {

using nlohmann::json;

json added_token(int id, const std::string& content, bool special, bool normalized) {
  return {{"id", id},        {"content", content}, {"special", special},  {"normalized", normalized},
          {"lstrip", false}, {"rstrip", false},    {"single_word", false}};
}

// A byte-level BPE in the GPT-NeoX layout: the 256 bytes are ids 0..255 in byte order, then "Ġt" 256, "he" 257,
// "Ġthe" 258; added tokens <|endoftext|> 259 (special, raw) and "  " 260 (normalized).
json tiny_tokenizer() {
  json vocab = json::object();
  for (int b = 0; b < 256; ++b) {
    std::string c;
    append_utf8(c, byte_to_char(static_cast<std::uint8_t>(b)));
    vocab[c] = b;
  }
  vocab["Ġt"] = 256;
  vocab["he"] = 257;
  vocab["Ġthe"] = 258;
  return {{"version", "1.0"},
          {"truncation", nullptr},
          {"padding", nullptr},
          {"added_tokens",
           json::array({added_token(259, "<|endoftext|>", true, false), added_token(260, "  ", false, true)})},
          {"normalizer", {{"type", "NFC"}}},
          {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}}},
          {"post_processor", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}}},
          {"decoder", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}}},
          {"model",
           {{"type", "BPE"},
            {"dropout", nullptr},
            {"unk_token", nullptr},
            {"continuing_subword_prefix", nullptr},
            {"end_of_word_suffix", nullptr},
            {"fuse_unk", false},
            {"vocab", vocab},
            {"merges", json::array({"Ġ t", "h e", "Ġt he"})}}}};
}

class TokenizerLoad : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = test::temp_dir("tokenizer-load"); }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string write(const std::string& bytes) {
    const auto path = dir_ / ("tokenizer" + std::to_string(files_++) + ".json");
    test::write_file(path, bytes);
    return path.string();
  }

  // Loads tiny_tokenizer() changed by `mutate`; expects an Error of one line naming the file and `problem`.
  void expect_error(const std::function<void(json&)>& mutate, const std::string& problem) {
    json j = tiny_tokenizer();
    mutate(j);
    expect_error_from(write(j.dump()), problem);
  }
  void expect_error_from(const std::string& path, const std::string& problem) {
    try {
      (void)Tokenizer::load(path);
      ADD_FAILURE() << "loaded a tokenizer that should fail with: " << problem;
    } catch (const Error& e) {
      const std::string message = e.what();
      EXPECT_EQ(message.rfind(path, 0), 0u) << "does not start with the path: " << message;
      EXPECT_NE(message.find(problem), std::string::npos) << "want '" << problem << "' in: " << message;
      EXPECT_EQ(message.find('\n'), std::string::npos) << "not one line: " << message;
    }
  }

  std::filesystem::path dir_;
  int files_ = 0;
};

TEST_F(TokenizerLoad, LoadsTheTinyTokenizer) {
  const Tokenizer t = Tokenizer::load(write(tiny_tokenizer().dump()));
  EXPECT_EQ(t.vocab_size(), 261);
  EXPECT_EQ(t.eos_id(), 259);
  EXPECT_EQ(t.encode(" the"), (std::vector<std::int32_t>{258}));
  // 'a', the "  " token, "t" + "he" (no "Ġ"), <|endoftext|>, and "é" composed by NFC: bytes C3 A9.
  EXPECT_EQ(t.encode("a  the<|endoftext|>e\u0301"), (std::vector<std::int32_t>{97, 260, 116, 257, 259, 0xC3, 0xA9}));
  EXPECT_EQ(t.decode(std::vector<std::int32_t>{97, 260, 258, 259}), "a   the<|endoftext|>");
  EXPECT_EQ(t.token(258), "Ġthe");
  EXPECT_EQ(t.token_bytes(258), " the");
}

TEST_F(TokenizerLoad, AcceptsMergesAsPairsAndNoNormalizer) {
  json j = tiny_tokenizer();
  j["model"]["merges"] = json::array({json::array({"Ġ", "t"}), json::array({"h", "e"}), json::array({"Ġt", "he"})});
  j["normalizer"] = nullptr;
  const Tokenizer t = Tokenizer::load(write(j.dump()));
  EXPECT_EQ(t.encode(" the"), (std::vector<std::int32_t>{258}));
  EXPECT_EQ(t.encode("e\u0301"), (std::vector<std::int32_t>{'e', 0xCC, 0x81}));  // no NFC
}

TEST_F(TokenizerLoad, RefusesFilesThatAreNotJson) {
  expect_error_from(write("{\"model\": "), "not valid JSON");
  expect_error_from(write("\xFF\xFE{}"), "not valid JSON");
  expect_error_from(write("{\"model\": \"\xC3\x28\"}"), "not valid JSON");  // invalid UTF-8 in a string
  expect_error_from(write(std::string(100000, '[') + std::string(100000, ']')), "nesting deeper");
  expect_error_from(write("[]"), "not a tokenizer.json");
  expect_error_from((dir_ / "missing.json").string(), "cannot open");
  const auto huge = dir_ / "huge.json";  // sparse: costs no disk
  test::write_file(huge, "{");
  std::filesystem::resize_file(huge, std::uintmax_t{1} << 30);
  expect_error_from(huge.string(), "more than the limit");
}

TEST_F(TokenizerLoad, RefusesWhatItCannotRunExactly) {
  expect_error([](json& j) { j.erase("model"); }, "no \"model\"");
  expect_error([](json& j) { j["model"]["type"] = "WordPiece"; }, "model type \"WordPiece\" is not supported");
  expect_error([](json& j) { j["model"].erase("type"); }, "model type (a JSON object without a string \"type\")");
  expect_error([](json& j) { j["model"]["dropout"] = 0.1; }, "model.dropout is not supported");
  expect_error([](json& j) { j["model"]["continuing_subword_prefix"] = "##"; }, "continuing_subword_prefix");
  expect_error([](json& j) { j["model"]["ignore_merges"] = true; }, "ignore_merges true is not supported");
  expect_error([](json& j) { j["normalizer"] = {{"type", "NFKC"}}; }, "normalizer \"NFKC\" is not supported");
  expect_error([](json& j) { j["normalizer"] = 5; }, "normalizer (a JSON number");
  expect_error([](json& j) { j.erase("pre_tokenizer"); }, "no \"pre_tokenizer\"");
  expect_error([](json& j) { j["pre_tokenizer"] = {{"type", "Whitespace"}}; }, "pre_tokenizer \"Whitespace\"");
  expect_error([](json& j) { j["pre_tokenizer"]["add_prefix_space"] = true; }, "add_prefix_space true");
  expect_error([](json& j) { j["pre_tokenizer"]["use_regex"] = false; }, "use_regex false");
  expect_error([](json& j) { j["pre_tokenizer"]["use_regex"] = "yes"; },
               "pre_tokenizer.use_regex is not true or false");
  expect_error([](json& j) { j["decoder"] = {{"type", "WordPiece"}}; }, "decoder \"WordPiece\" is not supported");
  expect_error([](json& j) { j.erase("decoder"); }, "no \"decoder\"");
}

TEST_F(TokenizerLoad, RefusesBadVocabs) {
  expect_error([](json& j) { j["model"]["vocab"] = json::object(); }, "model.vocab is empty");
  expect_error([](json& j) { j["model"]["vocab"] = json::array({"a"}); }, "\"vocab\" is not an object");
  expect_error([](json& j) { j["model"]["vocab"]["Ġthe"] = -1; }, "model.vocab[\"Ġthe\"] is not an id in 0..");
  expect_error([](json& j) { j["model"]["vocab"]["Ġthe"] = 2.5; }, "is not an id");
  expect_error([](json& j) { j["model"]["vocab"]["Ġthe"] = "258"; }, "is not an id");
  expect_error([](json& j) { j["model"]["vocab"]["Ġthe"] = 1000000000000; }, "is not an id in 0..4194303");
  expect_error([](json& j) { j["model"]["vocab"]["Ġthe"] = 1000; }, "has id 1000, outside 0..258");
  expect_error([](json& j) { j["model"]["vocab"]["Ġthe"] = 257; }, "id 257 is used by both");
  expect_error([](json& j) { j["model"]["vocab"][""] = 259; }, "empty token");
  expect_error(
      [](json& j) {  // id 32 (the space byte's) goes to another token
        j["model"]["vocab"].erase("Ġ");
        j["model"]["vocab"]["zz"] = 32;
      },
      "no token for byte 0x20");
}

TEST_F(TokenizerLoad, RefusesBadMerges) {
  expect_error([](json& j) { j["model"]["merges"] = "Ġ t"; }, "model.merges is not an array");
  expect_error([](json& j) { j["model"]["merges"].push_back("Ġt x"); }, "model.merges[3]: \"Ġtx\" is not in the vocab");
  expect_error([](json& j) { j["model"]["merges"].push_back("zz he"); }, "model.merges[3]: \"zz\" is not in the vocab");
  expect_error([](json& j) { j["model"]["merges"].push_back("Ġthe"); }, "is not two tokens separated by one space");
  expect_error([](json& j) { j["model"]["merges"].push_back("h  e"); }, "is not two tokens separated by one space");
  expect_error([](json& j) { j["model"]["merges"].push_back(5); }, "model.merges[3] is neither");
  expect_error([](json& j) { j["model"]["merges"].push_back(json::array({"h"})); }, "model.merges[3] is neither");
  expect_error([](json& j) { j["model"]["merges"].push_back("h e"); }, "model.merges[3] repeats the pair");
}

TEST_F(TokenizerLoad, RefusesBadAddedTokens) {
  expect_error([](json& j) { j["added_tokens"] = 1; }, "added_tokens is not an array");
  expect_error([](json& j) { j["added_tokens"].push_back(1); }, "added_tokens[2] is not an object");
  expect_error([](json& j) { j["added_tokens"].push_back(added_token(300, "x!", false, false)); },
               "has id 300, leaving a gap");
  expect_error([](json& j) { j["added_tokens"].push_back(added_token(259, "x!", false, false)); },
               "id 259 is given to an earlier added token too");
  expect_error([](json& j) { j["added_tokens"].push_back(added_token(5, "<x>", true, false)); },
               "has id 5, which the vocab gives to");
  expect_error([](json& j) { j["added_tokens"].push_back(added_token(-3, "<x>", true, false)); },
               "added_tokens[2].id is not an id");
  expect_error([](json& j) { j["added_tokens"].push_back(added_token(261, "", true, false)); }, "has no content");
  expect_error([](json& j) { j["added_tokens"][0].erase("id"); }, "added_tokens[0] has no id");
  expect_error([](json& j) { j["added_tokens"].push_back(added_token(261, "  ", false, true)); }, "is added twice");
  expect_error([](json& j) { j["added_tokens"][1]["lstrip"] = true; }, "lstrip true is not supported");
  expect_error([](json& j) { j["added_tokens"][1]["normalized"] = "no"; }, "normalized is not true or false");
  expect_error(
      [](json& j) {  // the same text once NFC-normalized
        j["added_tokens"].push_back(added_token(261, "\u00e9", false, true));
        j["added_tokens"].push_back(added_token(262, "e\u0301", false, true));
      },
      "added_tokens[3] (\"e\u0301\") is the same text as an earlier added token once normalized");
}

// The message stays one line and short whatever the file holds.
TEST_F(TokenizerLoad, QuotesHostileStringsOnOneLine) {
  expect_error([](json& j) { j["model"]["merges"].push_back("a\nb c"); }, "\"a\\nb\" is not in the vocab");
  expect_error([](json& j) { j["model"]["merges"].push_back(std::string(10000, 'x') + " y"); }, "xxx\"...");
}

}  // namespace
}  // namespace tinymamba
