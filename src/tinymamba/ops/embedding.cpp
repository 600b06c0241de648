#include "tinymamba/ops/embedding.hpp"

#include <cstring>

namespace tinymamba {

void embedding_forward(float* out, const std::int32_t* ids, const float* table, std::int64_t T, std::int64_t d) {
  for (std::int64_t t = 0; t < T; ++t) std::memcpy(out + t * d, table + static_cast<std::int64_t>(ids[t]) * d, d * sizeof(float));
}

void embedding_backward(float* d_table, const float* d_out, const std::int32_t* ids, std::int64_t T, std::int64_t d) {
  for (std::int64_t t = 0; t < T; ++t) {
    float* row = d_table + static_cast<std::int64_t>(ids[t]) * d;
    const float* g = d_out + t * d;
    for (std::int64_t i = 0; i < d; ++i) row[i] += g[i];
  }
}

}  // namespace tinymamba
