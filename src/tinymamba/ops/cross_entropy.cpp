#include "tinymamba/ops/cross_entropy.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "tinymamba/core/error.hpp"
#include "tinymamba/core/parallel.hpp"
#include "tinymamba/core/vmath.hpp"

namespace tinymamba {
namespace {

std::int64_t count_targets(const std::int32_t* targets, std::int64_t T, std::int64_t V) {
  std::int64_t m = 0;
  for (std::int64_t t = 0; t < T; ++t) {
    TM_CHECK(targets[t] < V, "target id ", targets[t], " is outside the vocabulary of ", V);
    m += targets[t] >= 0;
  }
  return m;
}

// Softmax statistics of one row: its max and Σ exp(row − max) (terms in float, the sum in double).
struct RowSoftmax {
  float max;
  double sum;
};
RowSoftmax row_softmax(const float* row, std::int64_t V) {
  const float mx = *std::max_element(row, row + V);
  double s = 0;
#pragma omp simd reduction(+ : s)
  for (std::int64_t v = 0; v < V; ++v) s += vmath::exp(row[v] - mx);
  return {mx, s};
}

}  // namespace

double cross_entropy_forward(const float* logits, const std::int32_t* targets, std::int64_t T, std::int64_t V) {
  const std::int64_t m = count_targets(targets, T, V);
  if (m == 0) return 0.0;
  std::vector<double> row_loss(static_cast<std::size_t>(T), 0.0);
  parallel_for(T, [&](std::int64_t t0, std::int64_t t1, int) {
    for (std::int64_t t = t0; t < t1; ++t)
      if (targets[t] >= 0) {
        const RowSoftmax sm = row_softmax(logits + t * V, V);
        row_loss[t] = sm.max + std::log(sm.sum) - logits[t * V + targets[t]];
      }
  }, grain_for(V));
  double total = 0;
  for (double l : row_loss) total += l;
  return total / static_cast<double>(m);
}

void cross_entropy_backward(float* dlogits, const float* logits, const std::int32_t* targets, std::int64_t T,
                            std::int64_t V, float scale) {
  const std::int64_t m = count_targets(targets, T, V);
  const double w = m > 0 ? scale / static_cast<double>(m) : 0.0;
  parallel_for(T, [&](std::int64_t t0, std::int64_t t1, int) {
    for (std::int64_t t = t0; t < t1; ++t) {
      float* d = dlogits + t * V;
      if (targets[t] < 0) {
        std::fill(d, d + V, 0.0f);
        continue;
      }
      const float* row = logits + t * V;
      const RowSoftmax sm = row_softmax(row, V);
      const float target_logit = row[targets[t]];  // read before an in-place write overwrites it
      const float scale_row = static_cast<float>(w / sm.sum);
      for (std::int64_t v = 0; v < V; ++v) d[v] = scale_row * vmath::exp(row[v] - sm.max);
      d[targets[t]] = static_cast<float>(w * (std::exp(static_cast<double>(target_logit) - sm.max) / sm.sum - 1.0));
    }
  });
}

}  // namespace tinymamba
