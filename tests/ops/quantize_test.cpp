// The weight types' storage (core/quantize.hpp, core/weight_matrix.hpp) against ggml's rules as the spec states
// them (../shared/reference/quant-formats.md §2–4): hand-made blocks whose expected bytes follow from the rules
// by hand (rounding half away from zero, Q4_0's signed maximum and truncation, the nibble order), round-trip
// error bounds that follow from each format, and clear errors for rows that are not whole blocks.
#include "tinymamba/core/quantize.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "tinymamba/core/dtype.hpp"
#include "tinymamba/core/rng.hpp"

namespace tinymamba {
namespace {

constexpr std::uint16_t kHalfOne = 0x3c00, kHalfTwo = 0x4000, kHalfHalf = 0x3800, kHalfMinusOne = 0xbc00;

TEST(Quantize, TypeTraitsAndNames) {
  EXPECT_EQ(weight_row_bytes(WeightType::f32, 7, "w"), 28);
  EXPECT_EQ(weight_row_bytes(WeightType::f16, 7, "w"), 14);
  EXPECT_EQ(weight_row_bytes(WeightType::bf16, 7, "w"), 14);
  EXPECT_EQ(weight_row_bytes(WeightType::q8_0, 64, "w"), 68);
  EXPECT_EQ(weight_row_bytes(WeightType::q4_0, 64, "w"), 36);
  EXPECT_EQ(weight_row_bytes(WeightType::q4_k, 512, "w"), 288);
  EXPECT_EQ(weight_row_bytes(WeightType::q6_k, 512, "w"), 420);
  for (const WeightType t : kWeightTypes) EXPECT_EQ(weight_type_from_name(weight_type_name(t), "--dtype"), t);
  try {
    (void)weight_type_from_name("q5_0", "--dtype");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("--dtype: unknown weight type 'q5_0'"), std::string::npos) << e.what();
  }
}

// ggml needs rows of whole 32-element blocks; anything else is an error that names the type and the length.
TEST(Quantize, RowsThatAreNotWholeBlocksAreAnError) {
  std::vector<float> x(48, 1.0f);
  std::vector<std::byte> out(256);
  for (const WeightType t : {WeightType::q8_0, WeightType::q4_0}) {
    const std::string name(weight_type_name(t));
    try {
      quantize_row(t, x.data(), 48, out.data());
      FAIL() << "no error for " << name;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(name + " needs a row length that is a multiple of 32, got 48"),
                std::string::npos) << e.what();
    }
    EXPECT_THROW((void)quantize_matrix(t, x.data(), 1, 48, "in_proj"), Error);
    EXPECT_THROW((void)WeightMatrix::dense(t, out.data(), 1, 48), Error);
  }
  for (const WeightType t : {WeightType::q4_k, WeightType::q6_k}) {
    try {
      (void)WeightMatrix::dense(t, out.data(), 1, 288);
      FAIL() << "no error";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("multiple of 256, got 288"), std::string::npos) << e.what();
    }
    // the K-quants are read, not made: an error, not a crash inside the parallel loop
    std::vector<float> z(256, 1.0f);
    EXPECT_THROW(quantize_row(t, z.data(), 256, out.data()), Error);
    EXPECT_THROW((void)quantize_matrix(t, z.data(), 4, 256, "w"), Error);
  }
  // a non-finite weight would spoil its block's scale: an error naming the matrix and the element
  std::vector<float> bad(64, 0.5f);
  bad[40] = std::numeric_limits<float>::infinity();
  try {
    (void)quantize_matrix(WeightType::q4_0, bad.data(), 2, 32, "out_proj");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("out_proj: element (1, 8) is inf"), std::string::npos) << e.what();
  }
  bad[40] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_THROW((void)quantize_matrix(WeightType::q8_0, bad.data(), 2, 32, "w"), Error);
  EXPECT_EQ(quantize_matrix(WeightType::f16, bad.data(), 2, 32, "w").size(), 128u);  // f16 keeps NaN as NaN
  // the float types take any length
  EXPECT_EQ(quantize_matrix(WeightType::f16, x.data(), 2, 24, "w").size(), 96u);
}

