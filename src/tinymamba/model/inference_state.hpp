// The recurrent state of a batch of sequences (paper §3.4: Mamba's "cache" is fixed-size, whatever the length).
// Per layer: conv_state (b, d_in, K) — the last K pre-conv inputs x, oldest first, as the official
// `Mamba.step` keeps them — and ssm_state (b, d_in, n) — h after the last token. float32. Reset zeroes both;
// copying the struct copies the state (a snapshot to roll back to).
#pragma once

#include <cstdint>
#include <vector>

#include "tinymamba/core/buffer.hpp"
#include "tinymamba/model/config.hpp"

namespace tinymamba {

struct InferenceState {
  std::int64_t batch = 0;
  std::vector<Buffer<float>> conv;  // per layer: (b, d_in, K)
  std::vector<Buffer<float>> ssm;   // per layer: (b, d_in, n)
  std::int64_t tokens_seen = 0;     // how many tokens the state has absorbed

  InferenceState() = default;
  InferenceState(const Config& c, std::int64_t batch);
  void reset();
};

}  // namespace tinymamba
