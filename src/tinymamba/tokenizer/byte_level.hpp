// GPT-2's byte <-> character map ("bytes_to_unicode" in OpenAI's encoder.py, CHAR_BYTES in Hugging Face's
// byte_level.rs). Byte-level BPE works on bytes, but tokenizer.json spells its tokens as text, so every byte
// gets a printable stand-in character: the 188 bytes that are printable Latin-1 ('!'..'~', '¡'..'¬',
// '®'..'ÿ') stand for themselves, the other 68 (controls, space, DEL, NBSP, soft hyphen) get U+0100 onwards in
// byte order — so a space is 'Ġ' (U+0120) and a newline 'Ċ' (U+010A).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tinymamba {

// The stand-in character of `byte`.
[[nodiscard]] char32_t byte_to_char(std::uint8_t byte);

// The byte that `c` stands for, or nullopt if `c` is not one of the 256 stand-ins.
[[nodiscard]] std::optional<std::uint8_t> char_to_byte(char32_t c);

// The bytes a token spelled with stand-ins stands for ("Ġx" -> " x"), or nullopt if some character of
// `token_text` (valid UTF-8) is not a stand-in.
[[nodiscard]] std::optional<std::string> byte_level_to_bytes(std::string_view token_text);

}  // namespace tinymamba
