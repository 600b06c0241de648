#include "tinymamba/model/mamba_block.hpp"

#include <cmath>

#include "tinymamba/core/vmath.hpp"

#include "tinymamba/ops/causal_conv1d.hpp"
#include "tinymamba/ops/linear.hpp"
#include "tinymamba/ops/silu.hpp"

namespace tinymamba {
namespace {
// The scan reads the mixer's activations in place: u, Δ (T, E); B, C are column slices of x_dbl (T, R + 2N);
// z is the second half of xz (T, 2E).
ScanInputs scan_inputs(const MixerActivations& acts, const LayerWeightsT<const float>& w, const Config& c,
                       const float* initial_state) {
  const std::int64_t E = c.d_inner, N = c.d_state, R = c.dt_rank, ldx = R + 2 * N;
  return {.u = acts.u.data(), .ld_u = E, .delta = acts.delta.data(), .ld_delta = E, .A = acts.A.data(),
          .B = acts.x_dbl.data() + R, .ld_B = ldx, .C = acts.x_dbl.data() + R + N, .ld_C = ldx, .D = w.D,
          .z = acts.xz.data() + E, .ld_z = 2 * E, .delta_bias = w.dt_proj_bias, .delta_softplus = true,
          .initial_state = initial_state};
}
}  // namespace

void MixerActivations::resize(const Config& c, std::int64_t batch, std::int64_t len) {
  const std::int64_t T = batch * len, E = c.d_inner;
  ensure_size(xz, T * 2 * E);
  ensure_size(conv_out, T * E);
  ensure_size(u, T * E);
  ensure_size(x_dbl, T * (c.dt_rank + 2 * c.d_state));
  ensure_size(delta, T * E);
  ensure_size(A, E * c.d_state);
  ensure_size(y, T * E);
}

void MixerGradScratch::resize(const Config& c, std::int64_t batch, std::int64_t len) {
  const std::int64_t T = batch * len, E = c.d_inner;
  ensure_size(dxz, T * 2 * E);
  ensure_size(du, T * E);
  ensure_size(ddelta, T * E);
  ensure_size(dx_dbl, T * (c.dt_rank + 2 * c.d_state));
  ensure_size(dy, T * E);
  ensure_size(dA, E * c.d_state);
  ensure_size(dD, E);
  ensure_size(ddelta_bias, E);
}

void mixer_forward(float* out, const float* a, const LayerWeightsT<const float>& w, const Config& c,
                   std::int64_t batch, std::int64_t len, ScanAlgorithm scan, MixerActivations& acts,
                   ScanSaved* saved, float* conv_state, float* ssm_state) {
  const std::int64_t T = batch * len, d = c.d_model, E = c.d_inner, N = c.d_state, R = c.dt_rank;
  const std::int64_t ldx = R + 2 * N;
  acts.resize(c, batch, len);
  // xz (T, 2E) = a (T, d) · W_inᵀ
  linear_forward({acts.xz.data(), 2 * E}, {a, d}, w.in_proj, w.in_proj_bias, T, d, 2 * E);
  // u = SiLU(conv1d(x)), x = xz[:, :E] read in place (row stride 2E)
  const Conv1dShape cs{batch, len, E, c.d_conv};
  causal_conv1d_forward(acts.conv_out.data(), acts.xz.data(), 2 * E, w.conv, w.conv_bias, conv_state, cs);
  if (conv_state) {  // the last K pre-conv inputs become the new conv state
    ensure_size(acts.conv_state_scratch, batch * E * c.d_conv);
    causal_conv1d_final_state(acts.conv_state_scratch.data(), acts.xz.data(), 2 * E, conv_state, cs);
    std::copy(acts.conv_state_scratch.begin(), acts.conv_state_scratch.end(), conv_state);
  }
  silu_forward(acts.u.data(), acts.conv_out.data(), T * E);
  // Δ_low | B | C (T, R + 2N) = u · W_xᵀ ;  Δ (T, E) = Δ_low · W_dtᵀ (bias goes into the scan)
  linear_forward({acts.x_dbl.data(), ldx}, {acts.u.data(), E}, w.x_proj, nullptr, T, E, ldx);
  linear_forward({acts.delta.data(), E}, {acts.x_dbl.data(), ldx}, w.dt_proj, nullptr, T, R, E);
  // A = −exp(A_log), every call (A_log may have changed since the last): vectorized, since a decode step
  // would otherwise spend milliseconds in d_in·n·n_layer scalar exps per token.
  for (std::int64_t i = 0; i < E * N; ++i) acts.A[i] = -vmath::exp(w.A_log[i]);
  const ScanInputs in = scan_inputs(acts, w, c, ssm_state);
  selective_scan_forward(scan, {batch, len, E, N}, in, {acts.y.data(), E, ssm_state}, saved);
  // out (T, d) = y · W_outᵀ
  linear_forward({out, d}, {acts.y.data(), E}, w.out_proj, w.out_proj_bias, T, E, d);
}

void mixer_backward(float* da, const float* dout, const float* a, const LayerWeightsT<const float>& w,
                    const LayerWeights& g, const Config& c, std::int64_t batch, std::int64_t len, ScanAlgorithm scan,
                    const MixerActivations& acts, MixerGradScratch& s) {
  const std::int64_t T = batch * len, d = c.d_model, E = c.d_inner, N = c.d_state, R = c.dt_rank;
  const std::int64_t ldx = R + 2 * N;
  s.resize(c, batch, len);
  // out_proj: dy (T, E) = dout · W_out ; dW_out += doutᵀ · y
  linear_backward({s.dy.data(), E}, g.out_proj, g.out_proj_bias, {dout, d}, {acts.y.data(), E}, w.out_proj, T, E, d);
  // selective scan: du, dΔ, dA, dB, dC (into dx_dbl's B and C columns), dD, dz (into dxz's z half), dΔ_bias
  const ScanInputs in = scan_inputs(acts, w, c, nullptr);
  const ScanGrads sg{.du = s.du.data(), .ld_du = E, .ddelta = s.ddelta.data(), .ld_ddelta = E,
                     .dA = s.dA.data(), .dB = s.dx_dbl.data() + R, .ld_dB = ldx,
                     .dC = s.dx_dbl.data() + R + N, .ld_dC = ldx, .dD = s.dD.data(),
                     .dz = s.dxz.data() + E, .ld_dz = 2 * E, .ddelta_bias = s.ddelta_bias.data()};
  selective_scan_backward(scan, {batch, len, E, N}, in, s.dy.data(), E, acts.scan, sg);
  for (std::int64_t i = 0; i < E * N; ++i) g.A_log[i] += s.dA[i] * acts.A[i];  // A = −exp(A_log): dA_log = dA·A
  for (std::int64_t e = 0; e < E; ++e) {
    g.D[e] += s.dD[e];
    g.dt_proj_bias[e] += s.ddelta_bias[e];
  }
  // dt_proj: dΔ_low (T, R) = dΔ · W_dt → dx_dbl[:, :R] ; dW_dt += dΔᵀ · Δ_low
  linear_backward({s.dx_dbl.data(), ldx}, g.dt_proj, nullptr, {s.ddelta.data(), E}, {acts.x_dbl.data(), ldx},
                  w.dt_proj, T, R, E);
  // x_proj: du += dx_dbl · W_x ; dW_x += dx_dblᵀ · u
  linear_backward({s.du.data(), E}, g.x_proj, nullptr, {s.dx_dbl.data(), ldx}, {acts.u.data(), E}, w.x_proj, T, E,
                  ldx, /*accumulate_dx=*/true);
  // SiLU then conv: d(conv_out) = du · SiLU'(conv_out) ; dx → dxz[:, :E]
  silu_backward(s.du.data(), s.du.data(), acts.conv_out.data(), T * E);
  causal_conv1d_backward(s.dxz.data(), 2 * E, g.conv, g.conv_bias, s.du.data(), acts.xz.data(), 2 * E, w.conv,
                         nullptr, {batch, len, E, c.d_conv});
  // in_proj: da (T, d) = dxz · W_in ; dW_in += dxzᵀ · a
  linear_backward({da, d}, g.in_proj, g.in_proj_bias, {s.dxz.data(), 2 * E}, {a, d}, w.in_proj, T, d, 2 * E);
}

}  // namespace tinymamba
