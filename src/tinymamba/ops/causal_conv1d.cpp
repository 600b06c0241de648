#include "tinymamba/ops/causal_conv1d.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "tinymamba/core/parallel.hpp"

namespace tinymamba {
namespace {

// Input at (batch b, time t, channel c), with t < 0 read from the carried state (or zero).
inline float input_at(const float* x, std::int64_t ldx, const float* state, const Conv1dShape& s, std::int64_t b,
                      std::int64_t t, std::int64_t c) {
  if (t >= 0) return x[(b * s.len + t) * ldx + c];
  if (!state) return 0.0f;
  return state[(b * s.channels + c) * s.kernel + (s.kernel + t)];  // t = -1 is the newest entry (index K-1)
}

constexpr std::int64_t kChannelBlock = 64;

}  // namespace

void causal_conv1d_forward(float* out, const float* x, std::int64_t ldx, const float* w, const float* bias,
                           const float* state, const Conv1dShape& s) {
  // K is tiny (4) and the conv costs ~K·d_in flops per token, a thousandth of the projections around it: a
  // plain loop, no scratch (so the per-token decode path allocates nothing). Explicit fma here and in the step:
  // left to contraction, GCC fused the two loops' multiply-adds differently with -march=haswell, and the step
  // stopped being bitwise this forward over one token.
  const std::int64_t C = s.channels, K = s.kernel;
  parallel_for(s.batch * s.len, [&](std::int64_t r0, std::int64_t r1, int) {
    for (std::int64_t r = r0; r < r1; ++r) {
      const std::int64_t b = r / s.len, t = r % s.len;
      float* o = out + r * C;
      for (std::int64_t c = 0; c < C; ++c) {
        float acc = bias ? bias[c] : 0.0f;
        for (std::int64_t k = 0; k < K; ++k)
          acc = std::fma(w[c * K + k], input_at(x, ldx, state, s, b, t - (K - 1) + k, c), acc);
        o[c] = acc;
      }
    }
  }, grain_for(C * K));
}

void causal_conv1d_backward(float* dx, std::int64_t lddx, float* dw, float* dbias, const float* dout, const float* x,
                            std::int64_t ldx, const float* w, const float* state, const Conv1dShape& s) {
  const std::int64_t C = s.channels, K = s.kernel, L = s.len;
  const std::int64_t n_blocks = (C + kChannelBlock - 1) / kChannelBlock;
  parallel_for(n_blocks, [&](std::int64_t blk0, std::int64_t blk1, int) {
    std::vector<double> dw_acc(static_cast<std::size_t>(K * kChannelBlock));
    std::vector<double> db_acc(static_cast<std::size_t>(kChannelBlock));
    for (std::int64_t blk = blk0; blk < blk1; ++blk) {
      const std::int64_t c0 = blk * kChannelBlock, c1 = std::min(C, c0 + kChannelBlock), nc = c1 - c0;
      std::fill(dw_acc.begin(), dw_acc.end(), 0.0);
      std::fill(db_acc.begin(), db_acc.end(), 0.0);
      for (std::int64_t b = 0; b < s.batch; ++b) {
        for (std::int64_t t = 0; t < L; ++t) {
          const float* g = dout + (b * L + t) * C;
          // dx[t] = Σ_k w[c, k] · dout[t + (K-1) - k]
          float* dxr = dx + (b * L + t) * lddx;
          for (std::int64_t c = c0; c < c1; ++c) dxr[c] = 0.0f;
          for (std::int64_t k = 0; k < K; ++k) {
            const std::int64_t dst = t + (K - 1) - k;
            if (dst >= L) continue;
            const float* gd = dout + (b * L + dst) * C;
            for (std::int64_t c = c0; c < c1; ++c) dxr[c] += w[c * K + k] * gd[c];
          }
          // dw[c, k] += dout[t] · x[t - (K-1) + k];  dbias[c] += dout[t]
          for (std::int64_t k = 0; k < K; ++k) {
            const std::int64_t src = t - (K - 1) + k;
            double* acc = dw_acc.data() + k * kChannelBlock;
            for (std::int64_t c = c0; c < c1; ++c)
              acc[c - c0] += static_cast<double>(g[c]) * input_at(x, ldx, state, s, b, src, c);
          }
          for (std::int64_t c = c0; c < c1; ++c) db_acc[c - c0] += g[c];
        }
      }
      for (std::int64_t i = 0; i < nc; ++i) {
        for (std::int64_t k = 0; k < K; ++k) dw[(c0 + i) * K + k] += static_cast<float>(dw_acc[k * kChannelBlock + i]);
        if (dbias) dbias[c0 + i] += static_cast<float>(db_acc[i]);
      }
    }
  });
}

void causal_conv1d_final_state(float* new_state, const float* x, std::int64_t ldx, const float* state,
                               const Conv1dShape& s) {
  const std::int64_t C = s.channels, K = s.kernel;
  for (std::int64_t b = 0; b < s.batch; ++b)
    for (std::int64_t c = 0; c < C; ++c)
      for (std::int64_t k = 0; k < K; ++k)  // entry k holds time L - K + k
        new_state[(b * C + c) * K + k] = input_at(x, ldx, state, s, b, s.len - K + k, c);
}

void causal_conv1d_step(float* out, float* state, const float* x, const float* w, const float* bias, std::int64_t K,
                        std::int64_t c0, std::int64_t c1) {
  if (K == 4) {  // every Mamba checkpoint's d_conv: straight-line, so GCC vectorizes it over the channels (the
                 // general loop's shift became a memmove call per channel: 3% of a q8_0 decode step); the same
                 // fmas in the same order as the loop below
    for (std::int64_t c = c0; c < c1; ++c) {
      float* st = state + c * 4;
      const float* wc = w + c * 4;
      const float s1 = st[1], s2 = st[2], s3 = st[3], xc = x[c];
      st[0] = s1;
      st[1] = s2;
      st[2] = s3;
      st[3] = xc;
      const float b = bias ? bias[c] : 0.0f;
      out[c] = std::fma(wc[3], xc, std::fma(wc[2], s3, std::fma(wc[1], s2, std::fma(wc[0], s1, b))));
    }
    return;
  }
  for (std::int64_t c = c0; c < c1; ++c) {
    float* st = state + c * K;
    for (std::int64_t k = 0; k + 1 < K; ++k) st[k] = st[k + 1];
    st[K - 1] = x[c];
    float acc = bias ? bias[c] : 0.0f;
    for (std::int64_t k = 0; k < K; ++k) acc = std::fma(w[c * K + k], st[k], acc);
    out[c] = acc;
  }
}

}  // namespace tinymamba
