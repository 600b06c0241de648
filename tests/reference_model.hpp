// The whole Mamba LM written with the naive reference ops in double — an independent oracle for the model's
// forward and, through finite differences, for every parameter gradient. Parameters are read from a buffer of
// the model's layout (model/weights.hpp) converted to double. The LM switches on the mixer kind as the model does.
#pragma once

#include <string>
#include <vector>

#include "tinymamba/model/model.hpp"
#include "tinymamba/ops/ref/reference_ops.hpp"

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
