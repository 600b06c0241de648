// A byte-level BPE tokenizer in a GGUF file's `tokenizer.ggml.*` keys (../shared/reference/gguf-mamba.md §6), to
// and from the tokenizer.json that tokenizer/ reads: tokens by id with their types (1 normal, 3 control = a
// special added token, 4 user-defined = a normalized added token, 5 unused padding), merges as "left right".
// No NFC normalizer travels (GGUF has no key for it; llama.cpp does not normalize either).
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "tinymamba/io/gguf.hpp"

namespace tinymamba {

// The tokenizer.ggml.* keys for the tokenizer.json text `json_text` (`source` names it in errors); ids above the
// tokenizer's are filled with "[PAD<id>]" unused tokens up to n_vocab, as llama.cpp's converter does.
[[nodiscard]] std::map<std::string, GgufValue> gguf_tokenizer_keys(const std::string& json_text, std::int64_t n_vocab,
                                                                   const std::string& source);
// The tokenizer.json text for f's tokenizer keys (Tokenizer::from_json checks the rest); an Error naming `source`
// when the file has none or one other than byte-level BPE ("gpt2").
[[nodiscard]] std::string tokenizer_json_from_gguf(const GgufFile& f, const std::string& source);

}  // namespace tinymamba
