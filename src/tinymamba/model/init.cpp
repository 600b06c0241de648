#include "tinymamba/model/init.hpp"

#include <algorithm>
#include <cmath>

#include "tinymamba/core/rng.hpp"

namespace tinymamba {

void fill_uniform(Rng& rng, float* p, std::int64_t n, double bound) {
  for (std::int64_t i = 0; i < n; ++i) p[i] = static_cast<float>(rng.uniform(-bound, bound));
}

float draw_dt_bias(Rng& rng, const Config& c) {
  const double log_min = std::log(c.dt_min), log_max = std::log(c.dt_max);
  const double dt = std::max(std::exp(rng.uniform() * (log_max - log_min) + log_min), c.dt_init_floor);
  return static_cast<float>(dt + std::log(-std::expm1(-dt)));
}

double out_proj_bound(const Config& c, std::int64_t fan_in) {
  return 1.0 / std::sqrt(static_cast<double>(fan_in)) /
         (c.rescale_prenorm_residual ? std::sqrt(static_cast<double>(c.n_layer)) : 1.0);
}

void init_parameters(Model& m, std::uint64_t seed) {
  const Config& c = m.config;
  const std::int64_t d = c.d_model, V = c.padded_vocab();
  Rng rng(seed);
  std::fill(m.params.begin(), m.params.end(), 0.0f);
  const Weights w = m.weights();
  for (std::int64_t i = 0; i < V * d; ++i) w.embedding[i] = static_cast<float>(rng.normal(0.0, c.initializer_range));
  for (std::int64_t i = 0; i < c.n_layer; ++i) {
    std::fill_n(w.norms[i], d, 1.0f);
    switch (c.mixer) {
      case MixerKind::mamba1: mamba1::init(c, w.mamba1[i], rng); break;
      case MixerKind::mamba2: mamba2::init(c, w.mamba2[i], rng); break;
    }
  }
  std::fill_n(w.norm_f, d, 1.0f);
  if (!c.tie_embeddings)
    for (std::int64_t i = 0; i < V * d; ++i) w.lm_head[i] = static_cast<float>(rng.normal(0.0, c.initializer_range));
}

}  // namespace tinymamba
