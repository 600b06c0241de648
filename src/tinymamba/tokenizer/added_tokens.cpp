#include "tinymamba/tokenizer/added_tokens.hpp"

namespace tinymamba {

std::optional<std::uint32_t> AddedTokenMatcher::child(std::uint32_t node, std::uint8_t byte) const {
  for (const auto& [b, next] : nodes_[node].children) {
    if (b == byte) return next;
  }
  return std::nullopt;
}

bool AddedTokenMatcher::add(std::string_view content, std::int32_t id) {
  std::uint32_t node = 0;
  for (const char c : content) {
    const auto byte = static_cast<std::uint8_t>(c);
    if (const auto next = child(node, byte)) {
      node = *next;
    } else {
      nodes_[node].children.emplace_back(byte, static_cast<std::uint32_t>(nodes_.size()));
      node = static_cast<std::uint32_t>(nodes_.size());
      nodes_.emplace_back();
    }
  }
  if (nodes_[node].id >= 0) return false;
  nodes_[node].id = id;
  starts_token_[static_cast<std::uint8_t>(content.front())] = true;
  return true;
}

std::optional<AddedTokenMatcher::Match> AddedTokenMatcher::find(std::string_view text, std::size_t from) const {
  for (std::size_t begin = from; begin < text.size(); ++begin) {
    if (!starts_token_[static_cast<std::uint8_t>(text[begin])]) continue;
    // Follow the trie as far as the text allows; the last token passed on the way is the longest one here.
    std::optional<Match> longest;
    std::uint32_t node = 0;
    for (std::size_t end = begin; end < text.size();) {
      const auto next = child(node, static_cast<std::uint8_t>(text[end]));
      if (!next) break;
      node = *next;
      ++end;
      if (nodes_[node].id >= 0) longest = Match{begin, end, nodes_[node].id};
    }
    if (longest) return longest;
  }
  return std::nullopt;
}

}  // namespace tinymamba
