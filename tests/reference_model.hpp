// The whole Mamba LM written with the naive reference ops in double — an independent oracle for the model's
// forward and, through finite differences, for every parameter gradient. Parameters are read from a buffer of
// the model's layout (model/weights.hpp) converted to double. The LM switches on the mixer kind as the model does.
#pragma once

#include <string>
#include <vector>

#include "tinymamba/model/model.hpp"
#include "tinymamba/ops/ref/reference_ops.hpp"
#include "tinymamba/ops/ref/ssd_reference.hpp"

namespace tinymamba::test {

struct ReferenceModel {
  Config c;
  std::vector<ParamInfo> layout;

  explicit ReferenceModel(const Config& config) : c(config), layout(parameter_layout(config)) {}

  std::vector<double> param(const std::vector<double>& p, const std::string& name) const {
    for (const auto& info : layout)
      if (info.name == name) return {p.begin() + info.offset, p.begin() + info.offset + info.numel};
    return {};
  }

  // The Mamba-1 mixer (model/mamba1/mixer.hpp's data flow) on a = RMSNorm(h) (T, d) → (T, d).
  std::vector<double> mamba1_mixer(const std::vector<double>& p, const std::string& pre, const std::vector<double>& a,
                                   std::int64_t B, std::int64_t L) const {
    const std::int64_t d = c.d_model, E = c.d_inner, N = c.d_state, K = c.d_conv, R = c.dt_rank, T = B * L;
    auto P = [&](const std::string& n) { return param(p, pre + n); };
    const auto xz = ref::linear(a, P("in_proj.weight"), P("in_proj.bias"), d, 2 * E);
    std::vector<double> x(T * E), z(T * E);
    for (std::int64_t t = 0; t < T; ++t)
      for (std::int64_t e = 0; e < E; ++e) x[t * E + e] = xz[t * 2 * E + e], z[t * E + e] = xz[t * 2 * E + E + e];
    auto u = ref::causal_conv1d(x, P("conv1d.weight"), P("conv1d.bias"), B, L, E, K);
    for (auto& v : u) v = ref::silu(v);
    const auto x_dbl = ref::linear(u, P("x_proj.weight"), {}, E, R + 2 * N);
    std::vector<double> dt_low(T * R), Bm(T * N), Cm(T * N);
    for (std::int64_t t = 0; t < T; ++t) {
      for (std::int64_t r = 0; r < R; ++r) dt_low[t * R + r] = x_dbl[t * (R + 2 * N) + r];
      for (std::int64_t n = 0; n < N; ++n) {
        Bm[t * N + n] = x_dbl[t * (R + 2 * N) + R + n];
        Cm[t * N + n] = x_dbl[t * (R + 2 * N) + R + N + n];
      }
    }
    const auto delta = ref::linear(dt_low, P("dt_proj.weight"), {}, R, E);
    auto A = P("A_log");
    for (auto& v : A) v = -std::exp(v);
    const auto y = ref::selective_scan(u, delta, A, Bm, Cm, P("D"), z, P("dt_proj.bias"), true, B, L, E, N);
    return ref::linear(y.out, P("out_proj.weight"), P("out_proj.bias"), E, d);
  }

