// tests/data/tokenizer/extra_cases.json: 286 strings beyond the goldens (controls, NUL, every White_Space
// character and look-alikes, other scripts and digit systems, NFC, space runs 1..60, added tokens in odd places,
// emoji sequences, 10k-character inputs, random mixes) with the ids Hugging Face's tokenizers gives them, and id
// lists whose bytes are not valid UTF-8 with Hugging Face's decoded text. See tests/data/tokenizer/README.md.
// Checked through the library and through `tinymamba tokenize` run as a program.
#include <gtest/gtest.h>

#include <algorithm>

#include "tinymamba/core/parse_ids.hpp"
#include "tinymamba/tokenizer/streaming_decoder.hpp"
#include "tinymamba/tokenizer/tokenizer.hpp"
#include "tinymamba/tokenizer/utf8.hpp"
#include "tokenizer_test_support.hpp"

namespace tinymamba {
namespace {

using test::join_ids;

const nlohmann::json& extra_cases() {
  static const nlohmann::json data = test::read_json(test::tokenizer_test_data_dir() / "extra_cases.json");
  return data;
}

std::string label(const nlohmann::json& c) { return c.at("name").get<std::string>(); }

TEST(TokenizerExtraCases, LibraryGivesTheReferenceIdsAndText) {
  const Tokenizer& tokenizer = test::neox_tokenizer();
  const auto& cases = extra_cases().at("cases");
  ASSERT_GE(cases.size(), 280u);
  for (const auto& c : cases) {
    const auto want = c.at("ids").get<std::vector<std::int32_t>>();
    EXPECT_EQ(join_ids(tokenizer.encode(c.at("text").get<std::string>())), join_ids(want)) << label(c);
    EXPECT_EQ(tokenizer.decode(want), c.at("decoded").get<std::string>()) << label(c);
  }
}

TEST(TokenizerExtraCases, DecodeAndStreamingDecodeGiveTheReferenceText) {
  const Tokenizer& tokenizer = test::neox_tokenizer();
  for (const auto& c : extra_cases().at("decode_cases")) {
    const auto ids = c.at("ids").get<std::vector<std::int32_t>>();
    const std::string want = c.at("decoded");
    EXPECT_EQ(tokenizer.decode(ids), want) << label(c);
    StreamingDecoder stream(tokenizer);
    std::string streamed;
    for (const std::int32_t id : ids) {
      const std::string piece = stream.push(id);
      EXPECT_FALSE(find_invalid_utf8(piece).has_value()) << label(c);
      streamed += piece;
    }
    streamed += stream.flush();
    EXPECT_EQ(streamed, want) << label(c);
  }
}

// Running the program once per case would take minutes (each run loads the 2.4 MB tokenizer.json), so the cases
// go through it joined by "<|endoftext|>": that token is cut out of the raw text before anything else (NFC,
// space-run tokens, the split and BPE all see each stretch on its own, here and in Hugging Face's code), so
// encode(a + "<|endoftext|>" + b) = encode(a), 0, encode(b) exactly; and no token can straddle the separator
// (its only '<' is its first byte, and it has no spaces). A sample of cases also runs alone.
constexpr std::string_view kSeparator = "<|endoftext|>";

TEST(TokenizerExtraCases, CliGivesTheReferenceIds) {
  const auto& cases = extra_cases().at("cases");
  std::string text;
  std::vector<std::int64_t> want;
  std::vector<std::size_t> case_end;  // index in `want` just past each case's ids
  for (std::size_t i = 0; i < cases.size(); ++i) {
    if (i > 0) {
      text += kSeparator;
      want.push_back(*test::neox_tokenizer().eos_id());
    }
    text += cases[i].at("text").get<std::string>();
    const auto ids = cases[i].at("ids").get<std::vector<std::int64_t>>();
    want.insert(want.end(), ids.begin(), ids.end());
    case_end.push_back(want.size());
  }
  const auto scratch = test::temp_dir("tokenizer-extra-cli");
  const auto run = test::run_cli({"tokenize", "-t", test::neox_tokenizer_path().string()}, text, scratch);
  ASSERT_EQ(run.status, 0) << run.err;
  EXPECT_EQ(run.out.back(), '\n');
  const std::vector<std::int64_t> got = parse_ids(run.out, "tokenize's output");
  const auto first_difference = std::mismatch(want.begin(), want.end(), got.begin(), got.end()).first - want.begin();
  if (static_cast<std::size_t>(first_difference) < want.size() || got.size() != want.size()) {
    const auto c = std::upper_bound(case_end.begin(), case_end.end(), static_cast<std::size_t>(first_difference));
    ADD_FAILURE() << "ids differ from id " << first_difference << ", in case "
                  << label(cases[std::min<std::size_t>(c - case_end.begin(), cases.size() - 1)]);
  }
  EXPECT_EQ(run.out, join_ids(want) + "\n");

  for (std::size_t i = 0; i < cases.size(); i += 32) {
    const auto alone = test::run_cli({"tokenize", "-t", test::neox_tokenizer_path().string()},
                                     cases[i].at("text").get<std::string>(), scratch);
    EXPECT_EQ(alone.status, 0) << label(cases[i]) << ": " << alone.err;
    EXPECT_EQ(alone.out, join_ids(cases[i].at("ids").get<std::vector<std::int64_t>>()) + "\n") << label(cases[i]);
  }
  std::filesystem::remove_all(scratch);
}

TEST(TokenizerExtraCases, CliDecodesToTheReferenceText) {
  std::string ids;
  std::string want;
  for (const auto& c : extra_cases().at("decode_cases")) {
    if (!ids.empty()) {
      ids += " " + std::to_string(*test::neox_tokenizer().eos_id()) + "\n";
      want += kSeparator;
    }
    ids += join_ids(c.at("ids").get<std::vector<std::int64_t>>());
    want += c.at("decoded").get<std::string>();
  }
  const auto scratch = test::temp_dir("tokenizer-extra-cli-decode");
  const auto run = test::run_cli({"tokenize", "-t", test::neox_tokenizer_path().string(), "--decode"}, ids, scratch);
  EXPECT_EQ(run.status, 0) << run.err;
  EXPECT_EQ(run.out, want);
  std::filesystem::remove_all(scratch);
}

}  // namespace
}  // namespace tinymamba
