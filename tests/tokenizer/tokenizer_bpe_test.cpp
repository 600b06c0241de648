#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <random>

#include "tinymamba/tokenizer/bpe.hpp"
#include "tinymamba/tokenizer/byte_level.hpp"
#include "tinymamba/tokenizer/tokenizer.hpp"
#include "tinymamba/tokenizer/utf8.hpp"
#include "tokenizer_test_support.hpp"

namespace tinymamba {
namespace {

// A model over the bytes 'a'..'d' (token id = byte - 'a'; other bytes unused), with merges added in rank order.
BpeModel abcd_model(const std::vector<std::array<std::int32_t, 3>>& merges) {
  std::array<std::int32_t, 256> byte_tokens;
  byte_tokens.fill(-1);
  for (int b = 'a'; b <= 'd'; ++b) byte_tokens[b] = b - 'a';
  BpeModel model(byte_tokens);
  for (const auto& [left, right, merged] : merges) EXPECT_TRUE(model.add_merge(left, right, merged));
  return model;
}

std::vector<std::int32_t> encode_word(const BpeModel& model, std::string_view word) {
  std::vector<std::int32_t> ids;
  BpeModel::Scratch scratch;
  model.encode_word(word, ids, scratch);
  return ids;
}

TEST(TokenizerBpe, LowestRankFirstThenLeftmost) {
  // ids: a=0 b=1 c=2 d=3; 10="bc" (rank 0), 11="ab" (rank 1), 12="aa" (rank 2), 13="aaaa" (rank 3)
  const BpeModel model = abcd_model({{1, 2, 10}, {0, 1, 11}, {0, 0, 12}, {12, 12, 13}});
  EXPECT_EQ(encode_word(model, "abc"), (std::vector<std::int32_t>{0, 10}));  // "bc" outranks "ab"
  EXPECT_EQ(encode_word(model, "ab"), (std::vector<std::int32_t>{11}));
  EXPECT_EQ(encode_word(model, "aaa"), (std::vector<std::int32_t>{12, 0}));  // leftmost of equal ranks
  EXPECT_EQ(encode_word(model, "aaaa"), (std::vector<std::int32_t>{13}));    // aa aa, then aaaa
  EXPECT_EQ(encode_word(model, "aaaaa"), (std::vector<std::int32_t>{13, 0}));
  EXPECT_EQ(encode_word(model, "d"), (std::vector<std::int32_t>{3}));
  EXPECT_EQ(encode_word(model, "dd"), (std::vector<std::int32_t>{3, 3}));
}

TEST(TokenizerBpe, RefusesARepeatedPair) {
  BpeModel model = abcd_model({{0, 1, 10}});
  EXPECT_FALSE(model.add_merge(0, 1, 11));
  EXPECT_EQ(encode_word(model, "ab"), (std::vector<std::int32_t>{10}));
}

// The textbook algorithm, O(n^2) on token strings: merge the leftmost occurrence of the lowest-ranked adjacent
// pair until no pair has a merge. The fast priority-queue version must agree with it exactly.
class NaiveBpe {
 public:
  explicit NaiveBpe(const nlohmann::json& merges) {
    for (std::size_t rank = 0; rank < merges.size(); ++rank) {
      const std::string m = merges[rank];
      const auto space = m.find(' ');
      rank_[{m.substr(0, space), m.substr(space + 1)}] = rank;
    }
  }
  std::vector<std::string> encode(const std::vector<std::string>& chars) const {
    std::vector<std::string> symbols = chars;
    while (true) {
      std::size_t best = symbols.size(), best_rank = SIZE_MAX;
      for (std::size_t i = 0; i + 1 < symbols.size(); ++i) {
        const auto it = rank_.find({symbols[i], symbols[i + 1]});
        if (it != rank_.end() && it->second < best_rank) best = i, best_rank = it->second;
      }
      if (best == symbols.size()) return symbols;
      symbols[best] += symbols[best + 1];
      symbols.erase(symbols.begin() + static_cast<std::ptrdiff_t>(best) + 1);
    }
  }

 private:
  std::map<std::pair<std::string, std::string>, std::size_t> rank_;
};

TEST(TokenizerBpe, AgreesWithTheNaiveAlgorithmOnRandomWords) {
  const nlohmann::json file = test::read_json(test::neox_tokenizer_path());
  const NaiveBpe naive(file.at("model").at("merges"));
  const Tokenizer& tokenizer = test::neox_tokenizer();
  // Words of one pre-token each (an optional leading space, then letters), so encode() is BPE on that word.
  const std::vector<std::string> letters = {"e", "t", "a", "o", "i", "n", "s", "h", "r", "l",  "d",
                                            "u", "c", "m", "w", "y", "g", "p", "b", "k", "q",  "z",
                                            "x", "E", "T", "é", "ж", "д", "ω", "ق", "न", "中", "ß"};
  const unsigned seed = 11;
  std::mt19937 rng(seed);
  for (int trial = 0; trial < 3000; ++trial) {
    std::string word = rng() % 2 ? " " : "";
    for (int n = 1 + static_cast<int>(rng() % 20); n > 0; --n) word += letters[rng() % letters.size()];
    std::vector<std::string> chars;  // the word's bytes spelled as tokenizer.json spells them ("Ġ" for ' ')
    for (const char byte : word) {
      chars.emplace_back();
      append_utf8(chars.back(), byte_to_char(static_cast<std::uint8_t>(byte)));
    }
    std::vector<std::string> got;
    for (const std::int32_t id : tokenizer.encode(word)) got.emplace_back(tokenizer.token(id));
    ASSERT_EQ(got, naive.encode(chars)) << "seed " << seed << " trial " << trial << " word '" << word << "'";
  }
}

// A 1 MB word (no spaces: one pre-token) must not take quadratic time; it round-trips.
TEST(TokenizerBpe, OneMegabyteWordsFinishAndRoundTrip) {
  const Tokenizer& tokenizer = test::neox_tokenizer();
  const unsigned seed = 5;
  std::mt19937 rng(seed);
  std::string random_letters(std::size_t{1} << 20, 'a');
  for (char& c : random_letters) c = static_cast<char>('a' + rng() % 26);
  for (const std::string& word : {std::string(std::size_t{1} << 20, 'a'), random_letters}) {
    const auto start = std::chrono::steady_clock::now();
    const std::vector<std::int32_t> ids = tokenizer.encode(word);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("1 MB word starting '%.8s': %zu tokens in %.2f s\n", word.c_str(), ids.size(), seconds);
    EXPECT_EQ(tokenizer.decode(ids), word);
  }
}

}  // namespace
}  // namespace tinymamba
