#include "tinymamba/model/init.hpp"

#include <cmath>

#include "tinymamba/core/rng.hpp"

namespace tinymamba {
namespace {

void fill_uniform(Rng& rng, float* p, std::int64_t n, double bound) {
  for (std::int64_t i = 0; i < n; ++i) p[i] = static_cast<float>(rng.uniform(-bound, bound));
}
void fill(float* p, std::int64_t n, float v) {
  for (std::int64_t i = 0; i < n; ++i) p[i] = v;
}

}  // namespace

void init_parameters(Model& m, std::uint64_t seed) {
  const Config& c = m.config;
  const std::int64_t d = c.d_model, E = c.d_inner, N = c.d_state, K = c.d_conv, R = c.dt_rank, V = c.padded_vocab();
  Rng rng(seed);
  std::fill(m.params.begin(), m.params.end(), 0.0f);
  const Weights w = m.weights();
  for (std::int64_t i = 0; i < V * d; ++i) w.embedding[i] = static_cast<float>(rng.normal(0.0, c.initializer_range));
  for (const LayerWeights& l : w.layers) {
    fill(l.norm, d, 1.0f);
    fill_uniform(rng, l.in_proj, 2 * E * d, 1.0 / std::sqrt(static_cast<double>(d)));
    fill_uniform(rng, l.conv, E * K, 1.0 / std::sqrt(static_cast<double>(K)));
    if (l.conv_bias) fill_uniform(rng, l.conv_bias, E, 1.0 / std::sqrt(static_cast<double>(K)));
    fill_uniform(rng, l.x_proj, (R + 2 * N) * E, 1.0 / std::sqrt(static_cast<double>(E)));
    const double dt_std = std::pow(static_cast<double>(R), -0.5) * c.dt_scale;
    if (c.dt_init_random)
      fill_uniform(rng, l.dt_proj, E * R, dt_std);
    else
      fill(l.dt_proj, E * R, static_cast<float>(dt_std));
    const double log_min = std::log(c.dt_min), log_max = std::log(c.dt_max);
    for (std::int64_t e = 0; e < E; ++e) {
      const double dt = std::max(std::exp(rng.uniform() * (log_max - log_min) + log_min), c.dt_init_floor);
      l.dt_proj_bias[e] = static_cast<float>(dt + std::log(-std::expm1(-dt)));  // softplus⁻¹(dt)
    }
    for (std::int64_t e = 0; e < E; ++e)
      for (std::int64_t n = 0; n < N; ++n) l.A_log[e * N + n] = static_cast<float>(std::log(static_cast<double>(n + 1)));
    fill(l.D, E, 1.0f);
    const double out_bound = 1.0 / std::sqrt(static_cast<double>(E)) /
                             (c.rescale_prenorm_residual ? std::sqrt(static_cast<double>(c.n_layer)) : 1.0);
    fill_uniform(rng, l.out_proj, d * E, out_bound);
    // in_proj / out_proj biases stay 0 (the official _init_weights zeroes Linear biases).
  }
  fill(w.norm_f, d, 1.0f);
  if (!c.tie_embeddings)
    for (std::int64_t i = 0; i < V * d; ++i) w.lm_head[i] = static_cast<float>(rng.normal(0.0, c.initializer_range));
}

}  // namespace tinymamba
