// selective_scan: every scan algorithm (and, for one token, the decode step selective_scan_step) against the
// double oracle of ops/ref/selective_scan_oracle.hpp — the forward, and the backward against the oracle's
// analytic adjoint (finite differences over a 1000-step scan would be slow; the adjoint is itself checked
// against finite differences below). Rows: lengths around the blocked scans' chunk (64), widths around their
// 16-channel blocks, every combination of the optional inputs, deltas large enough that exp underflows,
// initial states, strided rows, a long sequence, and random cases.
//
// Tolerance, per tensor (the golden fidelity rule, with an a-priori floor):
//     max|alg − f64| ≤ max(3 · max|sequential − f64|,  32·u · max Σ|terms|),   u = 2⁻²⁴
//  - The sequential scan is the plain float32 evaluation of the formulas (libm exp, float32 state, the
//    official code's order), so its distance from f64 *on this very case* is the float32 rounding the case
//    provokes — above all the error a term gathers while the recurrence carries it over many steps (long
//    memory). Another algorithm computes the same math in float32 in another order, so 3× that leaves room for
//    the order and nothing else (a wrong term shows up at ≥ 1e-4 relative).
//  - But the sequential scan can be lucky: an element whose terms cancel (a 1-step scan with d_in = 1) may come
//    out almost exact in one summation order and not in another. The classic bound for a float32 expression
//    whose terms each pass through k roundings is k·u·Σ|terms| (Higham's γ_k, first order). Σ|terms| is what
//    the oracle computes in its magnitude mode; k ≤ 32 covers a term's path here: softplus and its bias add
//    (≤ 4 ulp), exp (≤ 2), the products δ·B·u and ·C, D·u and the gate (≤ 6), a sum over n of up to 16 terms
//    (≤ 16), logspace's extra divide and multiply (2). Measured over 2000 random cases every algorithm stays
//    below 8·u·Σ|terms| whenever that is the larger bound.
// The sequential scan itself is held to max(1e-5 · max|f64|, 32·u·max Σ|terms|): ../shared/golden/README.md's
// suggested check (7–40× the official float32 error), with the same floor. (And an absolute 1e-30 for values
// below float32's range, see kUnderflow.)
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <limits>
#include <random>
#include <sstream>

#include "fd.hpp"
#include "op_harness.hpp"
#include "tinymamba/core/error.hpp"
#include "tinymamba/core/parallel.hpp"
#include "tinymamba/core/vmath.hpp"
#include "tinymamba/ops/ref/reference_ops.hpp"
#include "tinymamba/ops/ref/selective_scan_oracle.hpp"
#include "tinymamba/ops/scan_step.hpp"
#include "tinymamba/ops/selective_scan.hpp"

namespace tinymamba::op_test {
namespace {

struct ScanShape {
  std::int64_t batch = 1, len = 17, d_inner = 8, d_state = 4;
  bool D = true, z = true, bias = true, softplus = true;
  bool initial_state = false;
  bool large_delta = false;  // δ up to 60, so δ·A reaches −960: exp underflows to 0
  bool strided = false;      // rows padded, B and C column slices of one (l, 2 + 2n) buffer like the model's x_proj
  bool a_log = false;        // A = −exp(A_log) of a float A_log, as the decode step takes it (the step variant)
};

// Below float32's range: exp flushes results under 2⁻¹²⁶ ≈ 1.2e-38 to 0 (vmath) or to a subnormal (libm), and
// such a term is multiplied by O(1 … 1e3) factors here, so a tensor whose exact values are all below this
// (dA after Δ·A = −900 has wiped the state) is 0 in float32 and that is right.
constexpr double kUnderflow = 1e-30;

// Float32 copies of a case's inputs in the op's layouts (optionally padded rows), its outputs and gradients.
struct FloatRun {
  std::int64_t ld_e, ld_bc;  // row strides of (·, E) tensors and of the B|C buffer
  std::int64_t off_B, off_C;
  std::vector<float> u, delta, A, BC, D, z, bias, h0, out, last;
  std::vector<float> du, ddelta, dA, dBC, dD, dz, dbias;
  ScanDims dims;
  bool softplus, has_D, has_z, has_bias;
  ScanSaved saved;