// Q8_0: with amax = 127 the scale is exactly 1, so each code is round(x) with ties away from zero: 2.5 → 3,
// −2.5 → −3, 0.5 → 1 (round-half-even would give 2, −2, 0).
TEST(Quantize, Q8_0RoundsHalfAwayFromZero) {
  float x[64] = {127.0f, 2.5f, -2.5f, 0.5f, -0.5f, 1.4999f, -127.0f, 126.5f};
  // second block: amax = 254, d = 2, codes = round(x / 2): 5 → 2.5 → 3, −3 → −1.5 → −2, 1 → 0.5 → 1
  x[32] = 254.0f;
  x[33] = 5.0f;
  x[34] = -3.0f;
  x[35] = 1.0f;
  BlockQ8_0 b[2];
  quantize_row_q8_0(x, 64, b);
  EXPECT_EQ(b[0].d, kHalfOne);
  const std::int8_t want0[8] = {127, 3, -3, 1, -1, 1, -127, 127};
  for (int j = 0; j < 8; ++j) EXPECT_EQ(b[0].qs[j], want0[j]) << "element " << j;
  for (int j = 8; j < 32; ++j) EXPECT_EQ(b[0].qs[j], 0) << "element " << j;
  EXPECT_EQ(b[1].d, kHalfTwo);
  const std::int8_t want1[4] = {127, 3, -2, 1};
  for (int j = 0; j < 4; ++j) EXPECT_EQ(b[1].qs[j], want1[j]) << "element " << 32 + j;
  // and back: every element is d · q exactly
  float y[64];
  dequantize_row(WeightType::q8_0, b, 64, y);
  EXPECT_EQ(y[1], 3.0f);
  EXPECT_EQ(y[34], -4.0f);
  EXPECT_EQ(y[32], 254.0f);
}

// The whole Q8_0 rule on random rows, written out here with the C library's roundf (ties away from zero) and
// the spec's float32 steps: amax, d = amax / 127, id = 1 / d, q = roundf(x · id), stored d = fp16(d).
TEST(Quantize, Q8_0MatchesTheSpecOnRandomRows) {
  Rng rng(11);
  for (int row = 0; row < 200; ++row) {
    float x[64];
    for (float& v : x) v = static_cast<float>(rng.normal(0.0, row % 2 ? 1.0 : 1e-3));
    if (row % 3 == 0) x[5] = std::nearbyint(x[5] * 127.0f) / 127.0f + 0.5f / 127.0f;  // near a tie
    BlockQ8_0 b[2];
    quantize_row_q8_0(x, 64, b);
    for (int k = 0; k < 2; ++k) {
      float amax = 0.0f;
      for (int j = 0; j < 32; ++j) amax = std::fmax(amax, std::fabs(x[32 * k + j]));
      const volatile float d = amax / 127.0f;  // volatile: each step rounded to float32 on its own, as the spec's
      const volatile float id = d != 0.0f ? 1.0f / d : 0.0f;
      ASSERT_EQ(b[k].d, f32_to_f16(d)) << "row " << row << " block " << k;
      for (int j = 0; j < 32; ++j) {
        const volatile float v = x[32 * k + j] * id;
        ASSERT_EQ(b[k].qs[j], static_cast<std::int8_t>(::roundf(v))) << "row " << row << " element " << 32 * k + j;
      }
    }
  }
}

TEST(Quantize, AllZeroBlocks) {
  const float x[32] = {};
  BlockQ8_0 q8;
  quantize_row_q8_0(x, 32, &q8);
  EXPECT_EQ(q8.d, 0);
  for (const auto q : q8.qs) EXPECT_EQ(q, 0);
  BlockQ4_0 q4;
  quantize_row_q4_0(x, 32, &q4);
  EXPECT_EQ(q4.d, 0x8000);  // d = max / −8 = 0 / −8 = −0: ggml stores the negative zero too
  for (const auto q : q4.qs) EXPECT_EQ(q, 0x88);  // code 8 = value 0 in both nibbles
}

