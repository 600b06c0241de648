// A pool of recurrent-state slots, one per sequence in flight. Mamba's whole "cache" for a sequence is one
// fixed-size state (paper §3.4: conv_state (d_in, K) and ssm_state (d_in, n) per layer, whatever the length),
// so continuous batching needs no paging: a slot per sequence, and lm_step over any subset of slots. A slot
// copies to another slot (fork) or out to a standalone one-sequence InferenceState and back in (a snapshot to
// resume from, e.g. a cache keyed by the tokens it has absorbed).
#pragma once

#include <cstdint>
#include <vector>

#include "tinymamba/model/config.hpp"
#include "tinymamba/model/inference_state.hpp"

namespace tinymamba {

class StatePool {
 public:
  // Throws Error unless capacity >= 1.
  StatePool(const Config& c, std::int64_t capacity);

  [[nodiscard]] std::int64_t capacity() const { return states_.batch; }
  [[nodiscard]] std::int64_t in_use() const { return in_use_; }

  // The lowest free slot (so a run replays), zeroed: no tokens absorbed; Error when all are in use. release
  // gives it back.
  [[nodiscard]] std::int64_t acquire();
  void release(std::int64_t slot);

  // Slot `to` becomes a copy of slot `from` (both in use): a fork continues exactly where the original is.
  void copy(std::int64_t from, std::int64_t to);
  // One slot as a one-sequence state (tokens_seen: the slot's count), and back: copy_out into `one` (batch 1,
  // this pool's shape), copy_in from it. snapshot is copy_out into a new state.
  void copy_out(std::int64_t slot, InferenceState& one) const;
  void copy_in(std::int64_t slot, const InferenceState& one);
  [[nodiscard]] InferenceState snapshot(std::int64_t slot) const;

  // How many tokens a slot's state has absorbed; whoever advances the state (the Engine) adds them.
  [[nodiscard]] std::int64_t tokens_seen(std::int64_t slot) const;
  void add_tokens(std::int64_t slot, std::int64_t n);

  // Every slot as one InferenceState of batch capacity(), for lm_step(..., slots).
  [[nodiscard]] InferenceState& states() { return states_; }

 private:
  void check_in_use(std::int64_t slot, const char* what) const;

  Config config_;
  InferenceState states_;            // batch = capacity
  std::vector<std::int64_t> tokens_;  // (capacity) tokens absorbed per slot
  std::vector<bool> used_;            // (capacity)
  std::int64_t in_use_ = 0;
};

}  // namespace tinymamba
