// Mean cross-entropy of next-token prediction, softmax over the whole (padded) vocabulary as the official loss:
//   loss = (1/M) Σ_{t: target_t ≥ 0} [ logsumexp(logits_t) − logits_t[target_t] ],  M = #targets ≥ 0.
// logits (T, V); targets (T) with −1 marking positions without a target (the last token of each sequence).
#pragma once

#include <cstdint>

namespace tinymamba {

// Returns the mean loss (double; the sum over T·V terms runs in double).  Throws Error if a target is ≥ V.
[[nodiscard]] double cross_entropy_forward(const float* logits, const std::int32_t* targets, std::int64_t T,
                                           std::int64_t V);

// dlogits (T, V) = scale · (softmax(logits) − onehot(target)) / M, zero rows where target < 0 (written, =).
// dlogits may alias logits (computed row by row in place).
void cross_entropy_backward(float* dlogits, const float* logits, const std::int32_t* targets, std::int64_t T,
                            std::int64_t V, float scale = 1.0f);

}  // namespace tinymamba
