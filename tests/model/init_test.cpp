// The official initialization, tested by its statistics (ranges, means, spreads), never by literal values.
#include "tinymamba/model/init.hpp"

#include <gtest/gtest.h>

#include <cmath>

namespace tinymamba {
namespace {

struct Stats {
  double min = INFINITY, max = -INFINITY, mean = 0, std = 0;
};
Stats stats(const float* p, std::int64_t n) {
  Stats s;
  double sum = 0, sq = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    s.min = std::min<double>(s.min, p[i]);
    s.max = std::max<double>(s.max, p[i]);
    sum += p[i];
    sq += static_cast<double>(p[i]) * p[i];
  }
  s.mean = sum / n;
  s.std = std::sqrt(sq / n - s.mean * s.mean);
  return s;
}

Config config130m_like() {  // wide enough for tight statistics, small enough for a unit test
  Config c;
  c.d_model = 256;
  c.n_layer = 4;
  c.vocab_size = 1000;
  c.resolve("test");
  return c;
}

TEST(Init, FollowsTheOfficialRecipe) {
  const Config c = config130m_like();
  Model m(c);
  init_parameters(m, 42);
  const Weights w = m.weights();
  const std::int64_t d = c.d_model, E = c.d_inner, N = c.d_state, K = c.d_conv, R = c.dt_rank, V = c.padded_vocab();
  // U(±b) has mean 0, std b/√3; with n samples the sample mean's std is b/√(3n): bounds of 6 such sigmas.
  auto expect_uniform = [](const char* what, const float* p, std::int64_t n, double b) {
    const Stats s = stats(p, n);
    EXPECT_GE(s.min, -b) << what;
    EXPECT_LE(s.max, b) << what;
    EXPECT_GT(s.max, 0.95 * b) << what;  // the range is used, not a narrower one
    EXPECT_NEAR(s.mean, 0.0, 6 * b / std::sqrt(3.0 * n)) << what;
    EXPECT_NEAR(s.std, b / std::sqrt(3.0), 0.03 * b) << what;
  };
  const Stats emb = stats(w.embedding, V * d);
  EXPECT_NEAR(emb.std, 0.02, 0.0005);
  EXPECT_NEAR(emb.mean, 0.0, 6 * 0.02 / std::sqrt(static_cast<double>(V * d)));
  for (const float* norm : w.norms) {
    EXPECT_EQ(stats(norm, d).min, 1.0);
    EXPECT_EQ(stats(norm, d).max, 1.0);
  }
  for (const mamba1::MixerWeightsT<float>& l : w.mamba1) {
    expect_uniform("in_proj", l.in_proj, 2 * E * d, 1 / std::sqrt(double(d)));
    expect_uniform("conv1d.weight", l.conv, E * K, 1 / std::sqrt(double(K)));
    expect_uniform("conv1d.bias (not zeroed)", l.conv_bias, E, 1 / std::sqrt(double(K)));
    expect_uniform("x_proj", l.x_proj, (R + 2 * N) * E, 1 / std::sqrt(double(E)));
    expect_uniform("dt_proj.weight", l.dt_proj, E * R, 1 / std::sqrt(double(R)));
    expect_uniform("out_proj (rescaled by 1/sqrt(n_layer))", l.out_proj, d * E,
                   1 / std::sqrt(double(E)) / std::sqrt(double(c.n_layer)));
    // softplus(dt_proj.bias) = dt, log-uniform in [dt_min, dt_max]: log dt uniform, mean at the midpoint.
    double log_sum = 0;
    for (std::int64_t e = 0; e < E; ++e) {
      const double dt = std::log1p(std::exp(static_cast<double>(l.dt_proj_bias[e])));
      EXPECT_GE(dt, c.dt_min * (1 - 1e-5));
      EXPECT_LE(dt, c.dt_max * (1 + 1e-5));
      log_sum += std::log(dt);
    }
    const double mid = 0.5 * (std::log(c.dt_min) + std::log(c.dt_max)), half = 0.5 * (std::log(c.dt_max) - std::log(c.dt_min));
    EXPECT_NEAR(log_sum / E, mid, 6 * half / std::sqrt(3.0 * E));
    for (std::int64_t e = 0; e < E; ++e)
      for (std::int64_t n = 0; n < N; ++n) EXPECT_FLOAT_EQ(l.A_log[e * N + n], std::log(float(n + 1)));
    EXPECT_EQ(stats(l.D, E).min, 1.0);
    EXPECT_EQ(stats(l.D, E).max, 1.0);
  }
  EXPECT_EQ(stats(w.norm_f, d).min, 1.0);
}

TEST(Init, BiasesZeroExceptDtAndConv) {
  Config c = config130m_like();
  c.bias = true;
  Model m(c);
  init_parameters(m, 1);
  for (const mamba1::MixerWeightsT<float>& l : m.weights().mamba1) {
    EXPECT_EQ(stats(l.in_proj_bias, 2 * c.d_inner).max, 0.0);
    EXPECT_EQ(stats(l.out_proj_bias, c.d_model).min, 0.0);
    EXPECT_GT(stats(l.dt_proj_bias, c.d_inner).max - stats(l.dt_proj_bias, c.d_inner).min, 1.0);
  }
}

TEST(Init, SeededAndConstantDtOption) {
  Config c = config130m_like();
  Model a(c), b(c), other(c);
  init_parameters(a, 7);
  init_parameters(b, 7);
  init_parameters(other, 8);
  EXPECT_EQ(a.params, b.params);
  EXPECT_NE(a.params, other.params);
  c.dt_init_random = false;
  Model k(c);
  init_parameters(k, 7);
  const Stats s = stats(k.weights().mamba1[0].dt_proj, c.d_inner * c.dt_rank);
  EXPECT_FLOAT_EQ(s.min, 1 / std::sqrt(float(c.dt_rank)));
  EXPECT_FLOAT_EQ(s.max, s.min);
}

}  // namespace
}  // namespace tinymamba
