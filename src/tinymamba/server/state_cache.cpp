#include "tinymamba/server/state_cache.hpp"

#include <algorithm>
#include <optional>

#include "tinymamba/core/error.hpp"

namespace tinymamba::server {

struct StateCache::Node {
  Node* parent = nullptr;
  std::vector<std::int32_t> edge;  // the tokens from the parent to here
  std::int64_t depth = 0;          // tokens from the root to here
  std::map<std::int32_t, std::unique_ptr<Node>> children;  // by their edge's first token
  std::optional<InferenceState> state;
  std::int64_t forward_tokens = 0;
  std::int64_t cost = 0;
  std::list<Node*>::iterator lru;
};

StateCache::StateCache(std::int64_t capacity_bytes) : capacity_(capacity_bytes), root_(std::make_unique<Node>()) {
  TM_CHECK(capacity_bytes >= 0, "state cache capacity must be >= 0 bytes, got ", capacity_bytes);
}

StateCache::~StateCache() = default;

std::int64_t StateCache::cost(const InferenceState& state, std::int64_t tokens) {
  std::int64_t floats = 0;
  for (const auto& b : state.conv) floats += static_cast<std::int64_t>(b.size());
  for (const auto& b : state.ssm) floats += static_cast<std::int64_t>(b.size());
  return 4 * floats + 4 * tokens + 256;  // the states, the key, and the node's bookkeeping
}

void StateCache::insert(std::span<const std::int32_t> tokens, InferenceState state, std::int64_t forward_tokens) {
  TM_CHECK(!tokens.empty() && state.batch == 1 && state.tokens_seen == std::ssize(tokens),
           "state cache: a snapshot of ", state.tokens_seen, " tokens (batch ", state.batch, ") under a key of ",
           tokens.size(), " tokens");
  const std::int64_t c = cost(state, std::ssize(tokens));
  if (c > capacity_) return;
  Node* node = root_.get();
  std::size_t i = 0;
  while (i < tokens.size()) {
    auto it = node->children.find(tokens[i]);
    if (it == node->children.end()) {  // a new leaf holds the rest
      auto leaf = std::make_unique<Node>();
      leaf->parent = node;
      leaf->edge.assign(tokens.begin() + static_cast<std::ptrdiff_t>(i), tokens.end());
      leaf->depth = std::ssize(tokens);
      node = node->children.emplace(tokens[i], std::move(leaf)).first->second.get();
      i = tokens.size();
      break;
    }
    Node* child = it->second.get();
    std::size_t k = 0;  // how far the key follows the child's edge
    while (k < child->edge.size() && i + k < tokens.size() && child->edge[k] == tokens[i + k]) ++k;
    if (k < child->edge.size()) {  // split the edge at k: a middle node takes its first k tokens
      auto mid = std::make_unique<Node>();
      mid->parent = node;
      mid->edge.assign(child->edge.begin(), child->edge.begin() + static_cast<std::ptrdiff_t>(k));
      mid->depth = node->depth + static_cast<std::int64_t>(k);
      std::unique_ptr<Node> moved = std::move(it->second);
      moved->edge.erase(moved->edge.begin(), moved->edge.begin() + static_cast<std::ptrdiff_t>(k));
      moved->parent = mid.get();
      const std::int32_t first = moved->edge.front();
      mid->children.emplace(first, std::move(moved));
      it->second = std::move(mid);
      child = it->second.get();
    }
    node = child;
    i += k;
  }
  if (node->state) {
    bytes_ -= node->cost;
    lru_.erase(node->lru);
  }
  node->state = std::move(state);
  node->forward_tokens = forward_tokens;
  node->cost = c;
  bytes_ += c;
  lru_.push_front(node);
  node->lru = lru_.begin();
  while (bytes_ > capacity_) evict(lru_.back());
}

StateCache::Hit StateCache::find(std::span<const std::int32_t> tokens,
                                 const std::function<bool(std::int64_t, std::int64_t)>& accept) {
  Hit hit;
  Node* best = nullptr;
  Node* node = root_.get();
  std::size_t i = 0;
  while (i < tokens.size()) {
    auto it = node->children.find(tokens[i]);
    if (it == node->children.end()) break;
    Node* child = it->second.get();
    if (i + child->edge.size() > tokens.size() ||
        !std::equal(child->edge.begin(), child->edge.end(), tokens.begin() + static_cast<std::ptrdiff_t>(i)))
      break;
    node = child;
    i += child->edge.size();
    if (node->state && accept(node->depth, node->forward_tokens)) best = node;
  }
  if (best) {
    lru_.splice(lru_.begin(), lru_, best->lru);
    hit = {best->depth, &*best->state};
  }
  return hit;
}

// Drops the node's snapshot; then removes nodes left with neither a snapshot nor children, and merges a node
// left with one child and no snapshot into that child, so that the tree stays a radix tree.
void StateCache::evict(Node* node) {
  bytes_ -= node->cost;
  lru_.erase(node->lru);
  node->state.reset();
  node->cost = 0;
  while (node != root_.get() && !node->state && node->children.size() <= 1) {
    Node* parent = node->parent;
    const std::int32_t key = node->edge.front();
    auto& slot = parent->children.at(key);
    if (node->children.empty()) {
      parent->children.erase(key);  // destroys node
    } else {
      std::unique_ptr<Node> only = std::move(node->children.begin()->second);
      only->edge.insert(only->edge.begin(), node->edge.begin(), node->edge.end());
      only->parent = parent;
      slot = std::move(only);  // destroys node
    }
    node = parent;
  }
}

}  // namespace tinymamba::server
