// Every op's forward against its naive double reference (ops/ref/reference_ops.hpp), and its backward against
// central finite differences of that reference, on small shapes including sizes around the SIMD width.
//
// Tolerances: the kernels compute in float32, so their results carry relative rounding errors of a few 1e-7
// (ε = 1.2e-7 per operation, a few accumulated); the finite differences in double are exact to ~1e-9. A bound of
// 2e-5 of the tensor's largest magnitude is ~100x the expected float32 error and ~1e4x below what a wrong formula
// (a missing term, a transposed index) produces.
#include <gtest/gtest.h>

#include <cmath>

#include "fd.hpp"
#include "tinymamba/core/error.hpp"
#include "tinymamba/ops/causal_conv1d.hpp"
#include "tinymamba/ops/cross_entropy.hpp"
#include "tinymamba/ops/embedding.hpp"
#include "tinymamba/ops/linear.hpp"
#include "tinymamba/ops/ref/reference_ops.hpp"
#include "tinymamba/ops/rmsnorm.hpp"
#include "tinymamba/ops/selective_scan.hpp"
#include "tinymamba/ops/silu.hpp"

namespace tinymamba {
namespace {

using test::finite_differences;
using test::max_rel_error;
using test::random_vector;
constexpr double kTol = 2e-5;

std::vector<double> to_double(const std::vector<float>& v) { return {v.begin(), v.end()}; }
std::vector<float> to_float(const std::vector<double>& v) { return {v.begin(), v.end()}; }
double dot(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (std::size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

class OpsBySize : public ::testing::TestWithParam<int> {};
INSTANTIATE_TEST_SUITE_P(SimdWidths, OpsBySize, ::testing::Values(1, 7, 8, 9, 31, 32, 33));

TEST_P(OpsBySize, RMSNormForwardAndBackward) {
  const std::int64_t d = GetParam(), T = 3;
  auto x = random_vector<double>(T * d, 1, -2, 2), w = random_vector<double>(d, 2, 0.5, 1.5), g = random_vector<double>(T * d, 3);
  const auto xf = to_float(x), wf = to_float(w), gf = to_float(g);
  std::vector<float> y(T * d), rstd(T), dx(T * d), dw(d, 0.0f);
  rmsnorm_forward(y.data(), rstd.data(), xf.data(), wf.data(), T, d, 1e-5f);
  EXPECT_LE(max_rel_error(y, ref::rmsnorm(to_double(xf), to_double(wf), d, 1e-5)), kTol);
  rmsnorm_backward(dx.data(), dw.data(), gf.data(), xf.data(), wf.data(), rstd.data(), T, d);
  x = to_double(xf), w = to_double(wf);
  auto loss = [&] { return dot(ref::rmsnorm(x, w, d, 1e-5), to_double(gf)); };
  // dx = r·(g·w − n·mean(g·w·n)) cancels almost completely when d = 1 (n² = x²/(x² + eps) ≈ 1), so its float32
  // error is relative to the size of the terms, |g·w·r|, not to the tiny result.
  const auto fd = finite_differences(x, loss);
  double err = 0, terms = 0;
  for (std::int64_t i = 0; i < T * d; ++i) {
    err = std::max(err, std::fabs(dx[i] - fd[i]));
    terms = std::max(terms, static_cast<double>(std::fabs(gf[i] * wf[i % d] * rstd[i / d])));
  }
  EXPECT_LE(err, kTol * terms) << "d = " << d;
  EXPECT_LE(max_rel_error(dw, finite_differences(w, loss)), kTol) << "d = " << d;
}

TEST_P(OpsBySize, LinearForwardAndBackwardWithStridedRows) {
  const std::int64_t in = GetParam(), out = 5, T = 4, ldx = in + 3;  // x rows padded: a strided view
  for (bool with_bias : {false, true}) {
    auto x = to_double(to_float(random_vector<double>(T * in, 4))), W = to_double(to_float(random_vector<double>(out * in, 5)));
    auto b = with_bias ? to_double(to_float(random_vector<double>(out, 6))) : std::vector<double>{};
    const auto g = to_double(to_float(random_vector<double>(T * out, 7)));
    std::vector<float> xs(T * ldx, 99.0f);
    for (std::int64_t t = 0; t < T; ++t)
      for (std::int64_t i = 0; i < in; ++i) xs[t * ldx + i] = static_cast<float>(x[t * in + i]);
    const auto Wf = to_float(W), bf = to_float(b), gf = to_float(g);
    std::vector<float> y(T * out), dx(T * ldx, 0.0f), dW(out * in, 0.0f), db(out, 0.0f);
    linear_forward({y.data(), out}, {xs.data(), ldx}, WeightMatrix::f32(Wf.data(), out, in), with_bias ? bf.data() : nullptr, T);
    EXPECT_LE(max_rel_error(y, ref::linear(x, W, b, in, out)), kTol);
    linear_backward({dx.data(), ldx}, dW.data(), with_bias ? db.data() : nullptr, {gf.data(), out}, {xs.data(), ldx},
                    WeightMatrix::f32(Wf.data(), out, in), T);
    auto loss = [&] { return dot(ref::linear(x, W, b, in, out), g); };
    std::vector<float> dx_packed(T * in);
    for (std::int64_t t = 0; t < T; ++t)
      for (std::int64_t i = 0; i < in; ++i) dx_packed[t * in + i] = dx[t * ldx + i];
    EXPECT_LE(max_rel_error(dx_packed, finite_differences(x, loss)), kTol);
    EXPECT_LE(max_rel_error(dW, finite_differences(W, loss)), kTol);
    if (with_bias) { EXPECT_LE(max_rel_error(db, finite_differences(b, loss)), kTol); }
  }
}

TEST_P(OpsBySize, CausalConv1dForwardAndBackward) {
  const std::int64_t C = GetParam(), batch = 2, len = 6;
  for (std::int64_t K : {1, 3, 4}) {
    for (bool with_bias : {false, true}) {
      auto x = to_double(to_float(random_vector<double>(batch * len * C, 8))), w = to_double(to_float(random_vector<double>(C * K, 9)));
      auto b = with_bias ? to_double(to_float(random_vector<double>(C, 10))) : std::vector<double>{};
      const auto g = to_double(to_float(random_vector<double>(batch * len * C, 11)));
      const auto xf = to_float(x), wf = to_float(w), bf = to_float(b), gf = to_float(g);
      const Conv1dShape s{batch, len, C, K};
      std::vector<float> y(batch * len * C), dx(batch * len * C), dw(C * K, 0.0f), db(C, 0.0f);
      causal_conv1d_forward(y.data(), xf.data(), C, wf.data(), with_bias ? bf.data() : nullptr, nullptr, s);
      EXPECT_LE(max_rel_error(y, ref::causal_conv1d(x, w, b, batch, len, C, K)), kTol) << "K = " << K;
      causal_conv1d_backward(dx.data(), C, dw.data(), with_bias ? db.data() : nullptr, gf.data(), xf.data(), C,
                             wf.data(), nullptr, s);
      auto loss = [&] { return dot(ref::causal_conv1d(x, w, b, batch, len, C, K), g); };
      EXPECT_LE(max_rel_error(dx, finite_differences(x, loss)), kTol) << "K = " << K;
      EXPECT_LE(max_rel_error(dw, finite_differences(w, loss)), kTol) << "K = " << K;
      if (with_bias) { EXPECT_LE(max_rel_error(db, finite_differences(b, loss)), kTol); }
    }
  }
}

// Conv with a carried state equals the conv over [history, x] with the history's outputs dropped.
TEST(Ops, CausalConv1dStateContinuesTheSequence) {
  const std::int64_t C = 5, K = 4, len = 7, split = 3;
  const auto x = random_vector<float>(len * C, 12), w = random_vector<float>(C * K, 13), b = random_vector<float>(C, 14);
  std::vector<float> full(len * C), part(len * C), state(C * K, 0.0f), next(C * K);
  causal_conv1d_forward(full.data(), x.data(), C, w.data(), b.data(), nullptr, {1, len, C, K});
  causal_conv1d_forward(part.data(), x.data(), C, w.data(), b.data(), state.data(), {1, split, C, K});
  causal_conv1d_final_state(next.data(), x.data(), C, state.data(), {1, split, C, K});
  causal_conv1d_forward(part.data() + split * C, x.data() + split * C, C, w.data(), b.data(), next.data(),
                        {1, len - split, C, K});
  for (std::size_t i = 0; i < full.size(); ++i) EXPECT_NEAR(part[i], full[i], 1e-6) << i;
  // The state is the last K inputs, oldest first, zero-padded before t = 0.
  for (std::int64_t c = 0; c < C; ++c) {
    EXPECT_EQ(next[c * K + 0], 0.0f);
    for (std::int64_t k = 1; k < K; ++k) EXPECT_EQ(next[c * K + k], x[(k - 1) * C + c]);
  }
}

// The decode step's conv over one token, in two channel ranges as two threads would run it, equals the
// sequence conv continuing from the same state, and leaves the state causal_conv1d_final_state computes. Both
// are the same K products in the same order: bitwise equal.
TEST(Ops, CausalConv1dStepEqualsTheForwardOverOneToken) {
  const std::int64_t C = 9, K = 4;
  const auto x = random_vector<float>(C, 15), w = random_vector<float>(C * K, 16), b = random_vector<float>(C, 17);
  const auto state0 = random_vector<float>(C * K, 18);
  std::vector<float> want(C), want_state(C * K), got(C), state = state0;
  causal_conv1d_forward(want.data(), x.data(), C, w.data(), b.data(), state0.data(), {1, 1, C, K});
  causal_conv1d_final_state(want_state.data(), x.data(), C, state0.data(), {1, 1, C, K});
  causal_conv1d_step(got.data(), state.data(), x.data(), w.data(), b.data(), K, 0, 4);
  causal_conv1d_step(got.data(), state.data(), x.data(), w.data(), b.data(), K, 4, C);
  EXPECT_EQ(got, want);
  EXPECT_EQ(state, want_state);
}

TEST_P(OpsBySize, SiluForwardAndBackward) {
  const std::int64_t n = GetParam() * 3;
  auto x = to_double(to_float(random_vector<double>(n, 15, -8, 8)));
  const auto g = to_double(to_float(random_vector<double>(n, 16)));
  const auto xf = to_float(x), gf = to_float(g);
  std::vector<float> y(n), dx(n);
  silu_forward(y.data(), xf.data(), n);
  std::vector<double> want(n);
  for (std::int64_t i = 0; i < n; ++i) want[i] = ref::silu(x[i]);
  EXPECT_LE(max_rel_error(y, want), kTol);
  silu_backward(dx.data(), gf.data(), xf.data(), n);
  auto loss = [&] {
    double s = 0;
    for (std::int64_t i = 0; i < n; ++i) s += ref::silu(x[i]) * g[i];
    return s;
  };
  EXPECT_LE(max_rel_error(dx, finite_differences(x, loss)), kTol);
}

TEST(Ops, EmbeddingForwardAndBackwardAccumulate) {
  const std::int64_t V = 6, d = 9;
  const auto table = random_vector<float>(V * d, 17);
  const std::vector<std::int32_t> ids = {3, 0, 3, 5};
  std::vector<float> out(ids.size() * d);
  embedding_forward(out.data(), ids.data(), table.data(), static_cast<std::int64_t>(ids.size()), d);
  const auto want = ref::embedding(to_double(table), ids, d);
  for (std::size_t i = 0; i < out.size(); ++i) EXPECT_EQ(out[i], want[i]);
  std::vector<float> g(out.size(), 1.0f), dtable(V * d, 0.5f);
  embedding_backward(dtable.data(), g.data(), ids.data(), static_cast<std::int64_t>(ids.size()), d);
  EXPECT_EQ(dtable[3 * d], 2.5f);  // two uses of row 3 added to what was there
  EXPECT_EQ(dtable[0], 1.5f);
  EXPECT_EQ(dtable[1 * d], 0.5f);
}

TEST_P(OpsBySize, CrossEntropyForwardAndBackward) {
  const std::int64_t V = GetParam() + 1, T = 4;
  auto logits = to_double(to_float(random_vector<double>(T * V, 18, -5, 5)));
  std::vector<std::int32_t> targets = {0, static_cast<std::int32_t>(V - 1), -1, static_cast<std::int32_t>(V / 2)};
  const auto lf = to_float(logits);
  const double loss = cross_entropy_forward(lf.data(), targets.data(), T, V);
  EXPECT_NEAR(loss, ref::cross_entropy(logits, targets, V), 1e-6 * std::max(1.0, loss));
  std::vector<float> d(T * V);
  cross_entropy_backward(d.data(), lf.data(), targets.data(), T, V);
  auto f = [&] { return ref::cross_entropy(logits, targets, V); };
  EXPECT_LE(max_rel_error(d, finite_differences(logits, f)), kTol);
  // In place (dlogits over the logits) gives the same.
  auto inplace = lf;
  cross_entropy_backward(inplace.data(), inplace.data(), targets.data(), T, V);
  for (std::size_t i = 0; i < d.size(); ++i) EXPECT_EQ(inplace[i], d[i]);
}

TEST(Ops, CrossEntropyRejectsTargetsOutsideTheVocabulary) {
  const std::vector<float> logits(8, 0.0f);
  const std::vector<std::int32_t> targets = {1, 4};
  EXPECT_THROW((void)cross_entropy_forward(logits.data(), targets.data(), 2, 4), Error);
}

// The sequential scan (the reference algorithm) against ref::selective_scan, and its backward against
// finite differences of the reference, with every optional input on and off.
struct ScanCase {
  bool D, z, bias, softplus;
};
class SequentialScan : public ::testing::TestWithParam<ScanCase> {};
INSTANTIATE_TEST_SUITE_P(Options, SequentialScan,
                         ::testing::Values(ScanCase{true, true, true, true}, ScanCase{false, false, false, false},
                                           ScanCase{true, false, true, true}, ScanCase{false, true, false, true},
                                           ScanCase{true, true, true, false}));

TEST_P(SequentialScan, ForwardAndBackwardMatchTheReference) {
  const ScanCase o = GetParam();
  const std::int64_t Bn = 2, L = 5, E = 3, N = 4;
  auto rd = [](std::size_t n, unsigned seed, double lo = -1, double hi = 1) {
    return to_double(to_float(random_vector<double>(n, seed, lo, hi)));
  };
  auto u = rd(Bn * L * E, 20), delta = rd(Bn * L * E, 21, o.softplus ? -2.0 : 0.05, o.softplus ? 1.0 : 0.8);
  auto A = rd(E * N, 22, -3, -0.2), B = rd(Bn * L * N, 23), C = rd(Bn * L * N, 24);
  auto D = o.D ? rd(E, 25) : std::vector<double>{}, z = o.z ? rd(Bn * L * E, 26) : std::vector<double>{};
  auto bias = o.bias ? rd(E, 27, -1, 0.5) : std::vector<double>{};
  const auto g = rd(Bn * L * E, 28);
  const auto uf = to_float(u), df = to_float(delta), Af = to_float(A), Bf = to_float(B), Cf = to_float(C), Df = to_float(D),
             zf = to_float(z), bf = to_float(bias), gf = to_float(g);
  const ScanInputs in{.u = uf.data(), .ld_u = E, .delta = df.data(), .ld_delta = E, .A = Af.data(), .B = Bf.data(),
                      .ld_B = N, .C = Cf.data(), .ld_C = N, .D = o.D ? Df.data() : nullptr,
                      .z = o.z ? zf.data() : nullptr, .ld_z = E, .delta_bias = o.bias ? bf.data() : nullptr,
                      .delta_softplus = o.softplus};
  std::vector<float> out(Bn * L * E), last(Bn * E * N);
  ScanSaved saved;
  selective_scan_forward(ScanAlgorithm::sequential, {Bn, L, E, N}, in, {out.data(), E, last.data()}, &saved);
  auto run_ref = [&] { return ref::selective_scan(u, delta, A, B, C, D, z, bias, o.softplus, Bn, L, E, N); };
  const auto want = run_ref();
  EXPECT_LE(max_rel_error(out, want.out), kTol);
  EXPECT_LE(max_rel_error(last, want.last_state), kTol);

  std::vector<float> du(u.size()), dd(u.size()), dA(A.size()), dB(B.size()), dC(C.size()), dD(E), dz(u.size()), dbias(E);
  const ScanGrads grads{.du = du.data(), .ld_du = E, .ddelta = dd.data(), .ld_ddelta = E, .dA = dA.data(),
                        .dB = dB.data(), .ld_dB = N, .dC = dC.data(), .ld_dC = N, .dD = o.D ? dD.data() : nullptr,
                        .dz = o.z ? dz.data() : nullptr, .ld_dz = E, .ddelta_bias = o.bias ? dbias.data() : nullptr};
  selective_scan_backward(ScanAlgorithm::sequential, {Bn, L, E, N}, in, gf.data(), E, saved, grads);
  auto loss = [&] { return dot(run_ref().out, g); };
  EXPECT_LE(max_rel_error(du, finite_differences(u, loss)), kTol);
  EXPECT_LE(max_rel_error(dd, finite_differences(delta, loss)), kTol);
  EXPECT_LE(max_rel_error(dA, finite_differences(A, loss)), kTol);
  EXPECT_LE(max_rel_error(dB, finite_differences(B, loss)), kTol);
  EXPECT_LE(max_rel_error(dC, finite_differences(C, loss)), kTol);
  if (o.D) { EXPECT_LE(max_rel_error(dD, finite_differences(D, loss)), kTol); }
  if (o.z) { EXPECT_LE(max_rel_error(dz, finite_differences(z, loss)), kTol); }
  if (o.bias) { EXPECT_LE(max_rel_error(dbias, finite_differences(bias, loss)), kTol); }
}

}  // namespace
}  // namespace tinymamba
