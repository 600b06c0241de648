// The Mamba-1 mixer's parallel forward and its backward (mixer.hpp has the data flow).
#include "tinymamba/model/mamba1/mixer.hpp"

#include <algorithm>

#include "tinymamba/core/vmath.hpp"
#include "tinymamba/ops/causal_conv1d.hpp"
#include "tinymamba/ops/linear.hpp"
#include "tinymamba/ops/silu.hpp"

namespace tinymamba::mamba1 {
namespace {

// The scan reads the mixer's activations in place: u, Δ (T, E); B, C are column slices of x_dbl (T, R + 2N);
// z is the second half of xz (T, 2E).
ScanInputs scan_inputs(const Activations& acts, const MixerWeightsT<const float>& w, const Config& c,
                       const float* initial_state) {
  const std::int64_t E = c.d_inner, N = c.d_state, R = c.dt_rank, ldx = R + 2 * N;
  return {.u = acts.u.data(), .ld_u = E, .delta = acts.delta.data(), .ld_delta = E, .A = acts.A.data(),
          .B = acts.x_dbl.data() + R, .ld_B = ldx, .C = acts.x_dbl.data() + R + N, .ld_C = ldx, .D = w.D,
          .z = acts.xz.data() + E, .ld_z = 2 * E, .delta_bias = w.dt_proj_bias, .delta_softplus = true,
          .initial_state = initial_state};
}

// The sizes of a mixer's per-token tensors for T tokens, and of its per-channel ones: the activations and
// their gradients (GradScratch) take them from this one table.
struct Sizes {
  std::int64_t xz, channels, x_dbl, A, E;
  Sizes(const Config& c, std::int64_t T)
      : xz(T * 2 * c.d_inner), channels(T * c.d_inner), x_dbl(T * (c.dt_rank + 2 * c.d_state)),
        A(c.d_inner * c.d_state), E(c.d_inner) {}
};

void size_activations(Activations& a, const Sizes& s) {
  ensure_size(a.xz, s.xz);
  for (auto* b : {&a.conv_out, &a.u, &a.delta, &a.y}) ensure_size(*b, s.channels);
  ensure_size(a.x_dbl, s.x_dbl);
  ensure_size(a.A, s.A);
}

void size_grads(GradScratch& g, const Sizes& s) {
  ensure_size(g.dxz, s.xz);
  for (auto* b : {&g.du, &g.ddelta, &g.dy}) ensure_size(*b, s.channels);
  ensure_size(g.dx_dbl, s.x_dbl);
  ensure_size(g.dA, s.A);
  for (auto* b : {&g.dD, &g.ddelta_bias}) ensure_size(*b, s.E);
}

}  // namespace

void size_for_step(const Config& c, std::int64_t T, Activations& a) { size_activations(a, Sizes(c, T)); }

void forward(float* out, const float* a, const MixerWeightsT<const float>& w, const Config& c, std::int64_t batch,
             std::int64_t len, ScanAlgorithm scan, Activations& acts, ScanSaved* saved, float* conv_state,
             float* ssm_state) {
  const std::int64_t T = batch * len, d = c.d_model, E = c.d_inner, N = c.d_state, R = c.dt_rank;
  const std::int64_t ldx = R + 2 * N;
  size_activations(acts, Sizes(c, T));
  // xz (T, 2E) = a (T, d) · W_inᵀ
  linear_forward({acts.xz.data(), 2 * E}, {a, d}, w.in_proj, w.in_proj_bias, T);
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
  linear_forward({acts.x_dbl.data(), ldx}, {acts.u.data(), E}, w.x_proj, nullptr, T);
  linear_forward({acts.delta.data(), E}, {acts.x_dbl.data(), ldx}, w.dt_proj, nullptr, T);
  // A = −exp(A_log) (E·N exps, vectorized: O(E·N) against the O(T·E·N) scan that reads it; the backward needs
  // it too, so it is kept with the activations)
  for (std::int64_t i = 0; i < E * N; ++i) acts.A[i] = -vmath::exp(w.A_log[i]);
  const ScanInputs in = scan_inputs(acts, w, c, ssm_state);
  selective_scan_forward(scan, {batch, len, E, N}, in, {acts.y.data(), E, ssm_state}, saved);
  // out (T, d) = y · W_outᵀ
  linear_forward({out, d}, {acts.y.data(), E}, w.out_proj, w.out_proj_bias, T);
}

void backward(float* da, const float* dout, const float* a, const MixerWeightsT<const float>& w,
              const MixerWeightsT<float>& g, const Config& c, std::int64_t batch, std::int64_t len, ScanAlgorithm scan,
              const Activations& acts, GradScratch& s) {
  const std::int64_t T = batch * len, d = c.d_model, E = c.d_inner, N = c.d_state, R = c.dt_rank;
  const std::int64_t ldx = R + 2 * N;
  size_grads(s, Sizes(c, T));
  // out_proj: dy (T, E) = dout · W_out ; dW_out += doutᵀ · y
  linear_backward({s.dy.data(), E}, g.out_proj, g.out_proj_bias, {dout, d}, {acts.y.data(), E}, w.out_proj, T);
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
                  w.dt_proj, T);
  // x_proj: du += dx_dbl · W_x ; dW_x += dx_dblᵀ · u
  linear_backward({s.du.data(), E}, g.x_proj, nullptr, {s.dx_dbl.data(), ldx}, {acts.u.data(), E}, w.x_proj, T,
                  /*accumulate_dx=*/true);
  // SiLU then conv: d(conv_out) = du · SiLU'(conv_out) ; dx → dxz[:, :E]
  silu_backward(s.du.data(), s.du.data(), acts.conv_out.data(), T * E);
  causal_conv1d_backward(s.dxz.data(), 2 * E, g.conv, g.conv_bias, s.du.data(), acts.xz.data(), 2 * E, w.conv,
                         nullptr, {batch, len, E, c.d_conv});
  // in_proj: da (T, d) = dxz · W_in ; dW_in += dxzᵀ · a
  linear_backward({da, d}, g.in_proj, g.in_proj_bias, {s.dxz.data(), 2 * E}, {a, d}, w.in_proj, T);
}

}  // namespace tinymamba::mamba1
