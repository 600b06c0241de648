// The tokenizer's side of the differential test against Hugging Face (hf_diff.cjs): reads requests, one JSON
// object a line, and answers each with one JSON line, so that one process serves a whole run.
//
//   tokenizer_lines TOKENIZER_JSON < requests > answers
//
//   {"op": "encode", "text": T}    ->  {"ids": [...]}            Tokenizer::encode(T)
//   {"op": "nfc", "text": T}       ->  {"text": "..."}           nfc(T)
//   {"op": "split", "text": T}     ->  {"pieces": ["...", ...]}  the GPT-2 split of T (no NFC, no added tokens)
//   {"op": "properties", "text": T} -> {"categories": "LuMn...", "classes": [0, 230, ...]}
//                                     the general category and canonical combining class of each code point of T
//                                     in our Unicode data (utf8proc's, Unicode 15.0)
//
// A request that fails (invalid UTF-8, unknown op) is answered {"error": "..."}; only unreadable input or a
// tokenizer that does not load ends the program (exit status 1).
#include <utf8proc.h>

#include <exception>
#include <iostream>
#include <string>

#include <nlohmann/json.hpp>

#include "tinymamba/tokenizer/normalize.hpp"
#include "tinymamba/tokenizer/pretokenize.hpp"
#include "tinymamba/tokenizer/tokenizer.hpp"
#include "tinymamba/tokenizer/utf8.hpp"

namespace {

using nlohmann::json;
using tinymamba::Tokenizer;

json answer(const Tokenizer& tok, const json& request) {
  const std::string op = request.at("op").get<std::string>();
  const std::string text = request.at("text").get<std::string>();
  tinymamba::check_utf8(text, "text");
  if (op == "encode") return {{"ids", tok.encode(text)}};
  if (op == "nfc") return {{"text", tinymamba::nfc(text)}};
  if (op == "split") {
    json pieces = json::array();
    tinymamba::for_each_gpt2_piece(text, [&](std::string_view piece) { pieces.push_back(std::string(piece)); });
    return {{"pieces", pieces}};
  }
  if (op == "properties") {
    std::string categories;
    json classes = json::array();
    for (std::size_t pos = 0; pos < text.size();) {
      const tinymamba::CodePoint c = tinymamba::decode_utf8_at(text, pos);
      pos += c.length;
      const auto cp = static_cast<utf8proc_int32_t>(c.value);
      categories += utf8proc_category_string(cp);
      classes.push_back(utf8proc_get_property(cp)->combining_class);
    }
    return {{"categories", categories}, {"classes", classes}};
  }
  return {{"error", "unknown op \"" + op + "\""}};
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: tokenizer_lines TOKENIZER_JSON < requests.jsonl > answers.jsonl\n";
    return 2;
  }
  try {
    const Tokenizer tok = Tokenizer::load(argv[1]);
    std::ios::sync_with_stdio(false);
    std::string line;
    while (std::getline(std::cin, line)) {
      json reply;
      try {
        reply = answer(tok, json::parse(line));
      } catch (const std::exception& e) {
        reply = {{"error", e.what()}};
      }
      std::cout << reply.dump(-1, ' ', false, json::error_handler_t::strict) << '\n';
    }
  } catch (const std::exception& e) {
    std::cerr << "tokenizer_lines: error: " << e.what() << '\n';
    return 1;
  }
  return 0;
}