  FloatRun(const ScanShape& s, const ref::ScanProblem& p)
      : softplus(s.softplus), has_D(s.D), has_z(s.z), has_bias(s.bias) {
    const std::int64_t BL = s.batch * s.len, E = s.d_inner, N = s.d_state;
    dims = {s.batch, s.len, E, N};
    ld_e = s.strided ? E + 5 : E;
    off_B = s.strided ? 2 : 0;  // like x_proj's (Δ_low | B | C) with dt_rank 2
    off_C = off_B + N;
    ld_bc = s.strided ? 2 + 2 * N + 1 : 2 * N;
    to_rows(u, p.u, E, ld_e), to_rows(delta, p.delta, E, ld_e);  // garbage in the gaps: a kernel reading them shows
    to_rows(BC, p.B, N, ld_bc, off_B), to_rows(BC, p.C, N, ld_bc, off_C);
    if (s.z) to_rows(z, p.z, E, ld_e);
    A = to_float(p.A), D = to_float(p.D), bias = to_float(p.delta_bias), h0 = to_float(p.h0);
    out.assign(BL * ld_e, 0.0f), last.assign(s.batch * E * N, 0.0f);
    // Gradients are written, not accumulated: NaN where they go shows an element the backward does not write.
    const float nan = std::numeric_limits<float>::quiet_NaN();
    du.assign(BL * ld_e, nan), ddelta.assign(BL * ld_e, nan), dz.assign(s.z ? BL * ld_e : 0, nan);
    dA.assign(E * N, nan), dBC.assign(BL * ld_bc, nan), dD.assign(D.size(), nan), dbias.assign(bias.size(), nan);
  }
  // A column slice of the B|C buffer; none when the buffer is empty (l = 0: null + offset is undefined).
  template <class V>
  static auto at(V& v, std::int64_t off) {
    return v.empty() ? nullptr : v.data() + off;
  }
  ScanInputs inputs(const float* initial) const {
    return {.u = u.data(), .ld_u = ld_e, .delta = delta.data(), .ld_delta = ld_e, .A = A.data(),
            .B = at(BC, off_B), .ld_B = ld_bc, .C = at(BC, off_C), .ld_C = ld_bc,
            .D = D.empty() ? nullptr : D.data(), .z = z.empty() ? nullptr : z.data(), .ld_z = ld_e,
            .delta_bias = bias.empty() ? nullptr : bias.data(), .delta_softplus = softplus, .initial_state = initial};
  }
  void forward(ScanAlgorithm algo) {
    selective_scan_forward(algo, dims, inputs(h0.empty() ? nullptr : h0.data()), {out.data(), ld_e, last.data()},
                           &saved);
  }
  void backward(ScanAlgorithm algo, const std::vector<float>& dout_packed) {
    std::vector<float> dout;
    to_rows(dout, {dout_packed.begin(), dout_packed.end()}, dims.d_inner, ld_e);
    const ScanGrads g{.du = du.data(), .ld_du = ld_e, .ddelta = ddelta.data(), .ld_ddelta = ld_e, .dA = dA.data(),
                      .dB = at(dBC, off_B), .ld_dB = ld_bc, .dC = at(dBC, off_C), .ld_dC = ld_bc,
                      .dD = dD.empty() ? nullptr : dD.data(), .dz = dz.empty() ? nullptr : dz.data(),
                      .ld_dz = ld_e, .ddelta_bias = dbias.empty() ? nullptr : dbias.data()};
    selective_scan_backward(algo, dims, inputs(h0.empty() ? nullptr : h0.data()), dout.data(), ld_e, saved, g);
  }
  // The gradients, contiguous, in the order of the case's differentiable inputs.
  Floats gradients() const {
    const std::int64_t BL = dims.batch * dims.len, E = dims.d_inner, N = dims.d_state;
    Floats g = {from_rows(du, BL, E, ld_e), from_rows(ddelta, BL, E, ld_e), dA, from_rows(dBC, BL, N, ld_bc, off_B),
                from_rows(dBC, BL, N, ld_bc, off_C)};
    if (has_D) g.push_back(dD);
    if (has_z) g.push_back(from_rows(dz, BL, E, ld_e));
    if (has_bias) g.push_back(dbias);
    return g;
  }
};

class Scan : public OpCase {
 public:
  Scan(const ScanShape& s, std::uint32_t seed_) : s_(s) {
    seed = seed_;
    const std::int64_t BL = s.batch * s.len, E = s.d_inner, N = s.d_state;
    std::mt19937 rng(seed);
    std::normal_distribution<float> normal;
    std::uniform_real_distribution<float> unif(0.0f, 1.0f);
    auto randn = [&](std::int64_t n) {
      std::vector<double> v(static_cast<std::size_t>(n));
      for (double& x : v) x = normal(rng);
      return v;
    };
    std::vector<double> u = randn(BL * E), B = randn(BL * N), C = randn(BL * N), delta = randn(BL * E);
    // Without softplus δ = Δ + bias is used as is, so it is kept positive (a negative δ makes exp(δ·A) > 1 and
    // the state grows without bound — no model runs there).
    if (s.large_delta) {  // softplus(x) in (0.007, 60], crossing its threshold (20); without softplus (0, 60]
      for (double& x : delta) x = (s.softplus ? -5.0f : 0.0f) + (s.softplus ? 65.0f : 60.0f) * unif(rng);
    } else if (!s.softplus) {
      for (double& x : delta) x = 0.002f + 0.5f * unif(rng);
    }
    std::vector<double> A(E * N);
    a_log_.resize(A.size());
    for (std::size_t i = 0; i < A.size(); ++i) {  // |A| in [0.5, 16]
      A[i] = -std::exp(std::log(0.5f) + unif(rng) * std::log(32.0f));
      if (s.a_log) {  // the oracle's A is −exp of the float A_log exactly; the algorithms get it rounded
        a_log_[i] = std::log(static_cast<float>(-A[i]));
        A[i] = -std::exp(static_cast<double>(a_log_[i]));
      }
    }
    in = {{"u", u}, {"delta", delta}, {"A", A}, {"B", B}, {"C", C}};
    if (s.D) in.push_back({"D", randn(E)});
    if (s.z) in.push_back({"z", randn(BL * E)});
    if (s.bias) {  // softplus⁻¹ of [1e-3, 0.1], as Mamba's dt_proj.bias; without softplus [0, 0.1]
      std::vector<double> bias(E);
      for (double& b : bias) {
        const double dt = 0.001 + 0.099 * unif(rng);
        b = static_cast<float>(s.softplus ? std::log(std::expm1(dt)) : dt);
      }
      in.push_back({"delta_bias", bias});
    }
    if (s.initial_state) in.push_back({"h0", randn(s.batch * E * N), false});  // no gradient flows into it
  }
  std::string op() const override { return "selective_scan"; }
  std::string shape() const override {
    std::ostringstream o;
    o << "b=" << s_.batch << " l=" << s_.len << " d_in=" << s_.d_inner << " n=" << s_.d_state << (s_.D ? " D" : "")
      << (s_.z ? " z" : "") << (s_.bias ? " bias" : "") << (s_.softplus ? " softplus" : " no-softplus")
      << (s_.initial_state ? " h0" : "") << (s_.large_delta ? " large-delta" : "") << (s_.strided ? " strided" : "")
      << (s_.a_log ? " A_log" : "");
    return o.str();
  }
  // The algorithms, the reference (sequential) first; the decode step where the row fits it.
  std::vector<Variant> variants() const override {
    std::vector<Variant> v;
    const auto algos = all_scan_algorithms();
    for (std::size_t i = 0; i < algos.size(); ++i)
      v.push_back({.name = std::string(scan_algorithm_name(algos[i])), .id = static_cast<int>(i)});
    if (s_.len == 1 && s_.a_log && s_.D && s_.z && s_.bias && s_.softplus && s_.initial_state && !s_.strided)
      v.push_back({.name = "step", .id = -1, .backward = false});
    return v;
  }
  std::vector<std::string> outputs() const override { return {"out", "last_state"}; }
  std::size_t backward_outputs() const override { return 1; }  // the last state gets no gradient (official)
  Values reference() const override {
    const auto r = ref::scan_oracle_forward(problem());
    return {r.out, r.last_state};
  }
  Values terms() const override {
    const auto r = ref::scan_oracle_forward<true>(problem());
    return {r.out, r.last_state};
  }
  std::optional<ReferenceGradients> analytic_gradients(const Values& dout) const override {
    const ref::ScanProblem p = problem();
    ref::ScanOracleResult r, mag;
    ref::scan_oracle_backward(p, dout[0], r);
    std::vector<double> abs_dout(dout[0].size());
    for (std::size_t i = 0; i < abs_dout.size(); ++i) abs_dout[i] = std::fabs(dout[0][i]);
    ref::scan_oracle_backward<true>(p, abs_dout, mag);
    return ReferenceGradients{grads_of(r), grads_of(mag)};
  }

