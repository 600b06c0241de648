#include "tinymamba/io/gguf_tokenizer.hpp"

#include <nlohmann/json.hpp>

#include "tinymamba/core/error.hpp"

namespace tinymamba {
namespace {
using json = nlohmann::json;

enum TokenType : std::int64_t { kNormal = 1, kControl = 3, kUserDefined = 4, kUnused = 5 };

GgufValue string_value(std::string s) {
  GgufValue v;
  v.type = GgufType::string;
  v.s = std::move(s);
  return v;
}
}  // namespace

std::map<std::string, GgufValue> gguf_tokenizer_keys(const std::string& json_text, std::int64_t n_vocab,
                                                     const std::string& source) {
  const json root = json::parse(json_text, nullptr, false);
  TM_CHECK(root.is_object() && root.contains("model") && root["model"].is_object() &&
               root["model"].contains("vocab") && root["model"]["vocab"].is_object(),
           source, ": not a BPE tokenizer.json (no model.vocab)");
  std::vector<std::string> tokens;
  std::vector<std::int64_t> types;
  const auto put = [&](std::int64_t id, const std::string& text, std::int64_t type) {
    TM_CHECK(id >= 0 && id < n_vocab, source, ": token id ", id, " is outside the model's vocabulary of ", n_vocab);
    if (static_cast<std::int64_t>(tokens.size()) <= id) {
      tokens.resize(static_cast<std::size_t>(id) + 1);
      types.resize(static_cast<std::size_t>(id) + 1, kUnused);
    }
    tokens[id] = text;
    types[id] = type;
  };
  for (const auto& [text, id] : root["model"]["vocab"].items()) {
    TM_CHECK(id.is_number_integer(), source, ": model.vocab: the id of a token is not an integer");
    put(id.get<std::int64_t>(), text, kNormal);
  }
  if (root.contains("added_tokens") && root["added_tokens"].is_array())
    for (const json& a : root["added_tokens"]) {
      TM_CHECK(a.is_object() && a.contains("id") && a["id"].is_number_integer() && a.contains("content") &&
                   a["content"].is_string(),
               source, ": an added token without an integer id and a content string");
      put(a["id"].get<std::int64_t>(), a["content"].get<std::string>(),
          a.contains("special") && a["special"].is_boolean() && a["special"].get<bool>() ? kControl : kUserDefined);
    }
  for (std::int64_t id = 0; id < n_vocab; ++id) {
    if (id >= static_cast<std::int64_t>(tokens.size())) {
      tokens.push_back("");
      types.push_back(kUnused);
    }
    if (types[id] == kUnused) tokens[id] = "[PAD" + std::to_string(id) + "]";
  }
  GgufValue merges;
  merges.type = GgufType::array;
  merges.elem = GgufType::string;
  if (root["model"].contains("merges") && root["model"]["merges"].is_array())
    for (const json& m : root["model"]["merges"]) {
      if (m.is_string())
        merges.strings.push_back(m.get<std::string>());
      else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string())
        merges.strings.push_back(m[0].get<std::string>() + " " + m[1].get<std::string>());
      else
        fail(source, ": a merge that is neither \"left right\" nor [left, right]");
    }
  std::map<std::string, GgufValue> keys;
  keys["tokenizer.ggml.model"] = string_value("gpt2");
  keys["tokenizer.ggml.pre"] = string_value("gpt-2");
  GgufValue tok;
  tok.type = GgufType::array;
  tok.elem = GgufType::string;
  tok.strings = std::move(tokens);
  keys["tokenizer.ggml.tokens"] = std::move(tok);
  GgufValue ty;
  ty.type = GgufType::array;
  ty.elem = GgufType::i32;
  ty.ints = std::move(types);
  keys["tokenizer.ggml.token_type"] = std::move(ty);
  keys["tokenizer.ggml.merges"] = std::move(merges);
  for (std::size_t id = 0; id < keys["tokenizer.ggml.tokens"].strings.size(); ++id)
    if (keys["tokenizer.ggml.tokens"].strings[id] == "<|endoftext|>")
      for (const char* k : {"tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id", "tokenizer.ggml.unknown_token_id"}) {
        GgufValue v;
        v.type = GgufType::u32;
        v.i = static_cast<std::int64_t>(id);
        keys[k] = v;
      }
  return keys;
}

std::string tokenizer_json_from_gguf(const GgufFile& f, const std::string& source) {
  const GgufValue* model = f.find("tokenizer.ggml.model");
  TM_CHECK(model, source, ": no tokenizer (tokenizer.ggml.model is missing); pass one with -t");
  TM_CHECK(model->type == GgufType::string && model->s == "gpt2", source, ": tokenizer.ggml.model '",
           model->type == GgufType::string ? model->s : "?", "' (only byte-level BPE, 'gpt2', is read)");
  const GgufValue* tokens = f.find("tokenizer.ggml.tokens");
  TM_CHECK(tokens && tokens->type == GgufType::array && tokens->elem == GgufType::string, source,
           ": tokenizer.ggml.tokens is missing or not an array of strings");
  const GgufValue* types = f.find("tokenizer.ggml.token_type");
  const bool typed = types && types->type == GgufType::array && types->ints.size() == tokens->strings.size();
  const auto type_of = [&](std::size_t id) { return typed ? types->ints[id] : std::int64_t{kNormal}; };
  // The vocab is dense: every token but the unused padding at the end.
  std::size_t n = tokens->strings.size();
  while (n > 0 && type_of(n - 1) == kUnused) --n;
  json vocab = json::object(), added = json::array();
  for (std::size_t id = 0; id < n; ++id) {
    const std::string& text = tokens->strings[id];
    vocab[text] = id;
    if (type_of(id) == kControl || type_of(id) == kUserDefined)
      added.push_back({{"id", id}, {"content", text}, {"special", type_of(id) == kControl},
                       {"normalized", type_of(id) == kUserDefined}});
  }
  json merges = json::array();
  if (const GgufValue* m = f.find("tokenizer.ggml.merges")) {
    TM_CHECK(m->type == GgufType::array && m->elem == GgufType::string, source,
             ": tokenizer.ggml.merges is not an array of strings");
    for (const std::string& s : m->strings) merges.push_back(s);
  }
  const json byte_level = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}};
  const json root = {{"added_tokens", added},
                     {"normalizer", nullptr},
                     {"pre_tokenizer", byte_level},
                     {"decoder", byte_level},
                     {"model", {{"type", "BPE"}, {"dropout", nullptr}, {"vocab", vocab}, {"merges", merges}}}};
  return root.dump(-1, ' ', false, json::error_handler_t::replace);  // ill-formed UTF-8 → U+FFFD, then refused
}

}  // namespace tinymamba
