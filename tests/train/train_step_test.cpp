// TrainStep's gradient of an update with several micro-batches is their pairwise sum — the fixed order that lets
// the ranks of an mpirun job share it exactly (train_mpi_test.cpp) — checked here in one process, in every build:
// each micro-batch's gradient is computed on its own (lm_backward into a zeroed buffer) and added in the
// documented order, and TrainStep must give the same floats bit for bit.
#include <gtest/gtest.h>

#include <vector>

#include "small_models.hpp"
#include "tinymamba/core/rng.hpp"
#include "tinymamba/model/init.hpp"
#include "tinymamba/train/trainer.hpp"

namespace tinymamba::train {
namespace {

// Gradient of micro-batch a of `ids` (accum micro-batches of batch x len), scaled by 1/accum as TrainStep does.
std::vector<float> micro_gradient(const Model& m, const std::vector<std::int32_t>& ids, std::int64_t a,
                                  std::int64_t batch, std::int64_t len, std::int64_t accum) {
  std::vector<float> g(m.params.size(), 0.0f);
  const auto sub = std::span(ids).subspan(static_cast<std::size_t>(a * batch * len), static_cast<std::size_t>(batch * len));
  Activations acts;
  lm_forward(m, sub, batch, len, acts, {.for_backward = true});
  lm_backward(m, sub, acts, g.data(), kDefaultScan, 1.0f / static_cast<float>(accum));
  return g;
}

std::vector<float> add(const std::vector<float>& x, const std::vector<float>& y) {
  std::vector<float> z(x.size());
  for (std::size_t k = 0; k < x.size(); ++k) z[k] = x[k] + y[k];
  return z;
}

TEST(TrainStep, SumsTheMicroBatchGradientsPairwise) {
  const Model start =
      test::initialized_model(test::small_config({.d_model = 16, .n_layer = 2, .vocab_size = 256, .d_state = 4}), 7);
  const std::int64_t B = 2, L = 9;
  Rng rng(11);
  for (const std::int64_t accum : {2, 3, 4}) {
    std::vector<std::int32_t> ids(static_cast<std::size_t>(accum * B * L));
    for (auto& id : ids) id = static_cast<std::int32_t>(rng.below(256));
    std::vector<std::vector<float>> g;
    for (std::int64_t a = 0; a < accum; ++a) g.push_back(micro_gradient(start, ids, a, B, L, accum));
    // [0, n) = [0, n/2) + [n/2, n): 2 → g0 + g1; 3 → g0 + (g1 + g2); 4 → (g0 + g1) + (g2 + g3).
    const std::vector<float> want = accum == 2   ? add(g[0], g[1])
                                    : accum == 3 ? add(g[0], add(g[1], g[2]))
                                                 : add(add(g[0], g[1]), add(g[2], g[3]));
    Model m = start;
    AdamW opt(m.layout, static_cast<std::int64_t>(m.params.size()), {}, decay_flags(m.layout));
    TrainStep step(m, opt, /*clip=*/0.0);  // no clipping: grads() is the sum itself
    (void)step.run(ids, B, L, accum, 1e-3);
    std::int64_t differ = 0, first = -1;
    for (std::size_t k = 0; k < want.size(); ++k)
      if (step.grads()[k] != want[k] && differ++ == 0) first = static_cast<std::int64_t>(k);
    EXPECT_EQ(differ, 0) << "accum " << accum << ": " << differ << " gradient entries differ, first at " << first
                         << ": got " << step.grads()[static_cast<std::size_t>(first)] << ", want "
                         << want[static_cast<std::size_t>(first)];
  }
}

}  // namespace
}  // namespace tinymamba::train
