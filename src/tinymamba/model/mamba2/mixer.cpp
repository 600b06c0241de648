// The Mamba-2 mixer's parallel forward and its backward (mixer.hpp has the data flow).
#include "tinymamba/model/mamba2/mixer.hpp"
#include "tinymamba/model/mamba2/widths.hpp"

#include <algorithm>
#include <cmath>

#include "tinymamba/ops/causal_conv1d.hpp"
#include "tinymamba/ops/gated_rmsnorm.hpp"
#include "tinymamba/ops/linear.hpp"
#include "tinymamba/ops/silu.hpp"

namespace tinymamba::mamba2 {

namespace {

// The SSD scan reads the activations in place: x, B, C are column slices of xBC (T, C); dt and z (when the scan
// gates) are column slices of zxbcdt (T, I).
SsdInputs scan_inputs(const Activations& acts, const MixerWeightsT<const float>& w, const Config& c, const Widths& k,
                      const float* initial_state, bool clamp_dt) {
  const float* zx = acts.zxbcdt.data();
  return {.x = acts.xBC.data(), .ld_x = k.C, .dt = zx + k.dt, .ld_dt = k.I, .A = acts.A.data(),
          .B = acts.xBC.data() + k.S, .ld_B = k.C, .C = acts.xBC.data() + k.S + k.G * k.N, .ld_C = k.C, .D = w.D,
          .D_has_hdim = c.D_has_hdim, .z = c.gated_rmsnorm ? nullptr : zx + k.z, .ld_z = k.I, .dt_bias = w.dt_bias,
          .dt_softplus = true, .dt_min = clamp_dt ? static_cast<float>(c.dt_limit_min) : 0.0f,
          .dt_max = clamp_dt ? static_cast<float>(c.dt_limit_max) : INFINITY, .initial_state = initial_state};
}

// The chunked scan's work chunk: the model's chunk_size is the official kernels' tiling and changes the result
// only by rounding (ops/ssd/ssd_scan.hpp); on this CPU chunks of 64 measured fastest (docs/ssd.md: l = 2048,
// 45 ms forward against 58 ms at 256), so a larger chunk_size (256 in the published models) runs as 64.
constexpr std::int64_t kMaxWorkChunk = 64;

SsdDims scan_dims(const Config& c, const Widths& k, std::int64_t batch, std::int64_t len) {
  return {.batch = batch, .len = len, .nheads = k.H, .headdim = k.P, .ngroups = k.G, .d_state = k.N,
          .chunk = std::min(c.chunk_size, kMaxWorkChunk)};
}

void size_activations(Activations& a, const Widths& k, std::int64_t T) {
  ensure_size(a.zxbcdt, T * k.I);
  ensure_size(a.conv_out, T * k.C);
  ensure_size(a.xBC, T * k.C);
  ensure_size(a.A, k.H);
  ensure_size(a.y, T * k.S);
  ensure_size(a.rstd, T * k.G);
  ensure_size(a.ycat, T * k.E);
}

}  // namespace

// ycat[t] = [silu(z0)·x0 | RMSNormGated(y, z)] (or y itself when the scan gated it) for rows [t0, t1).
void output_rows(Activations& a, const MixerWeightsT<const float>& w, const Config& c, const Widths& k,
                 std::int64_t t0, std::int64_t t1) {
  const std::int64_t rows = t1 - t0;
  const float* zx = a.zxbcdt.data() + t0 * k.I;
  float* ycat = a.ycat.data() + t0 * k.E;
  if (c.gated_rmsnorm) {
    gated_rmsnorm_forward({.rows = rows, .d = k.S, .group = k.S / k.G, .eps = c.norm_eps}, ycat + k.M, k.E,
                          a.rstd.data() + t0 * k.G, a.y.data() + t0 * k.S, k.S, zx + k.z, k.I, w.norm);
  } else {
    for (std::int64_t t = 0; t < rows; ++t) std::copy_n(a.y.data() + (t0 + t) * k.S, k.S, ycat + t * k.E + k.M);
  }
  for (std::int64_t t = 0; t < rows; ++t) {  // the gated MLP half: silu(z0)·x0
    float* m = ycat + t * k.E;
    silu_forward(m, zx + t * k.I + k.z0, k.M);
    for (std::int64_t j = 0; j < k.M; ++j) m[j] *= zx[t * k.I + k.x0 + j];
  }
}

void size_for_step(const Config& c, std::int64_t T, Activations& a) { size_activations(a, Widths(c), T); }

void forward(float* out, const float* a, const MixerWeightsT<const float>& w, const Config& c, std::int64_t batch,
             std::int64_t len, SsdAlgorithm algorithm, Activations& acts, bool keep, float* conv_state,
             float* ssm_state) {
  const Widths k(c);
  const std::int64_t T = batch * len;
  size_activations(acts, k, T);
  acts.algorithm = algorithm;
  // zxbcdt (T, I) = a (T, d) · W_inᵀ
  linear_forward({acts.zxbcdt.data(), k.I}, {a, k.d}, w.in_proj, w.in_proj_bias, T);
  // xBC = SiLU(conv1d(xBC)), read in place from zxbcdt (row stride I)
  const Conv1dShape cs{batch, len, k.C, k.K};
  const float* xBC_in = acts.zxbcdt.data() + k.xBC;
  causal_conv1d_forward(acts.conv_out.data(), xBC_in, k.I, w.conv, w.conv_bias, conv_state, cs);
  if (conv_state) {  // the last K pre-conv columns become the new conv state
    ensure_size(acts.conv_state_scratch, batch * k.C * k.K);
    causal_conv1d_final_state(acts.conv_state_scratch.data(), xBC_in, k.I, conv_state, cs);
    std::copy(acts.conv_state_scratch.begin(), acts.conv_state_scratch.end(), conv_state);
  }
  silu_forward(acts.xBC.data(), acts.conv_out.data(), T * k.C);
  for (std::int64_t h = 0; h < k.H; ++h) acts.A[h] = -std::exp(w.A_log[h]);
  // y (T, S) = SSD(x, Δ, A, B, C, D [, z]); the state carries in place
  ssd_scan_forward(algorithm, scan_dims(c, k, batch, len), scan_inputs(acts, w, c, k, ssm_state, true),
                   {.y = acts.y.data(), .ld_y = k.S, .final_state = ssm_state}, keep ? &acts.scan : nullptr);
  output_rows(acts, w, c, k, 0, T);
  // out (T, d) = ycat · W_outᵀ
  linear_forward({out, k.d}, {acts.ycat.data(), k.E}, w.out_proj, w.out_proj_bias, T);
}

void backward(float* da, const float* dout, const float* a, const MixerWeightsT<const float>& w,
              const MixerWeightsT<float>& g, const Config& c, std::int64_t batch, std::int64_t len,
              const Activations& acts, GradScratch& s) {
  const Widths k(c);
  const std::int64_t T = batch * len;
  ensure_size(s.dzxbcdt, T * k.I);
  ensure_size(s.dxBC, T * k.C);
  ensure_size(s.dy, T * k.S);
  ensure_size(s.dycat, T * k.E);
  ensure_size(s.dA, k.H);
  ensure_size(s.dD, c.D_has_hdim ? k.S : k.H);
  ensure_size(s.ddt_bias, k.H);
  const float* zx = acts.zxbcdt.data();
  float* dzx = s.dzxbcdt.data();
  // out_proj: dycat (T, E) = dout · W_out ; dW_out += doutᵀ · ycat
  linear_backward({s.dycat.data(), k.E}, g.out_proj, g.out_proj_bias, {dout, k.d}, {acts.ycat.data(), k.E}, w.out_proj,
                  T);
  // the MLP half, m = silu(z0)·x0: dx0 = dm·silu(z0), dz0 = dm·x0·silu'(z0)
  for (std::int64_t t = 0; t < T; ++t) {
    const float* dm = s.dycat.data() + t * k.E;
    float* dz0 = dzx + t * k.I + k.z0;
    for (std::int64_t j = 0; j < k.M; ++j) {
      const float z0 = zx[t * k.I + k.z0 + j], x0 = zx[t * k.I + k.x0 + j];
      float silu_z0 = z0;
      silu_forward(&silu_z0, &silu_z0, 1);
      dzx[t * k.I + k.x0 + j] = dm[j] * silu_z0;
      dz0[j] = dm[j] * x0;
    }
    silu_backward(dz0, dz0, zx + t * k.I + k.z0, k.M);
  }
  // the gated norm (dy, dz written; dnorm.weight +=), or the scan's own output when the scan gated
  const float* dy = s.dycat.data() + k.M;
  std::int64_t ld_dy = k.E;
  if (c.gated_rmsnorm) {
    gated_rmsnorm_backward({.rows = T, .d = k.S, .group = k.S / k.G, .eps = c.norm_eps}, s.dy.data(), k.S,
                           dzx + k.z, k.I, g.norm, s.dycat.data() + k.M, k.E, acts.y.data(), k.S, zx + k.z, k.I,
                           w.norm, acts.rstd.data());
    dy = s.dy.data();
    ld_dy = k.S;
  }
  // SSD: dx, dB, dC into dxBC's slices; dΔ into dzxbcdt's dt columns (and dz when the scan gated); dA, dD, dΔ_bias
  float* dxBC = s.dxBC.data();
  const SsdGrads sg{.dx = dxBC, .ld_dx = k.C, .ddt = dzx + k.dt, .ld_ddt = k.I, .dA = s.dA.data(),
                    .dB = dxBC + k.S, .ld_dB = k.C, .dC = dxBC + k.S + k.G * k.N, .ld_dC = k.C,
                    .dD = w.D ? s.dD.data() : nullptr, .dz = c.gated_rmsnorm ? nullptr : dzx + k.z, .ld_dz = k.I,
                    .ddt_bias = s.ddt_bias.data()};
  ssd_scan_backward(acts.algorithm, scan_dims(c, k, batch, len), scan_inputs(acts, w, c, k, nullptr, true), dy, ld_dy,
                    nullptr, acts.scan, sg);
  for (std::int64_t h = 0; h < k.H; ++h) {
    g.A_log[h] += s.dA[h] * acts.A[h];  // A = −exp(A_log): dA_log = dA·A
    g.dt_bias[h] += s.ddt_bias[h];
  }
  if (g.D)
    for (std::int64_t i = 0; i < (c.D_has_hdim ? k.S : k.H); ++i) g.D[i] += s.dD[i];
  // SiLU then conv: d(conv_out) = dxBC · SiLU'(conv_out) ; d(xBC pre-conv) → dzxbcdt's xBC columns
  silu_backward(dxBC, dxBC, acts.conv_out.data(), T * k.C);
  causal_conv1d_backward(dzx + k.xBC, k.I, g.conv, g.conv_bias, dxBC, zx + k.xBC, k.I, w.conv, nullptr,
                         {batch, len, k.C, k.K});
  // in_proj: da (T, d) = dzxbcdt · W_in ; dW_in += dzxbcdtᵀ · a
  linear_backward({da, k.d}, g.in_proj, g.in_proj_bias, {dzx, k.I}, {a, k.d}, w.in_proj, T);
}

}  // namespace tinymamba::mamba2
