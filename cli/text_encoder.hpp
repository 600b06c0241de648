// The seam between the training / evaluation code (which only needs a function text -> ids) and tokenizers:
//   --bytes          id = byte value, vocab 256
//   --tokenizer T    a tokenizer.json: a byte-level one (id = byte, as tinymamba writes beside byte models) is
//                    served by the byte encoder (so any bytes, valid UTF-8 or not, can be trained on); any other
//                    by the BPE tokenizer (src/tinymamba/tokenizer/), which encodes UTF-8 text.
#pragma once

#include <string>

#include "tinymamba/train/data.hpp"

namespace tinymamba::cli {

[[nodiscard]] train::TextEncoder make_text_encoder(bool bytes, const std::string& tokenizer_path);
// The same for a tokenizer.json's text already in memory (a GGUF file's tokenizer); `name` is used in messages.
[[nodiscard]] train::TextEncoder text_encoder_from_json(const std::string& json_text, const std::string& name);

}  // namespace tinymamba::cli
