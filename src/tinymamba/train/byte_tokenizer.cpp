#include "tinymamba/train/byte_tokenizer.hpp"

#include <array>

#include "tinymamba/core/json.hpp"

namespace tinymamba::train {
namespace {

// GPT-2's bytes_to_unicode: the printable bytes '!'..'~', '¡'..'¬', '®'..'ÿ' map to the same code point; the
// other 68 bytes, in increasing order, to U+0100, U+0101, ...
std::array<char32_t, 256> byte_symbols() {
  std::array<char32_t, 256> cp{};
  char32_t next = 256;
  for (int b = 0; b < 256; ++b) {
    const bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    cp[b] = printable ? static_cast<char32_t>(b) : next++;
  }
  return cp;
}

std::string utf8(char32_t c) {
  std::string s;
  if (c < 0x80) {
    s += static_cast<char>(c);
  } else {  // every symbol here is below U+0800
    s += static_cast<char>(0xC0 | (c >> 6));
    s += static_cast<char>(0x80 | (c & 0x3F));
  }
  return s;
}

}  // namespace

std::string byte_level_tokenizer_json() {
  const auto cp = byte_symbols();
  nlohmann::ordered_json vocab = nlohmann::ordered_json::object();
  for (int b = 0; b < 256; ++b) vocab[utf8(cp[b])] = b;
  const nlohmann::ordered_json byte_level = {
      {"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", true}};
  nlohmann::ordered_json j = {
      {"version", "1.0"},
      {"truncation", nullptr},
      {"padding", nullptr},
      {"added_tokens", nlohmann::ordered_json::array()},
      {"normalizer", nullptr},
      {"pre_tokenizer", byte_level},
      {"post_processor", nullptr},
      {"decoder", byte_level},
      {"model",
       {{"type", "BPE"},
        {"dropout", nullptr},
        {"unk_token", nullptr},
        {"continuing_subword_prefix", nullptr},
        {"end_of_word_suffix", nullptr},
        {"fuse_unk", false},
        {"byte_fallback", false},
        {"vocab", vocab},
        {"merges", nlohmann::ordered_json::array()}}}};
  return j.dump(2) + "\n";
}

bool is_byte_level_tokenizer(const std::string& json_text) {
  try {
    const nlohmann::json j = parse_json(json_text, "tokenizer.json");
    const auto& model = j.at("model");
    if (model.at("type") != "BPE" || !model.at("merges").empty()) return false;
    if (j.contains("normalizer") && !j["normalizer"].is_null()) return false;
    if (j.contains("added_tokens") && !j["added_tokens"].empty()) return false;
    const auto& vocab = model.at("vocab");
    if (!vocab.is_object() || vocab.size() != 256) return false;
    const auto cp = byte_symbols();
    for (int b = 0; b < 256; ++b) {
      auto it = vocab.find(utf8(cp[b]));
      if (it == vocab.end() || *it != b) return false;
    }
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

}  // namespace tinymamba::train
