// Added tokens (tokenizer.json "added_tokens": "<|endoftext|>", GPT-NeoX's runs of 2..24 spaces) are cut out of
// the text before BPE sees it, the way Hugging Face's AddedVocabulary does with an Aho-Corasick automaton in
// leftmost-longest mode: scanning left to right, the earliest position where some token matches wins, and
// there the longest token; the search goes on after it. So 30 spaces are the 24-space token then the 6-space one.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

namespace tinymamba {

class AddedTokenMatcher {
 public:
  // Adds a token (`content` non-empty). Returns false, changing nothing, if `content` is already a token.
  bool add(std::string_view content, std::int32_t id);

  struct Match {
    std::size_t begin;  // byte offsets into the text
    std::size_t end;
    std::int32_t id;
  };

  // The leftmost-longest match starting at or after `from`, or nullopt.
  [[nodiscard]] std::optional<Match> find(std::string_view text, std::size_t from) const;

  // Walks `text` left to right: on_text(stretch) for each non-empty stretch between matches, on_token(id) for
  // each match.
  template <class OnText, class OnToken>
  void split(std::string_view text, OnText&& on_text, OnToken&& on_token) const {
    std::size_t pos = 0;
    while (pos < text.size()) {
      const std::optional<Match> m = find(text, pos);
      const std::size_t stretch_end = m ? m->begin : text.size();
      if (stretch_end > pos) on_text(text.substr(pos, stretch_end - pos));
      if (!m) break;
      on_token(m->id);
      pos = m->end;
    }
  }

 private:
  // The tokens as a byte trie; node 0 is the root. A node's `id` is that of the token ending there, or -1.
  struct Node {
    std::vector<std::pair<std::uint8_t, std::uint32_t>> children;  // (byte, node index); a handful at most
    std::int32_t id = -1;
  };
  [[nodiscard]] std::optional<std::uint32_t> child(std::uint32_t node, std::uint8_t byte) const;

  std::vector<Node> nodes_{1};
  std::array<bool, 256> starts_token_{};  // whether some token starts with this byte: find() skips the rest
};

}  // namespace tinymamba
