#include "tinymamba/model/init.hpp"

#include <algorithm>

#include "tinymamba/core/rng.hpp"

namespace tinymamba {

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
    }
  }
  std::fill_n(w.norm_f, d, 1.0f);
  if (!c.tie_embeddings)
    for (std::int64_t i = 0; i < V * d; ++i) w.lm_head[i] = static_cast<float>(rng.normal(0.0, c.initializer_range));
}

}  // namespace tinymamba