  Floats forward(const Variant& v) override {
    if (v.id < 0) return step();
    FloatRun run(s_, problem());
    run.forward(all_scan_algorithms()[v.id]);
    return {from_rows(run.out, s_.batch * s_.len, s_.d_inner, run.ld_e), run.last};
  }
  void backward(const Variant& v, const Floats& dout, Floats& grads) override {
    FloatRun run(s_, problem());
    run.forward(all_scan_algorithms()[v.id]);
    run.backward(all_scan_algorithms()[v.id], dout[0]);
    grads = run.gradients();
  }
  Tolerance tolerance(const std::string&, const Variant& v) const override {
    if (v.id == 0) return {.k = 32, .rel = 1e-5, .floor = kUnderflow};  // the sequential scan
    return {.k = 32, .witness = 3, .floor = kUnderflow};
  }

  ref::ScanProblem problem() const {
    ref::ScanProblem p{s_.batch, s_.len, s_.d_inner, s_.d_state, s_.softplus, {}, {}, {}, {}, {}, {}, {}, {}, {}};
    for (const Tensor& t : in) {
      if (t.name == "u") p.u = t.v;
      if (t.name == "delta") p.delta = t.v;
      if (t.name == "A") p.A = t.v;
      if (t.name == "B") p.B = t.v;
      if (t.name == "C") p.C = t.v;
      if (t.name == "D") p.D = t.v;
      if (t.name == "z") p.z = t.v;
      if (t.name == "delta_bias") p.delta_bias = t.v;
      if (t.name == "h0") p.h0 = t.v;
    }
    return p;
  }
  const ScanShape& scan_shape() const { return s_; }

