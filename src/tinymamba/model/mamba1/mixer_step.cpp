// The Mamba-1 mixer for one token per sequence (paper §3.4, the official `Mamba.step`), O(1) work and memory
// per token, as one thread's share of a parallel_team:
//   conv: the state holds the last K pre-conv inputs x; it shifts by one, takes the new x, and the conv is one
//         dot product per channel (causal_conv1d_step);
//   scan: h ← exp(δ·A) ⊙ h + δ·B·u from the state's h, written back (selective_scan_step).
// Each thread takes its share of every projection's output rows (and of the channels for the conv and the scan,
// which are independent per channel); the threads meet at a barrier only where the next product needs all of
// the previous one: four per layer. Chunk sizes and why: docs/inference.md.
#include <algorithm>

#include "tinymamba/core/vmath.hpp"
#include "tinymamba/model/mamba1/mixer.hpp"
#include "tinymamba/ops/causal_conv1d.hpp"
#include "tinymamba/ops/linear.hpp"
#include "tinymamba/ops/scan_step.hpp"
#include "tinymamba/ops/silu.hpp"

namespace tinymamba::mamba1 {
namespace {

constexpr std::int64_t kRowChunkIn = 256;    // rows of in_proj
constexpr std::int64_t kChannelChunk = 256;  // channels of dt_proj and the scan
constexpr std::int64_t kXprojChunk = 16;     // rows of x_proj (R + 2N = 80 for mamba-130m: five chunks)
constexpr std::int64_t kRowChunk = 128;      // rows of out_proj

// Asks for `floats` floats from p to be brought into cache (to be written, kept), a line at a time.
void prefetch_floats(const float* p, std::int64_t floats) {
  for (std::int64_t i = 0; i < floats; i += 64 / sizeof(float)) __builtin_prefetch(p + i, 1, 3);
}

}  // namespace

void step(const Team& team, const MixerWeightsT<const float>& w, const Config& c, std::int64_t T,
          const float* normed, float* hidden, float* conv_state, float* ssm_state,
          std::span<const std::int64_t> slots, Activations& a) {
  const std::int64_t d = c.d_model, E = c.d_inner, N = c.d_state, R = c.dt_rank, K = c.d_conv, ldx = R + 2 * N;

  // xz = in_proj(normed), a chunk of rows at a time in their stored order (x's E rows, then z's), so that each
  // thread streams one run of the matrix; a chunk of x's rows goes on to u = SiLU(conv(x)) for its channels.
  team.for_chunks(2 * E, kRowChunkIn, [&](std::int64_t r0, std::int64_t r1) {
    const std::int64_t e0 = r0, e1 = std::min(r1, E);  // x's channels among the rows
    // The conv's state, weights and bias of these channels, requested before the rows stream so that they arrive
    // meanwhile: the conv waited on them from memory (a q8_0 step of the 130m shape, memory at ~75 GB/s: the
    // conv 4.4% → 2.8% of thread 0's step, docs/inference.md)
    for (std::int64_t b = 0; b < T && e0 < e1; ++b) prefetch_floats(conv_state + (slots[b] * E + e0) * K, (e1 - e0) * K);
    if (e0 < e1) {
      prefetch_floats(w.conv + e0 * K, (e1 - e0) * K);
      if (w.conv_bias) prefetch_floats(w.conv_bias + e0, e1 - e0);
    }
    linear_rows_forward({a.xz.data(), 2 * E}, {normed, d}, w.in_proj, w.in_proj_bias, T, r0, r1);
    for (std::int64_t b = 0; b < T && e0 < e1; ++b) {
      float* u = a.u.data() + b * E;
      causal_conv1d_step(u, conv_state + slots[b] * E * K, a.xz.data() + b * 2 * E, w.conv, w.conv_bias, K, e0, e1);
      silu_forward(u + e0, u + e0, e1 - e0);  // inline: parallel_for inside a team does not fork
    }
  });
  team.barrier();  // x_proj reads all of u

  // Δ_low | B | C = x_proj(u)
  team.for_chunks(ldx, kXprojChunk, [&](std::int64_t r0, std::int64_t r1) {
    linear_rows_forward({a.x_dbl.data(), ldx}, {a.u.data(), E}, w.x_proj, nullptr, T, r0, r1);
  });
  team.barrier();  // every channel's Δ and scan read all of Δ_low, B and C

  // Δ = dt_proj(Δ_low), then the scan step, for a chunk of channels (Δ's bias and softplus are the scan's)
  team.for_chunks(E, kChannelChunk, [&](std::int64_t e0, std::int64_t e1) {
    linear_rows_forward({a.delta.data(), E}, {a.x_dbl.data(), ldx}, w.dt_proj, nullptr, T, e0, e1);
    // A = −exp(A_log) for these channels: the model's, when its parameters are frozen; else computed here, once
    // for all T sequences (each sequence's scan recomputed it: a fifth of a 16-sequence step)
    const float* A = w.A;
    if (!A) {
      for (std::int64_t i = e0 * N; i < e1 * N; ++i) a.A[i] = -vmath::exp(w.A_log[i]);
      A = a.A.data();
    }
    for (std::int64_t b = 0; b < T; ++b) {
      const float* xd = a.x_dbl.data() + b * ldx;
      const ScanStep s{.u = a.u.data() + b * E, .delta = a.delta.data() + b * E, .B = xd + R, .C = xd + R + N,
                       .z = a.xz.data() + b * 2 * E + E, .A = A, .D = w.D, .delta_bias = w.dt_proj_bias,
                       .h = ssm_state + slots[b] * E * N, .out = a.y.data() + b * E, .d_state = N};
      selective_scan_step(s, e0, e1);
    }
  });
  team.barrier();  // out_proj reads all of y

  // hidden += out_proj(y), a chunk of rows of d at a time
  team.for_chunks(d, kRowChunk, [&](std::int64_t o0, std::int64_t o1) {
    if (w.out_proj_bias)
      for (std::int64_t b = 0; b < T; ++b)
        for (std::int64_t o = o0; o < o1; ++o) hidden[b * d + o] += w.out_proj_bias[o];
    linear_rows_accumulate({hidden, d}, {a.y.data(), E}, w.out_proj, T, o0, o1);
  });
  team.barrier();  // the next layer's RMSNorm reads all of hidden
}

}  // namespace tinymamba::mamba1
