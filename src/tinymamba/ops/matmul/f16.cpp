// IEEE half weights: the decode product widens 16 at a time (F16C, or the portable conversion) into the f32 loop
// (dense_gemv.hpp); many tokens take the panel GEMM (panel_gemm.hpp).
#if defined(__F16C__) && defined(__AVX__)
#include <immintrin.h>
#endif

#include "tinymamba/core/dtype.hpp"
#include "tinymamba/ops/matmul/dense_gemv.hpp"
#include "tinymamba/ops/matmul/panel_gemm.hpp"

namespace tinymamba {
namespace {

struct WidenF16 {
  Lanes operator()(const std::uint16_t* w) const {
#if defined(__F16C__) && defined(__AVX__)
    const __m256 lo = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w)));
    const __m256 hi = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w + 8)));
    return __builtin_shufflevector(lo, hi, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
#else
    Lanes v;
    for (std::int64_t i = 0; i < kLanes; ++i) v[i] = f16_to_f32(w[i]);
    return v;
#endif
  }
  float operator()(std::uint16_t h) const { return f16_to_f32(h); }
};

}  // namespace

void f16_rows_accumulate(Mat y, ConstMat x, const WeightMatrix& W, std::int64_t T, std::int64_t o0, std::int64_t o1) {
  matmul_detail::dense16_rows_accumulate(y, x, W, T, o0, o1, WidenF16{});
}

void f16_gemm(Mat y, ConstMat x, const WeightMatrix& W, std::int64_t T, float beta) {
  matmul_detail::panel_gemm(y, x, W, T, beta);
}

}  // namespace tinymamba
