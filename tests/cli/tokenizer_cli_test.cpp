// `tinymamba tokenize` run as a program: what it reads, what it prints, and its errors.
#include <gtest/gtest.h>

#include "tokenizer_test_support.hpp"

namespace tinymamba {
namespace {

class TokenizerCli : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = test::temp_dir("tokenizer-cli"); }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  test::CliRun encode(std::string_view text) {
    return test::run_cli({"tokenize", "-t", test::neox_tokenizer_path().string()}, text, dir_);
  }
  test::CliRun decode(std::string_view ids) {
    return test::run_cli({"tokenize", "-t", test::neox_tokenizer_path().string(), "--decode"}, ids, dir_);
  }
  std::filesystem::path dir_;
};

TEST_F(TokenizerCli, EncodesAllOfStdinOnOneLine) {
  const auto run = encode("Hello world\n");  // the newline is part of the text
  EXPECT_EQ(run.status, 0) << run.err;
  EXPECT_EQ(run.out, "12092 1533 187\n");
  EXPECT_EQ(run.err, "");
  EXPECT_EQ(encode("").out, "\n");
}

TEST_F(TokenizerCli, DecodesIdsToTextWithNothingAdded) {
  const auto run = decode("12092, 1533\n187 0\n");
  EXPECT_EQ(run.status, 0) << run.err;
  EXPECT_EQ(run.out, "Hello world\n<|endoftext|>");
  EXPECT_EQ(decode("").out, "");
}

TEST_F(TokenizerCli, RoundTripGivesTheNfcText) {
  const auto ids = encode("caf\u0065\u0301 \xF0\x9F\x98\x80  x\t\n");
  ASSERT_EQ(ids.status, 0) << ids.err;
  EXPECT_EQ(decode(ids.out).out, "caf\u00e9 \xF0\x9F\x98\x80  x\t\n");
}

TEST_F(TokenizerCli, InvalidUtf8IsAnErrorNamingTheOffset) {
  const auto run = encode("ok \xE2\x82 no");
  EXPECT_EQ(run.status, 1);
  EXPECT_EQ(run.out, "");
  EXPECT_EQ(run.err, "tinymamba tokenize: error: input text: invalid UTF-8 at byte offset 3 (byte 0xE2)\n");
}

TEST_F(TokenizerCli, BadIdsAreErrors) {
  const auto garbage = decode("12 abc 3");
  EXPECT_EQ(garbage.status, 1);
  EXPECT_EQ(garbage.err,
            "tinymamba tokenize: error: stdin: 'abc' at byte offset 3 is not a non-negative decimal integer\n");
  const auto too_big = decode("50277");
  EXPECT_EQ(too_big.status, 1);
  EXPECT_NE(too_big.err.find("stdin: token id 50277 is out of range [0, 50277)"), std::string::npos) << too_big.err;
  EXPECT_EQ(decode("9223372036854775807").status, 1);
  EXPECT_EQ(decode("-1").status, 1);
  EXPECT_EQ(decode("1,,2").status, 1);
}

TEST_F(TokenizerCli, BadTokenizerFileIsAnErrorNamingIt) {
  const auto missing = (dir_ / "missing.json").string();
  const auto run = test::run_cli({"tokenize", "-t", missing}, "hi", dir_);
  EXPECT_EQ(run.status, 1);
  EXPECT_EQ(run.err.rfind("tinymamba tokenize: error: " + missing + ": cannot open", 0), 0u) << run.err;
  EXPECT_NE(test::run_cli({"tokenize"}, "hi", dir_).status, 0);  // -t is required
}

}  // namespace
}  // namespace tinymamba
