// Small Mamba-1 models for tests: a resolved config of the sizes a test names (the rest official defaults), and a
// model initialized from a config with the official init and a seed.
#pragma once

#include <cstdint>

#include "tinymamba/model/config.hpp"
#include "tinymamba/model/init.hpp"
#include "tinymamba/model/model.hpp"

namespace tinymamba::test {

struct SmallConfig {
  std::int64_t d_model, n_layer, vocab_size, d_state = 16;
  bool tie_embeddings = true;
};

inline Config small_config(const SmallConfig& s) {
  Config c;
  c.d_model = s.d_model;
  c.n_layer = s.n_layer;
  c.vocab_size = s.vocab_size;
  c.d_state = s.d_state;
  c.tie_embeddings = s.tie_embeddings;
  c.resolve("test config");
  return c;
}

inline Model initialized_model(const Config& c, std::uint64_t seed) {
  Model m(c);
  init_parameters(m, seed);
  return m;
}

}  // namespace tinymamba::test
