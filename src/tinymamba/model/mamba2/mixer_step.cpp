// The Mamba-2 mixer for one token per sequence (the official `Mamba2.step`), as one thread's share of a
// parallel_team: the threads split in_proj's rows, the conv's channels, the heads of the SSD step, the rows of
// the gated norm and out_proj's rows, meeting at a barrier where the next part needs all of the previous one.
#include <cmath>

#include "tinymamba/model/mamba2/mixer.hpp"
#include "tinymamba/model/mamba2/widths.hpp"
#include "tinymamba/ops/causal_conv1d.hpp"
#include "tinymamba/ops/linear.hpp"
#include "tinymamba/ops/silu.hpp"
#include "tinymamba/ops/ssd/ssd_step.hpp"

namespace tinymamba::mamba2 {
namespace {
constexpr std::int64_t kRowChunk = 128;      // rows of in_proj or out_proj a thread claims at a time
constexpr std::int64_t kChannelChunk = 256;  // conv channels
constexpr std::int64_t kHeadChunk = 4;       // heads of the SSD step
}  // namespace

void step(const Team& team, const MixerWeightsT<const float>& w, const Config& c, std::int64_t T,
          const float* normed, float* hidden, float* conv_state, float* ssm_state,
          std::span<const std::int64_t> slots, Activations& a) {
  const Widths k(c);
  float* zx = a.zxbcdt.data();
  // zxbcdt = in_proj(normed)
  team.for_chunks(k.I, kRowChunk, [&](std::int64_t o0, std::int64_t o1) {
    linear_rows_forward({zx, k.I}, {normed, k.d}, w.in_proj, w.in_proj_bias, T, o0, o1);
  });
  team.barrier();  // the conv reads xBC's channels, the scan dt

  // xBC = SiLU(conv step over the state's last K columns and the new one)
  team.for_chunks(k.C, kChannelChunk, [&](std::int64_t c0, std::int64_t c1) {
    for (std::int64_t b = 0; b < T; ++b) {
      float* u = a.xBC.data() + b * k.C;
      causal_conv1d_step(u, conv_state + slots[b] * k.C * k.K, zx + b * k.I + k.xBC, w.conv, w.conv_bias, k.K, c0, c1);
      silu_forward(u + c0, u + c0, c1 - c0);
    }
  });
  team.barrier();  // every head reads its group's B and C

  // the SSD step for a chunk of heads (no dt_limit clamp, as the official step)
  team.for_chunks(k.H, kHeadChunk, [&](std::int64_t h0, std::int64_t h1) {
    for (std::int64_t h = h0; h < h1; ++h) a.A[h] = -std::exp(w.A_log[h]);
    for (std::int64_t b = 0; b < T; ++b) {
      const float* xBC = a.xBC.data() + b * k.C;
      const SsdStep s{.x = xBC, .dt = zx + b * k.I + k.dt, .A = a.A.data(), .B = xBC + k.S,
                      .C = xBC + k.S + k.G * k.N, .D = w.D, .D_has_hdim = c.D_has_hdim,
                      .z = c.gated_rmsnorm ? nullptr : zx + b * k.I + k.z, .dt_bias = w.dt_bias,
                      .state = ssm_state + slots[b] * k.H * k.P * k.N, .y = a.y.data() + b * k.S, .nheads = k.H,
                      .headdim = k.P, .ngroups = k.G, .d_state = k.N};
      ssd_step(s, h0, h1);
    }
  });
  team.barrier();  // the gated norm reads a whole group of heads

  team.for_chunks(T, 1, [&](std::int64_t t0, std::int64_t t1) { output_rows(a, w, c, k, t0, t1); });
  team.barrier();  // out_proj reads all of ycat

  // hidden += out_proj(ycat)
  team.for_chunks(k.d, kRowChunk, [&](std::int64_t o0, std::int64_t o1) {
    if (w.out_proj_bias)
      for (std::int64_t b = 0; b < T; ++b)
        for (std::int64_t o = o0; o < o1; ++o) hidden[b * k.d + o] += w.out_proj_bias[o];
    linear_rows_accumulate({hidden, k.d}, {a.ycat.data(), k.E}, w.out_proj, T, o0, o1);
  });
  team.barrier();  // the next layer's RMSNorm reads all of hidden
}

}  // namespace tinymamba::mamba2
