// Decoding while a model generates: see StreamingDecoder.
#pragma once

#include <cstdint>
#include <string>

#include "tinymamba/tokenizer/tokenizer.hpp"

namespace tinymamba {

// Decodes a stream of ids one at a time (as a model generates them) into text that is always well-formed
// UTF-8: a token that ends inside a character is held back until the next token completes it. Everything
// push() returned, followed by flush(), equals tokenizer.decode(all ids).
class StreamingDecoder {
 public:
  explicit StreamingDecoder(const Tokenizer& tokenizer) : tokenizer_(&tokenizer) {}

  // The text that `id` completes; may be empty. Throws Error if `id` is out of range.
  [[nodiscard]] std::string push(std::int32_t id);

  // Whatever is held back, an incomplete character becoming U+FFFD; the decoder is then empty again.
  [[nodiscard]] std::string flush();

 private:
  const Tokenizer* tokenizer_;
  std::string pending_;  // bytes of an incomplete character (at most 3)
};

}  // namespace tinymamba
