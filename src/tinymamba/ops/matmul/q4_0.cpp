// Q4_0 weights (ggml's 18-byte blocks: an fp16 scale and 32 four-bit codes, element j in the low nibble of byte
// j and element j + 16 in its high nibble, value d·(code − 8)): the decode product unpacks a block to signed
// bytes for the integer dot against q8_0 activations (block_gemv.hpp); many tokens take the panel GEMM
// (panel_gemm.hpp).
#include <cstring>

#include "tinymamba/ops/matmul/block_gemv.hpp"
#include "tinymamba/ops/matmul/panel_gemm.hpp"

namespace tinymamba {
namespace {

struct CodesQ4_0 {  // a type, not a function pointer, so that it is inlined into the block loop
  matmul_detail::Codes operator()(const BlockQ4_0& b) const {
    using Bytes = std::uint8_t __attribute__((vector_size(kQuantBlock / 2)));
    Bytes packed;
    std::memcpy(&packed, b.qs, sizeof packed);
    const Bytes lo = packed & 0x0F, hi = packed >> 4;  // elements 0..15, 16..31
    const auto both = __builtin_shufflevector(lo, hi, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18,
                                              19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31);
    return reinterpret_cast<matmul_detail::Codes>(both) - 8;
  }
  static constexpr std::int32_t kCodeOffset = 8;
#ifdef TINYMAMBA_BLOCK_DOT_AVX512
  // blocks p[0], p[1]'s codes + 8 (the nibbles as stored), 64 bytes: low nibbles of p[0], its high nibbles,
  // then p[1]'s (the masked forms of GCC 12's intrinsics, as in CodesQ8_0)
  __m512i unsigned_pair(const BlockQ4_0* p) const {
    const __m256i packed =
        _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p[0].qs))),
                                _mm_loadu_si128(reinterpret_cast<const __m128i*>(p[1].qs)), 1);  // [p0 | p1]
    const __m512i both =
        _mm512_maskz_inserti64x4(0xFF, _mm512_maskz_inserti64x4(0xFF, _mm512_setzero_si512(), packed, 0),
                                 _mm256_srli_epi16(packed, 4), 1);  // [p0 | p1 | p0 >> 4 | p1 >> 4]
    const __m512i order = _mm512_set_epi64(7, 6, 3, 2, 5, 4, 1, 0);
    return _mm512_and_si512(_mm512_maskz_permutexvar_epi64(0xFF, order, both), _mm512_set1_epi8(0x0F));
  }
#endif
};

}  // namespace

void q4_0_rows_accumulate(Mat y, ConstMat x, const WeightMatrix& W, std::int64_t T, std::int64_t o0, std::int64_t o1) {
  matmul_detail::block_rows_accumulate<BlockQ4_0>(y, x, W, T, o0, o1, CodesQ4_0{});
}

void q4_0_gemm(Mat y, ConstMat x, const WeightMatrix& W, std::int64_t T, float beta) {
  matmul_detail::panel_gemm(y, x, W, T, beta);
}

}  // namespace tinymamba
