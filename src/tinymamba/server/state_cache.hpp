// The recurrent-state cache: snapshots of one sequence's state, keyed by the tokens it absorbed, in a radix
// tree (each edge a run of tokens), so that a new prompt finds the longest cached prefix of itself — at any
// token, not at block boundaries — in time linear in its length. A Mamba state has a fixed size whatever the
// prefix length (paper §3.4), so a snapshot costs the same for 10 tokens or 10,000. Least recently used
// snapshots go first when the total passes the byte budget.
//
// Exactness is the caller's: a resumed state continues exactly as a cold run only if the cold run would have
// computed the same numbers up to that token. Each snapshot therefore carries how its first tokens were
// absorbed (`forward_tokens`: that many by the parallel forward, the rest by steps), and find() takes only the
// snapshots its caller accepts (the scheduler's rule: scheduler.hpp).
#pragma once

#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <span>
#include <vector>

#include "tinymamba/model/inference_state.hpp"

namespace tinymamba::server {

class StateCache {
 public:
  // capacity_bytes: the budget for snapshots and their keys; 0 turns the cache off.
  explicit StateCache(std::int64_t capacity_bytes);
  ~StateCache();
  StateCache(const StateCache&) = delete;
  StateCache& operator=(const StateCache&) = delete;

  // Stores `state` (one sequence, state.tokens_seen == tokens.size() >= 1) under `tokens`, replacing any
  // snapshot there; then evicts least recently used snapshots while over budget (the new one too, if it alone
  // does not fit). forward_tokens: a tag find()'s filter sees (how the state was computed).
  void insert(std::span<const std::int32_t> tokens, InferenceState state, std::int64_t forward_tokens = 0);

  // The snapshot of the longest cached prefix of `tokens` that `accept(length, forward_tokens)` takes, or
  // null; marks it used.
  struct Hit {
    std::int64_t length = 0;
    const InferenceState* state = nullptr;  // valid until the next insert
  };
  [[nodiscard]] Hit find(std::span<const std::int32_t> tokens,
                         const std::function<bool(std::int64_t length, std::int64_t forward_tokens)>& accept);

  [[nodiscard]] std::int64_t bytes() const { return bytes_; }
  [[nodiscard]] std::int64_t entries() const { return static_cast<std::int64_t>(lru_.size()); }
  [[nodiscard]] std::int64_t capacity() const { return capacity_; }

  // The bytes one snapshot under a key of `tokens` tokens is charged.
  [[nodiscard]] static std::int64_t cost(const InferenceState& state, std::int64_t tokens);

 private:
  struct Node;
  void evict(Node* node);

  std::int64_t capacity_;
  std::int64_t bytes_ = 0;
  std::unique_ptr<Node> root_;
  std::list<Node*> lru_;  // nodes holding a snapshot, most recently used first
};

}  // namespace tinymamba::server