// Q4_0: d = max / −8 with max the signed element of largest magnitude; code = min(15, trunc(x/d + 8.5)).
TEST(Quantize, Q4_0SignedMaxTruncationAndClamp) {
  // max = −8 → d = 1: x + 8.5 truncated; 0.5 → 9 and −0.5 → 8 (ties go up, not away from zero); 7.6 → 16 → 15
  const float x[32] = {-8.0f, 7.0f, 7.4f, 7.6f, 0.0f, 0.5f, -0.5f, -7.5f, 3.2f};
  BlockQ4_0 b;
  quantize_row_q4_0(x, 32, &b);
  EXPECT_EQ(b.d, kHalfOne);
  const int want[9] = {0, 15, 15, 15, 8, 9, 8, 1, 11};
  for (int j = 0; j < 9; ++j) EXPECT_EQ(b.qs[j] & 0x0F, want[j]) << "element " << j;
  // max = +8 → d = −1: code = trunc(−x + 8.5): 8 → 0, −7 → 15, 2 → 6
  float y[32] = {};
  y[5] = 8.0f;
  y[6] = -7.0f;
  y[7] = 2.0f;
  quantize_row_q4_0(y, 32, &b);
  EXPECT_EQ(b.d, kHalfMinusOne);
  EXPECT_EQ(b.qs[5] & 0x0F, 0);
  EXPECT_EQ(b.qs[6] & 0x0F, 15);
  EXPECT_EQ(b.qs[7] & 0x0F, 6);
  // equal magnitudes: the first one is the max (strict <), so −4 wins over the later 4: d = 0.5, and 4 → 16 → 15
  float z[32] = {-4.0f, 4.0f};
  quantize_row_q4_0(z, 32, &b);
  EXPECT_EQ(b.d, kHalfHalf);
  EXPECT_EQ(b.qs[0] & 0x0F, 0);
  EXPECT_EQ(b.qs[1] & 0x0F, 15);
}

// Byte j holds element j in its low nibble and element j + 16 in its high nibble.
TEST(Quantize, Q4_0NibbleOrder) {
  float x[32];
  for (int j = 0; j < 16; ++j) x[j] = static_cast<float>(j - 8);        // d = 1 (x[0] = −8), codes j
  for (int j = 0; j < 16; ++j) x[16 + j] = static_cast<float>(7 - j);   // codes 15 − j
  BlockQ4_0 b;
  quantize_row_q4_0(x, 32, &b);
  EXPECT_EQ(b.d, kHalfOne);
  for (int j = 0; j < 16; ++j) EXPECT_EQ(b.qs[j], j | ((15 - j) << 4)) << "byte " << j;
  float y[32];
  dequantize_row(WeightType::q4_0, &b, 32, y);
  for (int j = 0; j < 32; ++j) EXPECT_EQ(y[j], x[j]) << "element " << j;  // all on the grid: exact
}

// The block is laid out as ggml's: 2 bytes of fp16 d (little-endian), then the codes.
TEST(Quantize, BlockBytesAreGgmls) {
  float x[32] = {-8.0f, 7.0f};
  std::byte row[18];
  quantize_row(WeightType::q4_0, x, 32, row);
  EXPECT_EQ(std::to_integer<int>(row[0]), 0x00);  // fp16 1.0 = 0x3c00, low byte first
  EXPECT_EQ(std::to_integer<int>(row[1]), 0x3c);
  EXPECT_EQ(std::to_integer<int>(row[2]), 0x00 | (8 << 4));  // elements 0 (code 0) and 16 (code 8)
  EXPECT_EQ(std::to_integer<int>(row[3]), 0x0F | (8 << 4));  // elements 1 (code 15) and 17 (code 8)
}

