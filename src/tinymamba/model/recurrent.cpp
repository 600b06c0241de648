#include "tinymamba/model/recurrent.hpp"

#include <algorithm>

#include "tinymamba/core/error.hpp"

namespace tinymamba {

void lm_step(const Model& m, std::span<const std::int32_t> ids, InferenceState& state, Activations& acts,
             ScanAlgorithm scan) {
  lm_forward(m, ids, static_cast<std::int64_t>(ids.size()), 1, acts, {.scan = scan, .last_logits_only = true}, &state);
}

Buffer<float> lm_forward_recurrent(const Model& m, std::span<const std::int32_t> ids, std::int64_t batch,
                                   std::int64_t len, std::int64_t prefill, InferenceState& state, ScanAlgorithm scan) {
  const std::int64_t V = m.config.padded_vocab();
  TM_CHECK(prefill >= 0 && prefill <= len, "--prefill ", prefill, " must be in [0, ", len, "] (the sequence length)");
  TM_CHECK(static_cast<std::int64_t>(ids.size()) == batch * len, "input ids: expected ", batch * len, " ids");
  Buffer<float> logits(static_cast<std::size_t>(batch * len * V));
  Activations acts;
  if (prefill > 0) {
    std::vector<std::int32_t> head(static_cast<std::size_t>(batch * prefill));
    for (std::int64_t b = 0; b < batch; ++b)
      std::copy_n(ids.begin() + b * len, prefill, head.begin() + b * prefill);
    lm_forward(m, head, batch, prefill, acts, {.scan = scan}, &state);
    for (std::int64_t b = 0; b < batch; ++b)
      std::copy_n(acts.logits.begin() + b * prefill * V, prefill * V, logits.begin() + b * len * V);
  }
  std::vector<std::int32_t> column(static_cast<std::size_t>(batch));
  for (std::int64_t t = prefill; t < len; ++t) {
    for (std::int64_t b = 0; b < batch; ++b) column[b] = ids[b * len + t];
    lm_step(m, column, state, acts, scan);
    for (std::int64_t b = 0; b < batch; ++b)
      std::copy_n(acts.logits.begin() + b * V, V, logits.begin() + (b * len + t) * V);
  }
  return logits;
}

}  // namespace tinymamba
