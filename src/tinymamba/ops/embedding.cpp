#include "tinymamba/ops/embedding.hpp"

#include "tinymamba/core/quantize.hpp"

namespace tinymamba {

void embedding_forward(float* out, const std::int32_t* ids, const WeightMatrix& table, std::int64_t T) {
  for (std::int64_t t = 0; t < T; ++t) dequantize_row(table.type, table.row(ids[t]), table.cols, out + t * table.cols);
}

void embedding_backward(float* d_table, const float* d_out, const std::int32_t* ids, std::int64_t T, std::int64_t d) {
  for (std::int64_t t = 0; t < T; ++t) {
    float* row = d_table + static_cast<std::int64_t>(ids[t]) * d;
    const float* g = d_out + t * d;
    for (std::int64_t i = 0; i < d; ++i) row[i] += g[i];
  }
}

}  // namespace tinymamba
