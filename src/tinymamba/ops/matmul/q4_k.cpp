// Q4_K weights (ggml's K-quant super-blocks of 256, read from GGUF files; layout: core/quantize.hpp): the decode
// product widens one super-block at a time (superblock_gemv.hpp); many tokens take the panel GEMM
// (panel_gemm.hpp).
#include "tinymamba/ops/matmul/panel_gemm.hpp"
#include "tinymamba/ops/matmul/superblock_gemv.hpp"

namespace tinymamba {

void q4_k_rows_accumulate(Mat y, ConstMat x, const WeightMatrix& W, std::int64_t T, std::int64_t o0, std::int64_t o1) {
  matmul_detail::superblock_rows_accumulate(y, x, W, T, o0, o1);
}

void q4_k_gemm(Mat y, ConstMat x, const WeightMatrix& W, std::int64_t T, float beta) {
  matmul_detail::panel_gemm(y, x, W, T, beta);
}

}  // namespace tinymamba
