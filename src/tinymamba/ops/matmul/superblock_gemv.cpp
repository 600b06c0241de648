#include "tinymamba/ops/matmul/superblock_gemv.hpp"

#include "tinymamba/core/lanes.hpp"
#include "tinymamba/core/quantize.hpp"

namespace tinymamba::matmul_detail {

void superblock_rows_accumulate(Mat y, ConstMat x, const WeightMatrix& W, std::int64_t T, std::int64_t o0,
                                std::int64_t o1) {
  const std::int64_t nb = W.cols / kSuperBlock, block_bytes = weight_type_block_bytes(W.type);
  alignas(64) float w[kSuperBlock];
  for (std::int64_t o = o0; o < o1; ++o) {
    const std::byte* row = W.row(o);
    Lanes acc[8] = {};  // per token (T ≤ 8 on this path; more are summed in passes of 8)
    for (std::int64_t t0 = 0; t0 < T; t0 += 8) {
      const std::int64_t tn = T - t0 < 8 ? T - t0 : 8;
      for (std::int64_t t = 0; t < tn; ++t) acc[t] = Lanes{};
      for (std::int64_t b = 0; b < nb; ++b) {
        dequantize_row(W.type, row + b * block_bytes, kSuperBlock, w);
        for (std::int64_t t = 0; t < tn; ++t) {
          const float* xb = x.data + (t0 + t) * x.ld + b * kSuperBlock;
          for (std::int64_t i = 0; i < kSuperBlock; i += kLanes) acc[t] += load_lanes(w + i) * load_lanes(xb + i);
        }
      }
      for (std::int64_t t = 0; t < tn; ++t) y.data[(t0 + t) * y.ld + o] += sum_lanes(acc[t]);
    }
  }
}

}  // namespace tinymamba::matmul_detail
