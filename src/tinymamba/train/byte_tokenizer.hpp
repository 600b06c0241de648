// tokenizer.json for byte-level models: a Hugging Face tokenizer under which id = byte value.
// It is a ByteLevel BPE (the GPT-2 / GPT-NeoX family's format) whose vocabulary is exactly the 256 byte-level
// symbols — byte b is the symbol bytes_to_unicode(b) (printable bytes are themselves, the others are shifted to
// U+0100..U+0143) with id b — and which has no merges, no normalizer and no special tokens. Any ByteLevel BPE
// implementation (Hugging Face `tokenizers`, transformers, tinymamba's tokenizer) therefore encodes a text as its
// UTF-8 bytes and decodes ids back to the same bytes.
#pragma once

#include <string>

namespace tinymamba::train {

[[nodiscard]] std::string byte_level_tokenizer_json();

// True when `json_text` is such a tokenizer (id = byte value for every byte), so the byte encoder can stand in
// for it.
[[nodiscard]] bool is_byte_level_tokenizer(const std::string& json_text);

}  // namespace tinymamba::train
