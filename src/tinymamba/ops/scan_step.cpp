#include "tinymamba/ops/scan_step.hpp"

#include <algorithm>
#include <array>
#include <cmath>

#include "tinymamba/core/lanes.hpp"
#include "tinymamba/core/vmath.hpp"
#include "tinymamba/ops/selective_scan.hpp"

namespace tinymamba {
namespace {

constexpr std::int64_t kChannelBlock = 64;  // channels whose δ and gate are computed together, vectorized
// The state h is read and written once per token, (d_in, n) floats per layer and sequence: 37.7 MB for 16
// sequences of the 130m shape, more than the L3, so it streams from memory beside the weights; prefetched this
// many channels ahead (a loop per channel is too short for the hardware prefetcher to run ahead of). 64 (4 KB):
// the scan step of 16 sequences × 24 layers on one thread, h from memory, 3.7 ms at 16, 3.3 at 32 to 256.
constexpr std::int64_t kPrefetchChannels = 64;

// Per block of channels: δ and silu(z) for the whole block (vectorized over channels), then per channel the
// n states (vectorized over n: exp(δ·A) for all n, the update, and ⟨h, C⟩ in 16-lane pieces). kN: n when known
// at compile time (0: s.d_state) — the same code, but with n = 16 (every Mamba-1 checkpoint's) a channel is one
// Lanes vector with no loop around it and decay stays in a register: measured, the scan step was 14.5% of a
// 16-sequence decode step (perf, `serve`'s 16 streams). s by value: through a reference, every store to h might
// have changed its pointers, and the loop reloaded them (and B and C) for each channel.
template <std::int64_t kN>
void scan_step_channels(const ScanStep s, std::int64_t e0, std::int64_t e1) {
  const std::int64_t N = kN != 0 ? kN : s.d_state, N16 = N / kLanes * kLanes;
  std::array<float, kMaxScanState> decay;
  std::array<float, kChannelBlock> dt, gate;
  for (std::int64_t b0 = e0; b0 < e1; b0 += kChannelBlock) {
    const std::int64_t nb = std::min(kChannelBlock, e1 - b0);
    for (std::int64_t j = 0; j < nb; ++j) {
      dt[j] = vmath::softplus(s.delta[b0 + j] + s.delta_bias[b0 + j]);
      gate[j] = vmath::silu(s.z[b0 + j]);
    }
    // Channel j of the block: h ← exp(δA)·h + δ·B·u over its first N16 states, returning ⟨h, C⟩ over them as
    // 16 partial sums
    const auto update = [&](std::int64_t j) {
      const std::int64_t e = b0 + j;
      const float u = s.u[e], d = dt[j];
      const float* A = s.A + e * N;
      float* h = s.h + e * N;
      for (std::int64_t n = 0; n < N; n += kLanes) __builtin_prefetch(h + kPrefetchChannels * N + n, 1, 3);
      for (std::int64_t n = 0; n < N; ++n) decay[n] = vmath::exp_nonpositive(d * A[n]);  // δ >= 0, A < 0
      Lanes y16 = {};
      for (std::int64_t n = 0; n < N16; n += kLanes) {  // h ← exp(δA)·h + δ·B·u ;  y += h·C
        const Lanes hn = load_lanes(decay.data() + n) * load_lanes(h + n) + d * load_lanes(s.B + n) * u;
        store_lanes(h + n, hn);
        y16 += hn * load_lanes(s.C + n);
      }
      return y16;
    };
    // out = (⟨h, C⟩ + D·u)·silu(z), the fma explicit so that both paths below round alike
    const auto output = [&](std::int64_t j, float y) {
      const std::int64_t e = b0 + j;
      s.out[e] = std::fma(s.D[e], s.u[e], y) * gate[j];
    };
    std::int64_t j = 0;
    if constexpr (kN == kLanes) {
      // 16 channels' sums at once (sum_lanes_each: sum_lanes' pairs, bit for bit, in a third of the instructions;
      // one channel at a time, its horizontal sum and output were half of this step's time in perf)
      for (; j + kLanes <= nb; j += kLanes) {
        Lanes partial[kLanes];
        for (std::int64_t k = 0; k < kLanes; ++k) partial[k] = update(j + k);
        const Lanes y = sum_lanes_each(partial);
        for (std::int64_t k = 0; k < kLanes; ++k) output(j + k, y[k]);
      }
    }
    for (; j < nb; ++j) {
      float y = sum_lanes(update(j));
      const std::int64_t e = b0 + j;
      const float u = s.u[e], d = dt[j];
      float* h = s.h + e * N;
      for (std::int64_t n = N16; n < N; ++n) {  // the states past the last 16
        h[n] = decay[n] * h[n] + d * s.B[n] * u;
        y += h[n] * s.C[n];
      }
      output(j, y);
    }
  }
}

}  // namespace

void selective_scan_step(const ScanStep& s, std::int64_t e0, std::int64_t e1) {
  if (s.d_state == kLanes) {
    scan_step_channels<kLanes>(s, e0, e1);
  } else {
    scan_step_channels<0>(s, e0, e1);
  }
}

}  // namespace tinymamba
