#include "tinymamba/tokenizer/streaming_decoder.hpp"

#include "tinymamba/tokenizer/utf8.hpp"

namespace tinymamba {

std::string StreamingDecoder::push(std::int32_t id) {
  pending_ += tokenizer_->token_bytes(id);
  std::string text;
  pending_.erase(0, append_utf8_lossy(text, pending_, /*final=*/false));
  return text;
}

std::string StreamingDecoder::flush() {
  std::string text;
  append_utf8_lossy(text, pending_, /*final=*/true);
  pending_.clear();
  return text;
}

}  // namespace tinymamba
