#include "text_encoder.hpp"

#include <memory>

#include "tinymamba/core/error.hpp"
#include "tinymamba/core/file.hpp"
#include "tinymamba/train/byte_tokenizer.hpp"

#if __has_include("tinymamba/tokenizer/tokenizer.hpp")
#include "tinymamba/tokenizer/tokenizer.hpp"
#define TINYMAMBA_HAVE_BPE_TOKENIZER 1
#endif

namespace tinymamba::cli {

train::TextEncoder make_text_encoder(bool bytes, const std::string& tokenizer_path) {
  TM_CHECK(!(bytes && !tokenizer_path.empty()), "--bytes and --tokenizer cannot be used together");
  TM_CHECK(bytes || !tokenizer_path.empty(), "say how to turn the text into tokens: --bytes or --tokenizer FILE");
  if (bytes) return train::byte_encoder();
  const std::string text = read_text_file(tokenizer_path, std::size_t{256} << 20);
  if (train::is_byte_level_tokenizer(text)) {
    train::TextEncoder e = train::byte_encoder();
    e.name = tokenizer_path;
    return e;
  }
#ifdef TINYMAMBA_HAVE_BPE_TOKENIZER
  auto tok = std::make_shared<Tokenizer>(Tokenizer::load(tokenizer_path));
  train::TextEncoder e;
  e.name = tokenizer_path;
  e.vocab_size = static_cast<std::int64_t>(tok->vocab_size());
  e.byte_level = false;
  e.encode = [tok](std::string_view t) {
    const auto ids = tok->encode(t);
    return std::vector<std::int32_t>(ids.begin(), ids.end());
  };
  return e;
#else
  fail(tokenizer_path, ": this build has no BPE tokenizer yet; use --bytes (or a byte-level tokenizer.json)");
#endif
}

}  // namespace tinymamba::cli