// Q4_K, packed by hand from the spec's unpacking rule (§5): sub-block j has a 6-bit scale sc_j and min m_j (the
// upper four above 15, so their high bits travel in the top bits of scales[0..7]) and element l the code
// (5j + l) mod 16; chunk c of qs holds sub-block 2c in the low nibbles, 2c + 1 in the high ones. Every value
// d·sc·q − dmin·m is exact in float32 with d = 1, dmin = 0.5.
TEST(Quantize, Q4_KDequantizesAsTheSpecPacksIt) {
  int sc[8], m[8];
  for (int j = 0; j < 8; ++j) {
    sc[j] = j + 1 + (j >= 4 ? 40 : 0);
    m[j] = 2 * j + 3 + (j >= 4 ? 30 : 0);
  }
  BlockQ4_K b{};
  b.d = kHalfOne;
  b.dmin = kHalfHalf;
  for (int j = 0; j < 4; ++j) {
    b.scales[j] = static_cast<std::uint8_t>((sc[j] & 63) | ((sc[j + 4] >> 4) << 6));
    b.scales[j + 4] = static_cast<std::uint8_t>((m[j] & 63) | ((m[j + 4] >> 4) << 6));
    b.scales[j + 8] = static_cast<std::uint8_t>((sc[j + 4] & 0x0F) | ((m[j + 4] & 0x0F) << 4));
  }
  auto code = [](int j, int l) { return (5 * j + l) % 16; };
  for (int c = 0; c < 4; ++c)
    for (int l = 0; l < 32; ++l)
      b.qs[32 * c + l] = static_cast<std::uint8_t>(code(2 * c, l) | (code(2 * c + 1, l) << 4));
  float y[256];
  dequantize_row(WeightType::q4_k, &b, 256, y);
  for (int j = 0; j < 8; ++j)
    for (int l = 0; l < 32; ++l)
      ASSERT_EQ(y[32 * j + l], 1.0f * sc[j] * code(j, l) - 0.5f * m[j]) << "sub-block " << j << " element " << l;
}

// Q6_K, packed by hand from §6: element 128h + 32k + l (half h, quarter k, l < 32) has its low 4 bits in
// ql[64h + l + 32·(k odd)] (low nibble for k < 2, high for k ≥ 2) and its high 2 bits at bits 2k of qh[32h + l];
// scale scales[e / 16]; value d·scale·(q − 32).
TEST(Quantize, Q6_KDequantizesAsTheSpecPacksIt) {
  BlockQ6_K b{};
  b.d = 0x3400;  // fp16 0.25
  for (int i = 0; i < 16; ++i) b.scales[i] = static_cast<std::int8_t>(i - 8 + (i == 15 ? 100 : 0));
  auto code = [](int e) { return (7 * e + 3) % 64; };
  for (int h = 0; h < 2; ++h)
    for (int k = 0; k < 4; ++k)
      for (int l = 0; l < 32; ++l) {
        const int q = code(128 * h + 32 * k + l);
        b.ql[64 * h + l + 32 * (k % 2)] |= static_cast<std::uint8_t>((q & 0x0F) << (k < 2 ? 0 : 4));
        b.qh[32 * h + l] |= static_cast<std::uint8_t>((q >> 4) << (2 * k));
      }
  float y[256];
  dequantize_row(WeightType::q6_k, &b, 256, y);
  for (int e = 0; e < 256; ++e)
    ASSERT_EQ(y[e], 0.25f * b.scales[e / 16] * static_cast<float>(code(e) - 32)) << "element " << e;
}

std::vector<float> random_row(std::uint64_t seed, std::int64_t n) {
  Rng rng(seed);
  std::vector<float> x(static_cast<std::size_t>(n));
  for (auto& v : x) v = static_cast<float>(rng.normal(0.0, rng.uniform() < 0.1 ? 3.0 : 0.05));  // a few outliers
  return x;
}

