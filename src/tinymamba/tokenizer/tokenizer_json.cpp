// Tokenizer::load: reading and checking a Hugging Face tokenizer.json. The file comes from outside, so every
// field the tokenizer relies on is checked, and every problem is one line "<path>: <what is wrong>". Settings
// that would change the ids and that this implementation does not run are refused, not ignored. Ignored, as
// they do not change what encode() means here: "post_processor" (encode() adds no special tokens),
// "truncation" and "padding" (encode() returns every id), and the offsets-only "trim_offsets".
//
// File layout (the parts read):
//   {"normalizer": null | {"type": "NFC"},
//    "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "use_regex": true},
//    "decoder": {"type": "ByteLevel", ...},
//    "model": {"type": "BPE", "dropout": null, "vocab": {"token": id, ...},
//              "merges": ["left right", ...] or [["left", "right"], ...]},
//    "added_tokens": [{"id": 0, "content": "<|endoftext|>", "special": true, "normalized": false,
//                      "lstrip": false, "rstrip": false, "single_word": false}, ...]}
#include <array>
#include <cstdio>
#include <set>
#include <unordered_map>

#include "tinymamba/core/error.hpp"
#include "tinymamba/core/file.hpp"
#include "tinymamba/core/json.hpp"
#include "tinymamba/tokenizer/byte_level.hpp"
#include "tinymamba/tokenizer/normalize.hpp"
#include "tinymamba/tokenizer/tokenizer.hpp"
#include "tinymamba/tokenizer/utf8.hpp"

