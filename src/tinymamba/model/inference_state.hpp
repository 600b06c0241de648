// The recurrent state of a batch of sequences (paper §3.4: Mamba's "cache" is fixed-size, whatever the length).
// Per layer: conv_state (b, conv_size) — the last K pre-conv inputs, oldest first, as the official `step`
// keeps them — and ssm_state (b, ssm_size) — h after the last token; each mixer kind says what those sizes
// hold (Mamba-1: (d_in, K) and (d_in, n)). float32. Reset zeroes both;
// copying the struct copies the state (a snapshot to roll back to).
#pragma once

#include <cstdint>
#include <vector>

#include "tinymamba/core/buffer.hpp"
#include "tinymamba/core/raw_tensor.hpp"
#include "tinymamba/model/config.hpp"

namespace tinymamba {

struct InferenceState {
  std::int64_t batch = 0;
  std::vector<Buffer<float>> conv;  // per layer: (b, conv_size)
  std::vector<Buffer<float>> ssm;   // per layer: (b, ssm_size)
  std::int64_t tokens_seen = 0;     // how many tokens the state has absorbed

  InferenceState() = default;
  InferenceState(const Config& c, std::int64_t batch);
  void reset();

  // Floats of one sequence's state in one layer, for the config's mixer kind.
  [[nodiscard]] static std::int64_t conv_size(const Config& c);
  [[nodiscard]] static std::int64_t ssm_size(const Config& c);
  // The same as shapes, as the official code keeps them: conv (channels, K); ssm (d_in, n) for Mamba-1,
  // (nheads, headdim, n) for Mamba-2.
  [[nodiscard]] static Shape conv_shape(const Config& c);
  [[nodiscard]] static Shape ssm_shape(const Config& c);
};

}  // namespace tinymamba
