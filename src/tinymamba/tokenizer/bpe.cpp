#include "tinymamba/tokenizer/bpe.hpp"

#include <algorithm>

namespace tinymamba {

bool BpeModel::add_merge(std::int32_t left, std::int32_t right, std::int32_t merged) {
  const auto rank = static_cast<std::int32_t>(merges_.size());
  return merges_.try_emplace(pair_key(left, right), MergeResult{rank, merged}).second;
}

void BpeModel::encode_word(std::string_view word, std::vector<std::int32_t>& out, Scratch& scratch) const {
  const auto n = static_cast<std::int64_t>(word.size());
  if (n == 1) {
    out.push_back(byte_tokens_[static_cast<std::uint8_t>(word[0])]);
    return;
  }
  using Symbol = Scratch::Symbol;
  using Candidate = Scratch::Candidate;
  std::vector<Symbol>& symbols = scratch.symbols;
  symbols.resize(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) {
    symbols[i] = {byte_tokens_[static_cast<std::uint8_t>(word[i])], true, i - 1, i + 1 < n ? i + 1 : -1};
  }

  // A candidate goes stale once either of its symbols has merged with another neighbour; it is skipped when
  // popped. (Hugging Face checks staleness by the merged id instead; the two agree, since a pair at a position
  // can only spell the same merged token if it is the same pair.)
  std::vector<Candidate>& queue = scratch.queue;
  queue.clear();
  const auto comes_after = [](const Candidate& a, const Candidate& b) {
    return a.rank != b.rank ? a.rank > b.rank : a.pos > b.pos;
  };
  const auto push_pair_at = [&](std::int64_t pos) {
    const std::int64_t next = symbols[pos].next;
    if (next < 0) return;
    const auto it = merges_.find(pair_key(symbols[pos].id, symbols[next].id));
    if (it == merges_.end()) return;
    queue.push_back({it->second.rank, pos, symbols[pos].id, symbols[next].id, it->second.merged});
    std::push_heap(queue.begin(), queue.end(), comes_after);
  };
  for (std::int64_t i = 0; i + 1 < n; ++i) push_pair_at(i);

  while (!queue.empty()) {
    std::pop_heap(queue.begin(), queue.end(), comes_after);
    const Candidate c = queue.back();
    queue.pop_back();
    Symbol& left = symbols[c.pos];
    if (!left.alive || left.next < 0 || left.id != c.left || symbols[left.next].id != c.right) continue;
    Symbol& right = symbols[left.next];
    left.id = c.merged;
    right.alive = false;
    left.next = right.next;
    if (right.next >= 0) symbols[right.next].prev = c.pos;
    if (left.prev >= 0) push_pair_at(left.prev);
    push_pair_at(c.pos);
  }
  for (std::int64_t i = 0; i >= 0; i = symbols[i].next) out.push_back(symbols[i].id);
}

void BpeWordCache::encode(const BpeModel& model, std::string_view word, std::vector<std::int32_t>& out) {
  if (const auto it = words_.find(word); it != words_.end()) {
    const auto begin = ids_.begin() + it->second.begin;
    out.insert(out.end(), begin, begin + it->second.size);
    return;
  }
  const std::size_t first = out.size();
  model.encode_word(word, out, scratch_);
  if (word.size() <= kMaxWordBytes && words_.size() < kMaxWords) {
    const Span span{static_cast<std::uint32_t>(ids_.size()), static_cast<std::uint32_t>(out.size() - first)};
    ids_.insert(ids_.end(), out.begin() + static_cast<std::ptrdiff_t>(first), out.end());
    words_.emplace(word, span);
  }
}

}  // namespace tinymamba
