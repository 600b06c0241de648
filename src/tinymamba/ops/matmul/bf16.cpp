// bfloat16 weights: a weight is the high half of a float32, so widening is a shift by 16, in the f32 loop
// (dense_gemv.hpp); many tokens take the panel GEMM (panel_gemm.hpp).
#include <bit>
#include <cstring>

#include "tinymamba/ops/matmul/dense_gemv.hpp"
#include "tinymamba/ops/matmul/panel_gemm.hpp"

namespace tinymamba {
namespace {

struct WidenBF16 {
  Lanes operator()(const std::uint16_t* w) const {
    using U16 = std::uint16_t __attribute__((vector_size(kLanes * sizeof(std::uint16_t))));
    using U32 = std::uint32_t __attribute__((vector_size(kLanes * sizeof(std::uint32_t))));
    U16 h;
    std::memcpy(&h, w, sizeof h);
    const U32 bits = __builtin_convertvector(h, U32) << 16;
    Lanes v;
    std::memcpy(&v, &bits, sizeof v);
    return v;
  }
  float operator()(std::uint16_t h) const { return std::bit_cast<float>(static_cast<std::uint32_t>(h) << 16); }
};

}  // namespace

void bf16_rows_accumulate(Mat y, ConstMat x, const WeightMatrix& W, std::int64_t T, std::int64_t o0, std::int64_t o1) {
  matmul_detail::dense16_rows_accumulate(y, x, W, T, o0, o1, WidenBF16{});
}

void bf16_gemm(Mat y, ConstMat x, const WeightMatrix& W, std::int64_t T, float beta) {
  matmul_detail::panel_gemm(y, x, W, T, beta);
}

}  // namespace tinymamba
