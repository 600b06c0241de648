// The GPT-NeoX tokenizer (and any byte-level BPE of the same shape) loaded from a Hugging Face tokenizer.json.
//
// encode(text) does what Hugging Face's Tokenizer::encode(text, add_special_tokens=false) does:
//   1. added tokens with "normalized": false (<|endoftext|>, <|padding|>) are cut out of the raw text;
//   2. each stretch between them is NFC-normalized (if the file's normalizer is NFC);
//   3. added tokens with "normalized": true (GPT-NeoX's space runs) are cut out of the normalized stretches;
//   4. what is left is split into words by GPT-2's pattern (pretokenize.hpp);
//   5. each word's bytes are encoded by BPE (bpe.hpp).
// Both added-token passes match leftmost-longest (added_tokens.hpp). No special tokens are ever added.
//
// decode(ids) concatenates the tokens' bytes and replaces ill-formed UTF-8 by U+FFFD, as Hugging Face's
// ByteLevel decoder does; special tokens are kept. Decoded text is the NFC form of what was encoded.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tinymamba/tokenizer/added_tokens.hpp"
#include "tinymamba/tokenizer/bpe.hpp"

namespace tinymamba {

class Tokenizer {
 public:
  // Reads a tokenizer.json. Anything this class cannot run exactly (another model type, normalizer or
  // pre-tokenizer, BPE dropout, ...) and anything malformed is an Error naming `path` and the problem.
  static Tokenizer load(const std::string& path);
  // The same from the file's text already in memory (the fuzzing entry point); `name` is used in messages.
  static Tokenizer from_json(std::string_view text, const std::string& name);

  // Throws Error if `utf8` is not well-formed UTF-8 (naming the byte offset).
  [[nodiscard]] std::vector<std::int32_t> encode(std::string_view utf8) const;

  // Throws Error if an id is outside [0, vocab_size()).
  [[nodiscard]] std::string decode(std::span<const std::int32_t> ids) const;

  // Largest id + 1 (ids are dense: the model's vocab, then the added tokens). 50,277 for GPT-NeoX.
  [[nodiscard]] std::int64_t vocab_size() const { return static_cast<std::int64_t>(token_text_.size()); }

  // The id of the added token "<|endoftext|>", if there is one.
  [[nodiscard]] std::optional<std::int32_t> eos_id() const { return eos_id_; }

  // The token as tokenizer.json spells it ("Ġx" for " x"). Throws Error if `id` is out of range.
  [[nodiscard]] std::string_view token(std::int32_t id) const;

  // The bytes the token stands for (" x"); may be part of a UTF-8 character. Throws Error if out of range.
  [[nodiscard]] std::string_view token_bytes(std::int32_t id) const;

 private:
  Tokenizer() = default;
  void check_id(std::int32_t id) const;
  void encode_words(std::string_view text, BpeWordCache& cache, std::vector<std::int32_t>& ids) const;

  bool nfc_ = false;
  BpeModel bpe_;
  AddedTokenMatcher raw_added_tokens_;         // "normalized": false, matched in the text as given
  AddedTokenMatcher normalized_added_tokens_;  // "normalized": true, matched in NFC text
  std::vector<std::string> token_text_;        // by id
  std::vector<std::string> token_bytes_;       // by id
  std::optional<std::int32_t> eos_id_;
};

}  // namespace tinymamba
