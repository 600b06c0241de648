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
  static constexpr std::int32_t kCodeOffset = 128;
#ifdef TINYMAMBA_BLOCK_DOT_AVX512
  // blocks p[0], p[1]'s codes + 128 (the sign bit flipped), 64 bytes. (GCC 12's unmasked 256-to-512-bit casts
  // and inserts start from an "undefined" register that -Wmaybe-uninitialized reports: the masked forms here.)
  __m512i unsigned_pair(const BlockQ8_0* p) const {
    const __m256i lo = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p[0].qs));
    const __m256i hi = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p[1].qs));
    const __m512i both =
        _mm512_maskz_inserti64x4(0xFF, _mm512_maskz_inserti64x4(0xFF, _mm512_setzero_si512(), lo, 0), hi, 1);
    return _mm512_xor_si512(both, _mm512_set1_epi8(-128));
  }
#endif
};

}  // namespace

void q8_0_rows_accumulate(Mat y, ConstMat x, const WeightMatrix& W, std::int64_t T, std::int64_t o0, std::int64_t o1) {
  matmul_detail::block_rows_accumulate<BlockQ8_0>(y, x, W, T, o0, o1, CodesQ8_0{});
}

void q8_0_gemm(Mat y, ConstMat x, const WeightMatrix& W, std::int64_t T, float beta) {
  matmul_detail::panel_gemm(y, x, W, T, beta);
}

}  // namespace tinymamba