namespace tinymamba {
namespace {

using nlohmann::json;

// At most this many ids, whatever the file says (GPT-NeoX has 50,277; the largest public vocabularies ~256k).
constexpr std::size_t kMaxTokens = std::size_t{1} << 22;

// A string from the file, for an error message: JSON-quoted (control characters escaped, so the message stays
// one line) and cut to a few dozen bytes at a character boundary.
std::string quote_for_message(std::string_view s) {
  constexpr std::size_t kMaxBytes = 40;
  if (s.size() <= kMaxBytes) return json(s).dump();
  std::size_t cut = kMaxBytes;
  while (cut > 0 && (static_cast<std::uint8_t>(s[cut]) & 0xC0) == 0x80) --cut;
  return json(s.substr(0, cut)).dump() + "...";
}

bool is_absent(const json& object, const char* key) {
  const auto it = object.find(key);
  return it == object.end() || it->is_null();
}

// The "type" of a component, for messages: "\"NFKC\"", or what the value is if it has no string type.
std::string type_of(const json& component) {
  if (component.is_object() && component.contains("type") && component["type"].is_string()) {
    return quote_for_message(component["type"].get_ref<const std::string&>());
  }
  return std::string("(a JSON ") + component.type_name() + " without a string \"type\")";
}

bool has_type(const json& component, std::string_view type) {
  return component.is_object() && component.contains("type") && component["type"].is_string() &&
         component["type"].get_ref<const std::string&>() == type;
}

// A true/false field; `fallback` if absent or null. `where` names the object ("file.json: pre_tokenizer").
bool read_bool(const json& object, const char* key, bool fallback, const std::string& where) {
  if (is_absent(object, key)) return fallback;
  TM_CHECK(object[key].is_boolean(), where, ".", key, " is not true or false");
  return object[key].get<bool>();
}

// The id in `value`, or -1 if it is not an integer in [0, kMaxTokens).
std::int32_t id_or_minus_one(const json& value) {
  if (!value.is_number_unsigned() || value.get<std::uint64_t>() >= kMaxTokens) return -1;
  return static_cast<std::int32_t>(value.get<std::uint64_t>());
}

const json& read_object(const json& parent, const char* key, const std::string& where) {
  TM_CHECK(!is_absent(parent, key), where, ": no \"", key, "\"");
  TM_CHECK(parent[key].is_object(), where, ": \"", key, "\" is not an object");
  return parent[key];
}

// Returns whether to apply NFC.
bool read_pipeline(const json& root, const std::string& path) {
  bool nfc = false;
  if (!is_absent(root, "normalizer")) {
    const json& normalizer = root["normalizer"];
    TM_CHECK(has_type(normalizer, "NFC"), path, ": normalizer ", type_of(normalizer),
             " is not supported (only NFC or none)");
    nfc = true;
  }
  const json& pre = read_object(root, "pre_tokenizer", path);
  TM_CHECK(has_type(pre, "ByteLevel"), path, ": pre_tokenizer ", type_of(pre), " is not supported (only ByteLevel)");
  TM_CHECK(!read_bool(pre, "add_prefix_space", false, path + ": pre_tokenizer"), path,
           ": pre_tokenizer.add_prefix_space true is not supported");
  TM_CHECK(read_bool(pre, "use_regex", true, path + ": pre_tokenizer"), path,
           ": pre_tokenizer.use_regex false is not supported");
  const json& decoder = read_object(root, "decoder", path);
  TM_CHECK(has_type(decoder, "ByteLevel"), path, ": decoder ", type_of(decoder), " is not supported (only ByteLevel)");
  return nfc;
}

void check_bpe_options(const json& model, const std::string& path) {
  TM_CHECK(has_type(model, "BPE"), path, ": model type ", type_of(model), " is not supported (only BPE)");
  TM_CHECK(is_absent(model, "dropout"), path, ": model.dropout is not supported (must be null)");
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    TM_CHECK(is_absent(model, key) || model[key] == "", path, ": model.", key, " is not supported (must be null)");
  }
  TM_CHECK(!read_bool(model, "ignore_merges", false, path + ": model"), path,
           ": model.ignore_merges true is not supported");
}

// model.vocab: the tokens by id, which must number them 0..n-1.
std::vector<std::string> read_vocab(const json& model, const std::string& path) {
  const json& vocab = read_object(model, "vocab", path + ": model");
  TM_CHECK(!vocab.empty(), path, ": model.vocab is empty");
  TM_CHECK(vocab.size() <= kMaxTokens, path, ": model.vocab has ", vocab.size(), " tokens, more than the limit of ",
           kMaxTokens);
  std::vector<std::string> texts(vocab.size());
  std::vector<bool> seen(vocab.size(), false);
  for (const auto& [text, value] : vocab.items()) {
    const std::int32_t id = id_or_minus_one(value);
    TM_CHECK(id >= 0, path, ": model.vocab[", quote_for_message(text), "] is not an id in 0..", kMaxTokens - 1, ": ",
             quote_for_message(value.dump()));
    TM_CHECK(!text.empty(), path, ": model.vocab has an empty token (id ", id, ")");
    TM_CHECK(static_cast<std::size_t>(id) < texts.size(), path, ": model.vocab: token ", quote_for_message(text),
             " has id ", id, ", outside 0..", texts.size() - 1, " (the ids must number the ", texts.size(),
             " tokens from 0)");
    TM_CHECK(!seen[id], path, ": model.vocab: id ", id, " is used by both ", quote_for_message(texts[id]), " and ",
             quote_for_message(text));
    seen[id] = true;
    texts[id] = text;
  }
  return texts;
}

// The token of each byte. Encoded text is well-formed UTF-8, so only bytes that occur in UTF-8 need one
// (GPT-NeoX has none for C0, C1, F5..FF); the others get -1.
std::array<std::int32_t, 256> find_byte_tokens(const std::unordered_map<std::string_view, std::int32_t>& id_of,
                                               const std::string& path) {
  std::array<std::int32_t, 256> byte_tokens{};
  for (unsigned b = 0; b < 256; ++b) {
    std::string text;
    append_utf8(text, byte_to_char(static_cast<std::uint8_t>(b)));
    const auto it = id_of.find(text);
    byte_tokens[b] = it == id_of.end() ? -1 : it->second;
    char hex[8];
    std::snprintf(hex, sizeof hex, "0x%02X", b);
    TM_CHECK(byte_tokens[b] >= 0 || !byte_occurs_in_utf8(static_cast<std::uint8_t>(b)), path,
             ": model.vocab has no token for byte ", hex, " (", quote_for_message(text),
             "); byte-level BPE needs one for every byte that occurs in UTF-8");
  }
  return byte_tokens;
}

// model.merges, in rank order: "left right" strings, or [left, right] pairs (the newer format).
BpeModel read_merges(const json& model, const std::unordered_map<std::string_view, std::int32_t>& id_of,
                     const std::string& path) {
  BpeModel bpe(find_byte_tokens(id_of, path));
  if (is_absent(model, "merges")) return bpe;
  const json& merges = model["merges"];
  TM_CHECK(merges.is_array(), path, ": model.merges is not an array");
  const auto id_in_vocab = [&](std::string_view token, std::size_t i) {
    const auto it = id_of.find(token);
    TM_CHECK(it != id_of.end(), path, ": model.merges[", i, "]: ", quote_for_message(token), " is not in the vocab");
    return it->second;
  };
  std::string merged_text;
  for (std::size_t i = 0; i < merges.size(); ++i) {
    const json& merge = merges[i];
    std::string_view left, right;
    if (merge.is_string()) {
      const std::string_view s = merge.get_ref<const std::string&>();
      const std::size_t space = s.find(' ');
      TM_CHECK(space != std::string_view::npos && space > 0 && space + 1 < s.size() &&
                   s.find(' ', space + 1) == std::string_view::npos,
               path, ": model.merges[", i, "] ", quote_for_message(s), " is not two tokens separated by one space");
      left = s.substr(0, space);
      right = s.substr(space + 1);
    } else {
      TM_CHECK(merge.is_array() && merge.size() == 2 && merge[0].is_string() && merge[1].is_string(), path,
               ": model.merges[", i, "] is neither \"left right\" nor [\"left\", \"right\"]");
      left = merge[0].get_ref<const std::string&>();
      right = merge[1].get_ref<const std::string&>();
    }
    const std::int32_t left_id = id_in_vocab(left, i);
    const std::int32_t right_id = id_in_vocab(right, i);
    merged_text.assign(left).append(right);
    const std::int32_t merged = id_in_vocab(merged_text, i);
    TM_CHECK(bpe.add_merge(left_id, right_id, merged), path, ": model.merges[", i, "] repeats the pair ",
             quote_for_message(left), " ", quote_for_message(right), " of an earlier merge");
  }
  return bpe;
}

struct AddedToken {
  std::int32_t id;
  std::string content;
  bool normalized;
};

// added_tokens: each id either names a vocab token with the same text, or is new; the new ids must continue
// the vocab's 0..n-1 without gaps, so that every id below vocab_size() has a token. Appends the new tokens'
// text to `texts` (the vocab's, by id).
std::vector<AddedToken> read_added_tokens(const json& root, std::vector<std::string>& texts, const std::string& path) {
  const std::vector<std::string>& vocab = texts;
  std::vector<AddedToken> added;
  if (is_absent(root, "added_tokens")) return added;
  const json& list = root["added_tokens"];
  TM_CHECK(list.is_array(), path, ": added_tokens is not an array");
  TM_CHECK(list.size() <= kMaxTokens, path, ": added_tokens has ", list.size(), " entries, more than the limit of ",
           kMaxTokens);
  std::set<std::int32_t> ids;
  std::set<std::string> contents;
  std::size_t new_ids = 0;
  for (std::size_t i = 0; i < list.size(); ++i) {
    const std::string where = cat(path, ": added_tokens[", i, "]");
    const json& entry = list[i];
    TM_CHECK(entry.is_object(), where, " is not an object");
    TM_CHECK(entry.contains("id"), where, " has no id");
    const std::int32_t id = id_or_minus_one(entry["id"]);
    TM_CHECK(id >= 0, where, ".id is not an id in 0..", kMaxTokens - 1, ": ", quote_for_message(entry["id"].dump()));
    TM_CHECK(entry.contains("content") && entry["content"].is_string() &&
                 !entry["content"].get_ref<const std::string&>().empty(),
             where, " has no content (a non-empty string)");
    const std::string& content = entry["content"].get_ref<const std::string&>();
    const bool special = read_bool(entry, "special", false, where);
    const bool normalized = read_bool(entry, "normalized", !special, where);  // Hugging Face's default
    for (const char* key : {"lstrip", "rstrip", "single_word"}) {
      TM_CHECK(!read_bool(entry, key, false, where), where, " (", quote_for_message(content), "): ", key,
               " true is not supported");
    }
    TM_CHECK(ids.insert(id).second, where, " (", quote_for_message(content), "): id ", id,
             " is given to an earlier added token too");
    TM_CHECK(contents.insert(content).second, where, ": ", quote_for_message(content), " is added twice");
    if (static_cast<std::size_t>(id) < vocab.size()) {
      TM_CHECK(vocab[id] == content, where, " (", quote_for_message(content), ") has id ", id,
               ", which the vocab gives to ", quote_for_message(vocab[id]));
    } else {
      ++new_ids;
    }
    added.push_back({id, content, normalized});
  }
  const std::size_t total = vocab.size() + new_ids;
  for (std::size_t i = 0; i < added.size(); ++i) {
    TM_CHECK(static_cast<std::size_t>(added[i].id) < total, path, ": added_tokens[", i, "] (",
             quote_for_message(added[i].content), ") has id ", added[i].id, ", leaving a gap: the ", new_ids,
             " new ids must be ", vocab.size(), "..", total - 1);
  }
  const std::size_t vocab_tokens = texts.size();
  texts.resize(total);
  for (const AddedToken& a : added) {
    if (static_cast<std::size_t>(a.id) >= vocab_tokens) texts[a.id] = a.content;
  }
  return added;
}

}  // namespace

