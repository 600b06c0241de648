#include "text_encoder.hpp"

#include <memory>

#include "tinymamba/core/error.hpp"
#include "tinymamba/core/file.hpp"
#include "tinymamba/tokenizer/tokenizer.hpp"
#include "tinymamba/train/byte_tokenizer.hpp"

namespace tinymamba::cli {

train::TextEncoder make_text_encoder(bool bytes, const std::string& tokenizer_path) {
  TM_CHECK(!(bytes && !tokenizer_path.empty()), "--bytes and --tokenizer cannot be used together");
  TM_CHECK(bytes || !tokenizer_path.empty(), "say how to turn the text into tokens: --bytes or --tokenizer FILE");
  if (bytes) return train::byte_encoder();
  return text_encoder_from_json(read_text_file(tokenizer_path, std::size_t{256} << 20), tokenizer_path);
}

train::TextEncoder text_encoder_from_json(const std::string& json_text, const std::string& name) {
  if (train::is_byte_level_tokenizer(json_text)) {
    train::TextEncoder e = train::byte_encoder();
    e.name = name;
    return e;
  }
  auto tok = std::make_shared<Tokenizer>(Tokenizer::from_json(json_text, name));
  train::TextEncoder e;
  e.name = name;
  e.vocab_size = tok->vocab_size();
  e.byte_level = false;
  e.encode = [tok](std::string_view t) { return tok->encode(t); };
  return e;
}

}  // namespace tinymamba::cli