  // The Mamba-2 mixer (model/mamba2/mixer.hpp's data flow) on a = RMSNorm(h) (T, d) → (T, d).
  std::vector<double> mamba2_mixer(const std::vector<double>& p, const std::string& pre, const std::vector<double>& a,
                                   std::int64_t B, std::int64_t L) const {
    const std::int64_t d = c.d_model, E = c.d_inner, S = c.d_ssm, M = E - S, H = c.nheads(), P = c.headdim;
    const std::int64_t G = c.ngroups, N = c.d_state, K = c.d_conv, C = S + 2 * G * N, I = 2 * E + 2 * G * N + H;
    const std::int64_t T = B * L;
    auto Pm = [&](const std::string& n) { return param(p, pre + n); };
    const auto zx = ref::linear(a, Pm("in_proj.weight"), Pm("in_proj.bias"), d, I);
    auto cols = [&](std::int64_t from, std::int64_t width) {  // columns [from, from + width) of zxbcdt
      std::vector<double> out(T * width);
      for (std::int64_t t = 0; t < T; ++t)
        for (std::int64_t j = 0; j < width; ++j) out[t * width + j] = zx[t * I + from + j];
      return out;
    };
    const auto z0 = cols(0, M), x0 = cols(M, M), z = cols(2 * M, S), dt = cols(2 * M + S + C, H);
    auto xBC = ref::causal_conv1d(cols(2 * M + S, C), Pm("conv1d.weight"), Pm("conv1d.bias"), B, L, C, K);
    for (auto& v : xBC) v = ref::silu(v);
    ref::SsdRefInputs<double> in;
    in.x.resize(T * S), in.B.resize(T * G * N), in.C.resize(T * G * N);
    for (std::int64_t t = 0; t < T; ++t) {
      for (std::int64_t j = 0; j < S; ++j) in.x[t * S + j] = xBC[t * C + j];
      for (std::int64_t j = 0; j < G * N; ++j) {
        in.B[t * G * N + j] = xBC[t * C + S + j];
        in.C[t * G * N + j] = xBC[t * C + S + G * N + j];
      }
    }
    in.dt = dt;
    in.A = Pm("A_log");
    for (auto& v : in.A) v = -std::exp(v);
    in.D = Pm("D");
    in.dt_bias = Pm("dt_bias");
    in.dt_min = c.dt_limit_min;
    in.dt_max = c.dt_limit_max;
    if (!c.gated_rmsnorm) in.z = z;
    auto y = ref::ssd_scan<double>({B, L, H, P, G, N}, in).y;
    if (c.gated_rmsnorm) y = ref::gated_rmsnorm<double>(y, z, Pm("norm.weight"), S, S / G, c.norm_eps);
    std::vector<double> ycat(T * E);
    for (std::int64_t t = 0; t < T; ++t) {
      for (std::int64_t j = 0; j < M; ++j) ycat[t * E + j] = ref::silu(z0[t * M + j]) * x0[t * M + j];
      for (std::int64_t j = 0; j < S; ++j) ycat[t * E + M + j] = y[t * S + j];
    }
    return ref::linear(ycat, Pm("out_proj.weight"), Pm("out_proj.bias"), E, d);
  }

  // logits (b·l, V): h = embedding[ids]; per layer h += mixer(RMSNorm(h)) of the config's kind; norm_f; lm_head.
  std::vector<double> logits(const std::vector<double>& p, const std::vector<std::int32_t>& ids, std::int64_t B,
                             std::int64_t L) const {
    const std::int64_t d = c.d_model, V = c.padded_vocab(), T = B * L;
    auto h = ref::embedding(param(p, "backbone.embedding.weight"), ids, d);
    for (std::int64_t i = 0; i < c.n_layer; ++i) {
      const std::string pre = "backbone.layers." + std::to_string(i) + ".";
      const auto a = ref::rmsnorm(h, param(p, pre + "norm.weight"), d, static_cast<double>(c.norm_eps));
      std::vector<double> out;
      switch (c.mixer) {
        case MixerKind::mamba1: out = mamba1_mixer(p, pre + "mixer.", a, B, L); break;
        case MixerKind::mamba2: out = mamba2_mixer(p, pre + "mixer.", a, B, L); break;
      }
      for (std::int64_t k = 0; k < T * d; ++k) h[k] += out[k];
    }
    const auto nf = ref::rmsnorm(h, param(p, "backbone.norm_f.weight"), d, static_cast<double>(c.norm_eps));
    const auto head = param(p, c.tie_embeddings ? "backbone.embedding.weight" : "lm_head.weight");
    return ref::linear(nf, head, {}, d, V);
  }

  double loss(const std::vector<double>& p, const std::vector<std::int32_t>& ids, std::int64_t B, std::int64_t L) const {
    std::vector<std::int32_t> targets(B * L, -1);
    for (std::int64_t b = 0; b < B; ++b)
      for (std::int64_t t = 0; t + 1 < L; ++t) targets[b * L + t] = ids[b * L + t + 1];
    return ref::cross_entropy(logits(p, ids, B, L), targets, c.padded_vocab());
  }
};

}  // namespace tinymamba::test