Tokenizer Tokenizer::load(const std::string& path) { return from_json(read_text_file(path), path); }

Tokenizer Tokenizer::from_json(std::string_view text, const std::string& path) {
  const json root = parse_json(text, path);
  TM_CHECK(root.is_object(), path, ": not a tokenizer.json (the top level is not a JSON object)");
  Tokenizer t;
  t.nfc_ = read_pipeline(root, path);
  const json& model = read_object(root, "model", path);
  check_bpe_options(model, path);

  std::vector<std::string> texts = read_vocab(model, path);
  const std::size_t vocab_tokens = texts.size();
  {
    std::unordered_map<std::string_view, std::int32_t> id_of;  // views into `texts`, which does not change here
    id_of.reserve(texts.size());
    for (std::size_t id = 0; id < texts.size(); ++id) id_of.emplace(texts[id], static_cast<std::int32_t>(id));
    t.bpe_ = read_merges(model, id_of, path);
  }
  const std::vector<AddedToken> added = read_added_tokens(root, texts, path);

  // Token bytes: a vocab token spelled with byte-level stand-ins stands for those bytes; any other token
  // (an added token, or a vocab token with some other character) for its own UTF-8, as in Hugging Face's
  // ByteLevel decoder.
  t.token_bytes_.resize(texts.size());
  for (std::size_t id = 0; id < vocab_tokens; ++id) {
    t.token_bytes_[id] = byte_level_to_bytes(texts[id]).value_or(texts[id]);
  }
  for (std::size_t i = 0; i < added.size(); ++i) {
    const AddedToken& a = added[i];
    if (static_cast<std::size_t>(a.id) >= vocab_tokens) t.token_bytes_[a.id] = a.content;
    AddedTokenMatcher& matcher = a.normalized ? t.normalized_added_tokens_ : t.raw_added_tokens_;
    TM_CHECK(matcher.add(a.normalized && t.nfc_ ? nfc(a.content) : a.content, a.id), path, ": added_tokens[", i, "] (",
             quote_for_message(a.content), ") is the same text as an earlier added token once normalized");
    if (a.content == "<|endoftext|>") t.eos_id_ = a.id;
  }
  t.token_text_ = std::move(texts);
  return t;
}

}  // namespace tinymamba