 private:
  // The gradients of the differentiable inputs, in the order of `in`.
  Values grads_of(const ref::ScanOracleResult& r) const {
    Values g = {r.du, r.ddelta, r.dA, r.dB, r.dC};
    if (s_.D) g.push_back(r.dD);
    if (s_.z) g.push_back(r.dz);
    if (s_.bias) g.push_back(r.ddelta_bias);
    return g;
  }
  // The decode step, one sequence at a time, channels in two ranges as two threads run them.
  Floats step() const {
    const ref::ScanProblem p = problem();
    const std::int64_t E = s_.d_inner, N = s_.d_state;
    const std::vector<float> u = to_float(p.u), delta = to_float(p.delta), B = to_float(p.B), C = to_float(p.C),
                             z = to_float(p.z), D = to_float(p.D), bias = to_float(p.delta_bias);
    std::vector<float> h = to_float(p.h0), out(u.size()), A(a_log_.size());
    for (std::size_t i = 0; i < A.size(); ++i) A[i] = -vmath::exp(a_log_[i]);  // as the Mamba-1 step computes it
    for (std::int64_t b = 0; b < s_.batch; ++b) {
      const ScanStep st{.u = u.data() + b * E, .delta = delta.data() + b * E, .B = B.data() + b * N,
                        .C = C.data() + b * N, .z = z.data() + b * E, .A = A.data(), .D = D.data(),
                        .delta_bias = bias.data(), .h = h.data() + b * E * N, .out = out.data() + b * E,
                        .d_state = N};
      selective_scan_step(st, 0, E / 2);
      selective_scan_step(st, E / 2, E);
    }
    return {out, h};
  }