// Round trips, per element, within what the format allows:
//  q8_0: |x − x̂| ≤ d/2 (rounding to the grid of d = amax/127; x·id is one float rounding off, 1e-4·d covers it)
//        + 127·|fp16(d) − d| (the codes are scaled by the stored, rounded d);
//  q4_0: |x − x̂| ≤ |d|/2, or |d| for x/d in (7.5, 8] (codes stop at +7) + 8·|fp16(d) − d|; the extreme element
//        gets code 0;
//  f16: |x − x̂| ≤ 2^-11·|x| (nearest, 11 significant bits) + 2^-25 (half the subnormal spacing);
//  bf16: ≤ 2^-8·|x|.
TEST(Quantize, RoundTripsWithinTheFormatsBounds) {
  const std::int64_t n = 32 * 64;
  for (std::uint64_t seed = 1; seed <= 3; ++seed) {
    SCOPED_TRACE(testing::Message() << "seed " << seed);
    const auto x = random_row(seed, n);
    for (const WeightType t : kWeightTypes) {
      if (!weight_type_has_quantizer(t)) continue;
      std::vector<std::byte> q(static_cast<std::size_t>(weight_row_bytes(t, n, "x")));
      std::vector<float> y(static_cast<std::size_t>(n));
      quantize_row(t, x.data(), n, q.data());
      dequantize_row(t, q.data(), n, y.data());
      for (std::int64_t b = 0; b < n / 32; ++b) {
        double amax = 0.0, max = 0.0;
        for (std::int64_t j = 0; j < 32; ++j)
          if (std::fabs(x[b * 32 + j]) > amax) amax = std::fabs(max = x[b * 32 + j]);
        for (std::int64_t j = 0; j < 32; ++j) {
          const std::int64_t i = b * 32 + j;
          const double xi = x[i], err = std::fabs(xi - y[i]);
          double bound = 0.0;
          switch (t) {
            case WeightType::f32: bound = 0.0; break;
            case WeightType::f16: bound = std::ldexp(std::fabs(xi), -11) + std::ldexp(1.0, -25); break;
            case WeightType::bf16: bound = std::ldexp(std::fabs(xi), -8); break;
            case WeightType::q8_0: {
              const double d = amax / 127.0, d16 = f16_to_f32(f32_to_f16(static_cast<float>(d)));
              bound = (0.5 + 1e-4) * d + 127.0 * std::fabs(d16 - d);
              break;
            }
            case WeightType::q4_k:
            case WeightType::q6_k: break;  // no quantizer
            case WeightType::q4_0: {
              const double d = max / -8.0, d16 = f16_to_f32(f32_to_f16(static_cast<float>(d)));
              bound = (xi / d > 7.5 ? 1.0 + 1e-4 : 0.5 + 1e-4) * std::fabs(d) + 8.0 * std::fabs(d16 - d);
              if (xi == max) {
                EXPECT_EQ(y[i], -8.0 * d16) << "extreme element " << i;
              }
              break;
            }
          }
          ASSERT_LE(err, bound) << weight_type_name(t) << " element " << i << ": x " << xi << " got " << y[i];
        }
      }
    }
  }
}

TEST(Quantize, MatrixRowsAreQuantizedRows) {
  const std::int64_t rows = 5, cols = 96;
  const auto w = random_row(7, rows * cols);
  for (const WeightType t : kWeightTypes) {
    if (!weight_type_has_quantizer(t)) continue;
    const auto m = quantize_matrix(t, w.data(), rows, cols, "w");
    const std::int64_t rb = weight_row_bytes(t, cols, "w");
    ASSERT_EQ(static_cast<std::int64_t>(m.size()), rows * rb);
    std::vector<std::byte> row(static_cast<std::size_t>(rb));
    for (std::int64_t r = 0; r < rows; ++r) {
      quantize_row(t, w.data() + r * cols, cols, row.data());
      EXPECT_EQ(std::memcmp(row.data(), m.data() + r * rb, static_cast<std::size_t>(rb)), 0) << weight_type_name(t);
    }
  }
}

}  // namespace
}  // namespace tinymamba
