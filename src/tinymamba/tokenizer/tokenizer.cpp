// Tokenizer::encode and decode. Loading is in tokenizer_json.cpp.
#include "tinymamba/tokenizer/tokenizer.hpp"

#include "tinymamba/core/error.hpp"
#include "tinymamba/tokenizer/normalize.hpp"
#include "tinymamba/tokenizer/pretokenize.hpp"
#include "tinymamba/tokenizer/utf8.hpp"

namespace tinymamba {

void Tokenizer::check_id(std::int32_t id) const {
  TM_CHECK(id >= 0 && id < vocab_size(), "token id ", id, " is out of range [0, ", vocab_size(), ")");
}

std::string_view Tokenizer::token(std::int32_t id) const {
  check_id(id);
  return token_text_[static_cast<std::size_t>(id)];
}

std::string_view Tokenizer::token_bytes(std::int32_t id) const {
  check_id(id);
  return token_bytes_[static_cast<std::size_t>(id)];
}

void Tokenizer::encode_words(std::string_view text, BpeWordCache& cache, std::vector<std::int32_t>& ids) const {
  for_each_gpt2_piece(text, [&](std::string_view word) { cache.encode(bpe_, word, ids); });
}

std::vector<std::int32_t> Tokenizer::encode(std::string_view utf8) const {
  check_utf8(utf8, "input text");
  std::vector<std::int32_t> ids;
  ids.reserve(utf8.size() / 4);  // about 4 bytes per token in English
  BpeWordCache cache;
  const auto add_id = [&](std::int32_t id) { ids.push_back(id); };
  raw_added_tokens_.split(
      utf8,
      [&](std::string_view stretch) {
        const std::string normalized = nfc_ ? nfc(stretch) : std::string(stretch);
        normalized_added_tokens_.split(
            normalized, [&](std::string_view rest) { encode_words(rest, cache, ids); }, add_id);
      },
      add_id);
  return ids;
}

std::string Tokenizer::decode(std::span<const std::int32_t> ids) const {
  std::string bytes;
  for (const std::int32_t id : ids) bytes += token_bytes(id);
  std::string text;
  text.reserve(bytes.size());
  append_utf8_lossy(text, bytes, /*final=*/true);
  return text;
}

}  // namespace tinymamba
