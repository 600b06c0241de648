// Byte-level BPE on one word (a piece of the pre-tokenizer's split): the word's bytes start as one token each,
// then the learned merges are applied, always the lowest-ranked merge among the adjacent pairs first and, among
// equal ranks, the leftmost — Hugging Face's Word::merge_all (models/bpe/word.rs) without dropout, and the same
// result as GPT-2's encoder.py.
//
// A priority queue of candidate pairs makes a word of n bytes cost O(n log n) (a 1 MB word without spaces is
// one word); repeated words within one encode() are served from BpeWordCache.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace tinymamba {

class BpeModel {
 public:
  BpeModel() = default;
  // byte_tokens[b]: the id of the token that is the single byte b (-1 for bytes that never occur in UTF-8).
  explicit BpeModel(const std::array<std::int32_t, 256>& byte_tokens) : byte_tokens_(byte_tokens) {}

  // Adds the next merge (ranks count up from 0 in the order of adding): the pair (left, right) becomes
  // `merged`. Returns false, adding nothing, if the pair already has a merge.
  bool add_merge(std::int32_t left, std::int32_t right, std::int32_t merged);

  // The working memory of encode_word, kept between calls to save allocating it for every word.
  struct Scratch;

  // Appends the token ids of `word` (non-empty, well-formed UTF-8) to `out`.
  void encode_word(std::string_view word, std::vector<std::int32_t>& out, Scratch& scratch) const;

 private:
  struct MergeResult {
    std::int32_t rank;
    std::int32_t merged;
  };
  static std::uint64_t pair_key(std::int32_t left, std::int32_t right) {
    return (static_cast<std::uint64_t>(static_cast<std::uint32_t>(left)) << 32) | static_cast<std::uint32_t>(right);
  }

  std::array<std::int32_t, 256> byte_tokens_{};
  std::unordered_map<std::uint64_t, MergeResult> merges_;  // pair_key(left, right) -> merge
};

struct BpeModel::Scratch {
  // The word as a doubly linked list of symbols, one per byte to begin with. Merging a pair keeps the left
  // symbol (now the merged token) and unlinks the right one.
  struct Symbol {
    std::int32_t id;
    bool alive;
    std::int64_t prev;  // index of the previous live symbol, -1 at the start
    std::int64_t next;  // -1 at the end
  };
  // An adjacent pair that has a merge, as it was when found.
  struct Candidate {
    std::int32_t rank;
    std::int64_t pos;  // the left symbol
    std::int32_t left, right, merged;
  };
  std::vector<Symbol> symbols;
  std::vector<Candidate> queue;  // a heap, lowest (rank, pos) on top
};

// The tokens of words already encoded, for one encode() call (so encode() stays const and thread-safe). Text
// repeats its words, so most words are looked up rather than merged. Bounded: at most kMaxWords words of at
// most kMaxWordBytes bytes are kept; others are encoded every time.
class BpeWordCache {
 public:
  static constexpr std::size_t kMaxWords = std::size_t{1} << 14;
  static constexpr std::size_t kMaxWordBytes = 64;

  // Appends the token ids of `word` to `out`.
  void encode(const BpeModel& model, std::string_view word, std::vector<std::int32_t>& out);

 private:
  struct Span {
    std::uint32_t begin;  // into ids_
    std::uint32_t size;
  };
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, Span, Hash, std::equal_to<>> words_;
  std::vector<std::int32_t> ids_;  // every cached word's tokens, one after another
  BpeModel::Scratch scratch_;
};

}  // namespace tinymamba
