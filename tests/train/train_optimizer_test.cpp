// AdamW and gradient clipping against a hand-written double-precision version of torch.optim.AdamW /
// clip_grad_norm_ on a tiny problem of three tensors (one decayed matrix, one undecayed vector, an "A_log").
#include "tinymamba/train/optimizer.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "small_models.hpp"
#include "tinymamba/core/error.hpp"
#include "tinymamba/core/rng.hpp"
#include "tinymamba/model/config.hpp"

namespace tinymamba::train {
namespace {

std::vector<ParamInfo> tiny_layout() {
  // offsets padded like parameter_layout (multiples of 16), with a hole between tensors
  return {{"w.weight", {3, 5}, 0, 15, true}, {"b.bias", {7}, 16, 7, false}, {"mixer.A_log", {2, 4}, 32, 8, false}};
}
constexpr std::int64_t kBufferSize = 48;

// torch.optim.AdamW, written from its documentation, in double.
struct AdamWDouble {
  std::vector<double> m, v;
  std::int64_t t = 0;
  void step(std::vector<double>& p, const std::vector<double>& g, const std::vector<ParamInfo>& layout,
            const std::vector<bool>& decay, double lr, const AdamWConfig& c) {
    if (m.empty()) m.assign(p.size(), 0), v.assign(p.size(), 0);
    ++t;
    for (std::size_t i = 0; i < layout.size(); ++i)
      for (std::int64_t k = layout[i].offset; k < layout[i].offset + layout[i].numel; ++k) {
        if (decay[i]) p[k] *= 1 - lr * c.weight_decay;
        m[k] = c.beta1 * m[k] + (1 - c.beta1) * g[k];
        v[k] = c.beta2 * v[k] + (1 - c.beta2) * g[k] * g[k];
        const double mhat = m[k] / (1 - std::pow(c.beta1, double(t)));
        const double vhat = v[k] / (1 - std::pow(c.beta2, double(t)));
        p[k] -= lr * mhat / (std::sqrt(vhat) + c.eps);
      }
  }
};

TEST(AdamW, MatchesADoubleVersionOfTorchAdamW) {
  const auto layout = tiny_layout();
  const std::vector<bool> decay = decay_flags(layout);
  ASSERT_EQ(decay, (std::vector<bool>{true, false, false}));
  const AdamWConfig cfg{.beta1 = 0.9, .beta2 = 0.95, .eps = 1e-8, .weight_decay = 0.1};
  AdamW opt(layout, kBufferSize, cfg, decay);
  AdamWDouble ref;
  const std::uint64_t seed = 1234;
  Rng rng(seed);
  std::vector<float> p(kBufferSize, 0.0f), g(kBufferSize, 0.0f);
  std::vector<double> pd(kBufferSize, 0.0), gd(kBufferSize, 0.0);
  for (const auto& info : layout)
    for (std::int64_t k = info.offset; k < info.offset + info.numel; ++k) pd[k] = p[k] = static_cast<float>(rng.normal());
  const std::int64_t steps = 30;
  for (std::int64_t s = 0; s < steps; ++s) {
    const double lr = 1e-2 * (1 + 0.1 * static_cast<double>(s % 3));  // a changing learning rate
    for (const auto& info : layout)
      for (std::int64_t k = info.offset; k < info.offset + info.numel; ++k) {
        // gradients well above ε (1e-8), so the update's ratio m̂/(√v̂+ε) is well conditioned
        const double x = rng.normal();
        gd[k] = g[k] = static_cast<float>((std::fabs(x) < 1e-2 ? 1e-2 : x) * 0.5);
      }
    opt.step(p.data(), g.data(), lr);
    ref.step(pd, gd, layout, decay, lr, cfg);
  }
  EXPECT_EQ(opt.steps(), steps);
  // float32 vs double: each update rounds a few times at |p| ~ 1 (ulp 1.2e-7) and computes the step to a few
  // ulps of lr; over 30 updates that is ~30 · 4 · 1.2e-7 ≈ 1.4e-5 at most — the bound leaves 2x.
  double worst = 0;
  for (std::int64_t k = 0; k < kBufferSize; ++k) worst = std::max(worst, std::fabs(p[k] - pd[k]));
  EXPECT_LE(worst, 3e-5) << "seed " << seed;
  for (std::int64_t k = 0; k < kBufferSize; ++k) {
    EXPECT_NEAR(opt.exp_avg()[k], ref.m[k], 1e-6 * (1 + std::fabs(ref.m[k]))) << k;
    EXPECT_NEAR(opt.exp_avg_sq()[k], ref.v[k], 1e-6 * (1 + std::fabs(ref.v[k]))) << k;
  }
  // The hole between tensors is never touched.
  EXPECT_EQ(p[25], 0.0f);
  EXPECT_EQ(opt.exp_avg()[25], 0.0f);
}

TEST(AdamW, FirstUpdateMovesEveryEntryByAboutLrAndDecaysOnlyItsGroup) {
  const auto layout = tiny_layout();
  AdamW opt(layout, kBufferSize, {.weight_decay = 0.5}, decay_flags(layout));
  std::vector<float> p(kBufferSize, 1.0f), g(kBufferSize, 0.0f);
  for (std::int64_t k = 0; k < kBufferSize; ++k) g[k] = (k % 2 ? 1e-3f : -2.0f);
  const double lr = 0.01;
  opt.step(p.data(), g.data(), lr);
  // Bias correction: m̂ = g, v̂ = g², so the step is lr · g / (|g| + ε) ≈ lr · sign(g), whatever |g| is.
  for (const auto& info : layout)
    for (std::int64_t k = info.offset; k < info.offset + info.numel; ++k) {
      const double decayed = info.weight_decay ? 1.0 * (1 - lr * 0.5) : 1.0;
      const double sign = g[k] > 0 ? 1.0 : -1.0;
      EXPECT_NEAR(p[k], decayed - lr * sign, 1e-6) << info.name << " [" << k - info.offset << "]";
    }
}

TEST(AdamW, ZeroGradientsLeaveUndecayedTensorsExactlyAlone) {
  const auto layout = tiny_layout();
  AdamW opt(layout, kBufferSize, {.weight_decay = 0.1}, decay_flags(layout));
  std::vector<float> p(kBufferSize, 2.0f), g(kBufferSize, 0.0f);
  for (int s = 0; s < 5; ++s) opt.step(p.data(), g.data(), 0.1);
  EXPECT_EQ(p[layout[1].offset], 2.0f);  // bias: no decay
  EXPECT_EQ(p[layout[2].offset], 2.0f);  // A_log: no decay
  EXPECT_NEAR(p[layout[0].offset], 2.0 * std::pow(1 - 0.1 * 0.1, 5), 1e-6);  // matrix: decayed 5 times
}

TEST(AdamW, NoDecayNamesAreConfigurable) {
  const auto layout = tiny_layout();
  const std::vector<std::string> none = {"w."};
  EXPECT_EQ(decay_flags(layout, none), (std::vector<bool>{false, false, false}));
}

TEST(AdamW, OfficialGroupsOnAMambaLayout) {
  const auto layout = parameter_layout(test::small_config({.d_model = 16, .n_layer = 1, .vocab_size = 32}));
  const auto flags = decay_flags(layout);
  for (std::size_t i = 0; i < layout.size(); ++i) {
    const auto& n = layout[i].name;
    const bool want = n.find("A_log") == std::string::npos && layout[i].shape.size() >= 2;
    EXPECT_EQ(flags[i], want) << n;
  }
}

// The one AdamW check: the library names the field (not a command-line flag); TrainSettings names the flag
// (train_schedule_test).
TEST(AdamW, RefusesUnusableHyperParametersNamingTheField) {
  const std::vector<ParamInfo> layout = {{"w", {4}, 0, 4, true}};
  auto message = [&](const AdamWConfig& c) {
    try {
      AdamW opt(layout, 16, c, {true});
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(message({.beta1 = 1}), "AdamW: beta1 = 1 must be in [0, 1)");
  EXPECT_EQ(message({.beta2 = NAN}), "AdamW: beta2 = nan must be in [0, 1)");
  EXPECT_EQ(message({.eps = 0}), "AdamW: eps = 0 must be a positive number");
  EXPECT_EQ(message({.weight_decay = -0.5}), "AdamW: weight_decay = -0.5 must be a non-negative number");
  EXPECT_EQ(message({}), "no error");
}

TEST(ClipGradNorm, NormIsTheGlobalL2AndClippingScalesToMaxNorm) {
  const auto layout = tiny_layout();
  std::vector<float> g(kBufferSize, 0.0f);
  double sum = 0;
  for (const auto& info : layout)
    for (std::int64_t k = info.offset; k < info.offset + info.numel; ++k) {
      g[k] = static_cast<float>(0.1 * (k % 5) - 0.2);
      sum += double(g[k]) * g[k];
    }
  g[25] = 100.0f;  // padding between tensors is not a gradient
  const double want = std::sqrt(sum);
  EXPECT_NEAR(global_grad_norm(layout, g.data()), want, 1e-6 * want);

  auto below = g;
  EXPECT_NEAR(clip_grad_norm(layout, below.data(), 2 * want), want, 1e-6 * want);
  EXPECT_EQ(below, g);  // norm below max_norm: untouched, bit for bit

  auto off = g;
  clip_grad_norm(layout, off.data(), 0.0);  // 0 = clipping off
  EXPECT_EQ(off, g);

  auto clipped = g;
  const double max_norm = want / 4;
  EXPECT_NEAR(clip_grad_norm(layout, clipped.data(), max_norm), want, 1e-6 * want);  // returns the norm before
  // torch: scale by max_norm / (norm + 1e-6), so the new norm is just under max_norm
  EXPECT_NEAR(global_grad_norm(layout, clipped.data()), max_norm * want / (want + 1e-6), 1e-6 * max_norm);
  EXPECT_LE(global_grad_norm(layout, clipped.data()), max_norm * (1 + 1e-6));
  EXPECT_EQ(clipped[25], 100.0f);
}

}  // namespace
}  // namespace tinymamba::train
