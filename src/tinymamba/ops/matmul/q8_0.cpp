// Q8_0 weights (ggml's 34-byte blocks of 32 int8 codes and an fp16 scale): the decode product is an integer dot
// per block against q8_0 activations (block_gemv.hpp); many tokens take the panel GEMM (panel_gemm.hpp).
#include <cstring>

#include "tinymamba/ops/matmul/block_gemv.hpp"
#include "tinymamba/ops/matmul/panel_gemm.hpp"

namespace tinymamba {
namespace {

struct CodesQ8_0 {  // a type, not a function pointer, so that it is inlined into the block loop
  matmul_detail::Codes operator()(const BlockQ8_0& b) const {
    matmul_detail::Codes c;
    std::memcpy(&c, b.qs, sizeof c);
    return c;
  }
};

}  // namespace

void q8_0_rows_accumulate(Mat y, ConstMat x, const WeightMatrix& W, std::int64_t T, std::int64_t o0, std::int64_t o1) {
  matmul_detail::block_rows_accumulate<BlockQ8_0>(y, x, W, T, o0, o1, CodesQ8_0{});
}

void q8_0_gemm(Mat y, ConstMat x, const WeightMatrix& W, std::int64_t T, float beta) {
  matmul_detail::panel_gemm(y, x, W, T, beta);
}

}  // namespace tinymamba