  ScanShape s_;
  std::vector<float> a_log_;
};

void check(const ScanShape& s, std::uint32_t seed) {
  Scan c(s, seed);
  run_case(c);
}

// Lengths around the chunk (64): 0 (an empty sequence: last_state = initial state), 1, < chunk, = chunk, not a
// multiple, several chunks.
TEST(OpHarness, ScanLengths) {
  std::uint32_t seed = 100;
  for (const std::int64_t len : {0, 1, 2, 17, 63, 64, 65, 81, 200, 300})
    check({.len = len, .initial_state = len < 2}, seed++);
}

// d_in around the block width (16 channels) and the AVX2 vector width (8); n = 1, 4, 16.
TEST(OpHarness, ScanWidths) {
  std::uint32_t seed = 200;
  for (const std::int64_t d : {1, 7, 8, 9, 15, 16, 17, 31, 32, 33})
    for (const std::int64_t n : {1, 4, 16}) check({.batch = 1, .len = 70, .d_inner = d, .d_state = n}, seed++);
}

TEST(OpHarness, ScanBatchAndOptionalInputs) {
  std::uint32_t seed = 300;
  for (const std::int64_t batch : {1, 3})
    for (int mask = 0; mask < 16; ++mask)
      check({.batch = batch, .len = 75, .d_inner = 9, .d_state = 4, .D = (mask & 1) != 0, .z = (mask & 2) != 0,
             .bias = (mask & 4) != 0, .softplus = (mask & 8) != 0},
            seed++);
  // Short sequences with every optional input on and off (what the sequential scan was first checked on).
  for (int mask = 0; mask < 16; ++mask)
    check({.batch = 2, .len = 5, .d_inner = 3, .d_state = 4, .D = (mask & 1) != 0, .z = (mask & 2) != 0,
           .bias = (mask & 4) != 0, .softplus = (mask & 8) != 0},
          seed++);
}

// Δ·A down to −960: exp underflows to 0 (the state forgets everything in one step), and softplus passes Δ
// through above its threshold (20).
TEST(OpHarness, ScanLargeDeltas) {
  std::uint32_t seed = 400;
  for (const std::int64_t len : {1, 33, 150})
    for (const bool softplus : {true, false})
      check({.batch = 2, .len = len, .d_inner = 17, .d_state = 16, .softplus = softplus, .large_delta = true}, seed++);
}

TEST(OpHarness, ScanInitialStateAndStrides) {
  std::uint32_t seed = 500;
  for (const std::int64_t len : {1, 40, 130})
    for (const bool strided : {false, true})
      check({.batch = 3, .len = len, .d_inner = 33, .d_state = 16, .initial_state = true, .strided = strided}, seed++);
}

// A longer case with the model's shapes (scaled down): long memory is where float32 rounding accumulates.
TEST(OpHarness, ScanLongSequence) { check({.batch = 1, .len = 1000, .d_inner = 24, .d_state = 16}, 600); }

// One token from a state: the decode step's rows (with the algorithms beside it, sequential as its witness).
// n = 16 and n = 5, 37 take its two paths (whole 16-lane pieces, and a remainder); d_in = 70 spans two of its
// 64-channel blocks.
TEST(OpHarness, ScanStep) {
  std::uint32_t seed = 700;
  for (const std::int64_t N : {16, 5, 37})
    check({.batch = 1, .len = 1, .d_inner = 70, .d_state = N, .initial_state = true, .a_log = true}, seed++);
  check({.batch = 2, .len = 1, .d_inner = 9, .d_state = 4, .initial_state = true, .a_log = true}, seed++);
}

// Many random shapes and options at once; the seed is printed on a failure. Set TINYMAMBA_SCAN_FUZZ=N to run N
// cases instead of 40.
TEST(OpHarness, ScanRandomCases) {
  const char* env = std::getenv("TINYMAMBA_SCAN_FUZZ");
  const int cases = env ? std::atoi(env) : 40;
  std::mt19937 rng(1234);
  for (int c = 0; c < cases; ++c) {
    auto pick = [&](std::initializer_list<std::int64_t> v) { return *(v.begin() + rng() % v.size()); };
    const ScanShape s{.batch = pick({1, 2, 3}), .len = pick({1, 5, 63, 64, 65, 129, 257}),
                      .d_inner = pick({1, 7, 8, 9, 16, 17, 33}), .d_state = pick({1, 2, 4, 16}), .D = rng() % 2 == 0,
                      .z = rng() % 2 == 0, .bias = rng() % 2 == 0, .softplus = rng() % 4 != 0,
                      .initial_state = rng() % 2 == 0, .large_delta = rng() % 4 == 0, .strided = rng() % 2 == 0};
    check(s, 10000u + static_cast<std::uint32_t>(c));
    if (HasFailure()) break;
  }
}

// ---- the oracle itself ----------------------------------------------------------------------------------------

TEST(ScanOracle, ForwardMatchesNaiveReference) {
  for (const bool opts : {false, true}) {
    const Scan c({.batch = 2, .len = 37, .d_inner = 5, .d_state = 3, .D = opts, .z = opts, .bias = opts}, 11);
    SCOPED_TRACE(c.shape());
    const ref::ScanProblem p = c.problem();
    const auto r = ref::selective_scan<double>(p.u, p.delta, p.A, p.B, p.C, p.D, p.z, p.delta_bias, true, p.batch,
                                               p.len, p.d_inner, p.d_state);
    const auto mine = ref::scan_oracle_forward(p);
    for (std::size_t i = 0; i < r.out.size(); ++i)
      ASSERT_NEAR(mine.out[i], r.out[i], 1e-12 * (1 + std::fabs(r.out[i]))) << i;
    for (std::size_t i = 0; i < r.last_state.size(); ++i)
      ASSERT_NEAR(mine.last_state[i], r.last_state[i], 1e-12) << i;
  }
}

// Central differences of Σ out·dout in double (tests/fd.hpp, h = 1e-4: truncation ~h⁴·|f⁽⁵⁾| ≈ 1e-16, rounding
// ~1e-12·|f|), so 1e-6 relative to the tensor's largest gradient is loose by four orders of magnitude yet catches
// any wrong term.
TEST(ScanOracle, BackwardMatchesFiniteDifferences) {
  for (const bool opts : {false, true})
    for (const bool softplus : {true, false}) {
      Scan c({.batch = 2, .len = 6, .d_inner = 3, .d_state = 2, .D = opts, .z = opts, .bias = opts,
              .softplus = softplus, .initial_state = opts},
             5u + opts * 2u + softplus);
      SCOPED_TRACE(c.shape());
      const std::vector<double> dout = Rng(c.seed).normal(2 * 6 * 3);
      const auto grads = c.analytic_gradients({dout, {}});
      std::size_t d = 0;
      for (Tensor& t : c.in) {
        if (!t.differentiable) continue;
        const std::vector<double>& grad = grads->want[d++];
        const auto fd = test::finite_differences(t.v, [&] {
          const auto out = ref::scan_oracle_forward(c.problem()).out;
          double s = 0;
          for (std::size_t i = 0; i < out.size(); ++i) s += out[i] * dout[i];
          return s;
        });
        double scale = 1e-300;
        for (double gv : grad) scale = std::max(scale, std::fabs(gv));
        for (std::size_t i = 0; i < fd.size(); ++i)
          EXPECT_NEAR(grad[i], fd[i], 1e-6 * std::max(1.0, scale)) << "d/d" << t.name << "[" << i << "]";
      }
    }
}

// ---- properties that are not accuracy rows ----------------------------------------------------------------------

// The model carries the state in place: last_state aliases initial_state. The forward must give what it gives
// with separate buffers, and for the blocked algorithms (which save the initial state with the chunk states)
// the backward too.
TEST(ScanAlgorithms, LastStateMayAliasInitialState) {
  const Scan c({.batch = 2, .len = 90, .d_inner = 19, .d_state = 16, .initial_state = true}, 700);
  SCOPED_TRACE(c.shape());
  const std::vector<float> dout = to_float(Rng(1).normal(2 * 90 * 19));
  for (const ScanAlgorithm algo : all_scan_algorithms()) {
    SCOPED_TRACE(std::string("scan=") + std::string(scan_algorithm_name(algo)));
    FloatRun sep(c.scan_shape(), c.problem()), alias(c.scan_shape(), c.problem());
    sep.forward(algo);
    sep.backward(algo, dout);
    selective_scan_forward(algo, alias.dims, alias.inputs(alias.h0.data()),
                           {alias.out.data(), alias.ld_e, alias.h0.data()}, &alias.saved);
    EXPECT_EQ(alias.out, sep.out);
    EXPECT_EQ(alias.h0, sep.last);
    if (algo == ScanAlgorithm::sequential) continue;  // its backward reads in.initial_state, now overwritten
    alias.backward(algo, dout);
    EXPECT_EQ(alias.gradients(), sep.gradients());
  }
}

// 1 and 2 threads give the same result: bitwise, except dB and dC, which sum per-thread partials (in double)
// over channels and may round differently once in ~1e8 elements: within one float32 ulp.
TEST(ScanAlgorithms, ThreadCountDoesNotChangeResults) {
  const int saved_threads = num_threads();
  const Scan c({.batch = 3, .len = 150, .d_inner = 72, .d_state = 16, .initial_state = true}, 800);
  const std::vector<float> dout = to_float(Rng(2).normal(3 * 150 * 72));
  for (const ScanAlgorithm algo : all_scan_algorithms()) {
    SCOPED_TRACE(c.shape() + " scan=" + std::string(scan_algorithm_name(algo)));
    FloatRun one(c.scan_shape(), c.problem()), two(c.scan_shape(), c.problem());
    set_num_threads(1);
    one.forward(algo);
    one.backward(algo, dout);
    set_num_threads(2);
    two.forward(algo);
    two.backward(algo, dout);
    EXPECT_EQ(one.out, two.out);
    EXPECT_EQ(one.last, two.last);
    EXPECT_EQ(one.du, two.du);
    EXPECT_EQ(one.ddelta, two.ddelta);
    EXPECT_EQ(one.dz, two.dz);
    EXPECT_EQ(one.dA, two.dA);
    EXPECT_EQ(one.dD, two.dD);
    EXPECT_EQ(one.dbias, two.dbias);
    for (std::size_t i = 0; i < one.dBC.size(); ++i)
      ASSERT_LE(std::fabs(one.dBC[i] - two.dBC[i]), std::fabs(one.dBC[i]) * 1.2e-7f) << "dB|dC at " << i;
  }
  set_num_threads(saved_threads);
}

// A backward whose saved states do not fit the scan is an error, not a wild read.
TEST(ScanAlgorithms, BackwardRejectsMismatchedSavedStates) {
  const Scan c({.batch = 1, .len = 100, .d_inner = 8, .d_state = 4}, 900);
  const std::vector<float> dout(100 * 8, 1.0f);
  for (const ScanAlgorithm algo : {ScanAlgorithm::chunked, ScanAlgorithm::logspace}) {
    FloatRun run(c.scan_shape(), c.problem());
    run.forward(algo);
    run.saved.states.pop_back();
    EXPECT_THROW(run.backward(algo, dout), Error) << scan_algorithm_name(algo);
  }
}

// Inference calls the forward without a ScanSaved: same outputs.
TEST(ScanAlgorithms, ForwardWithoutSavedGivesTheSameOutputs) {
  const Scan c({.batch = 2, .len = 77, .d_inner = 20, .d_state = 16, .initial_state = true}, 901);
  for (const ScanAlgorithm algo : all_scan_algorithms()) {
    FloatRun a(c.scan_shape(), c.problem()), b(c.scan_shape(), c.problem());
    a.forward(algo);
    selective_scan_forward(algo, b.dims, b.inputs(b.h0.data()), {b.out.data(), b.ld_e, b.last.data()}, nullptr);
    EXPECT_EQ(a.out, b.out) << scan_algorithm_name(algo);
    EXPECT_EQ(a.last, b.last) << scan_algorithm_name(algo);
  }
}

// The decode step sums 16 channels at once where a range has 16 left (n = 16) and one at a time otherwise: a
// channel's output and state are the same bits either way, so they cannot depend on how a step's channels are
// split over threads. Every channel alone against [0, E) in one call, E = 40 (two groups of 16 and 8 alone).
TEST(OpHarness, ScanStepChannelIsTheSameAloneOrInAGroup) {
  const std::int64_t E = 40, N = 16;
  std::mt19937 gen(77);
  const auto draw = [&](std::int64_t n, float lo, float hi) {
    std::uniform_real_distribution<float> dist(lo, hi);
    std::vector<float> v(static_cast<std::size_t>(n));
    for (auto& x : v) x = dist(gen);
    return v;
  };
  const std::vector<float> u = draw(E, -1, 1), delta = draw(E, -2, 1), B = draw(N, -1, 1), C = draw(N, -1, 1),
                           z = draw(E, -2, 2), A = draw(E * N, -3, -0.1f), D = draw(E, -1, 1),
                           bias = draw(E, -1, 1), h0 = draw(E * N, -1, 1);
  std::vector<float> h_together = h0, h_alone = h0, out_together(E), out_alone(E);
  const auto step = [&](std::vector<float>& h, std::vector<float>& out) {
    return ScanStep{.u = u.data(), .delta = delta.data(), .B = B.data(), .C = C.data(), .z = z.data(), .A = A.data(),
                    .D = D.data(), .delta_bias = bias.data(), .h = h.data(), .out = out.data(), .d_state = N};
  };
  selective_scan_step(step(h_together, out_together), 0, E);
  for (std::int64_t e = 0; e < E; ++e) selective_scan_step(step(h_alone, out_alone), e, e + 1);
  EXPECT_EQ(out_together, out_alone);
  EXPECT_EQ(h_together, h_alone);
}

}  // namespace
}  // namespace tinymamba::op_test
