// Every scan algorithm against a double-precision oracle, over many shapes and options.
//
// The oracle (below) is the paper's recurrence in double with an initial state, plus its analytic adjoint.
// It is checked twice: its forward against ref::selective_scan<double> (the project's naive reference), and its
// backward against central finite differences of its forward. Then each float32 algorithm is compared with it.
//
// Tolerance, per tensor (the golden fidelity rule, with an a-priori floor):
//     max|alg − f64| ≤ max(3 · max|sequential − f64|,  32·ε · max Σ|terms|),   ε = 2⁻²⁴
//  - The sequential scan is the plain float32 evaluation of the formulas (libm exp, float32 state, the
//    official code's order), so its distance from f64 *on this very case* is the float32 rounding the case
//    provokes — above all the error a term gathers while the recurrence carries it over many steps (long
//    memory). Another algorithm computes the same math in float32 in another order, so 3× that leaves room for
//    the order and nothing else (a wrong term shows up at ≥ 1e-4 relative).
//  - But the sequential scan can be lucky: an element whose terms cancel (a 1-step scan with d_in = 1) may come
//    out almost exact in one summation order and not in another. The classic bound for a float32 expression
//    whose terms each pass through k roundings is k·ε·Σ|terms| (Higham's γ_k, first order). Σ|terms| is what
//    the oracle computes in its magnitude mode (oracle_forward<true>); k ≤ 32 covers a term's path here:
//    softplus and its bias add (≤ 4 ulp), exp (≤ 2), the products δ·B·u and ·C, D·u and the gate (≤ 6), a sum
//    over n of up to 16 terms (≤ 16), logspace's extra divide and multiply (2). Measured over 2000 random cases
//    every algorithm stays below 8·ε·Σ|terms| whenever that is the larger bound.
// The sequential scan itself is held to max(1e-5 · max|f64|, 32·ε·max Σ|terms|): ../shared/golden/README.md's
// suggested check (7–40× the official float32 error), with the same floor. (And an absolute 1e-30 for values
// below float32's range, see kUnderflow.)
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "tinymamba/core/error.hpp"
#include "tinymamba/core/parallel.hpp"
#include "tinymamba/ops/ref/reference_ops.hpp"
#include "tinymamba/ops/scan_algorithms.hpp"
#include "tinymamba/ops/scan_step.hpp"
#include "tinymamba/ops/selective_scan.hpp"

namespace tinymamba {
namespace {

using Vec = std::vector<double>;

// ---- the problem ----------------------------------------------------------------------------------------------

struct Options {
  std::int64_t batch = 1, len = 17, d_inner = 8, d_state = 4;
  bool D = true, z = true, bias = true, softplus = true;
  bool initial_state = false;
  bool large_delta = false;  // δ up to 60, so δ·A reaches −960: exp underflows to 0
  bool strided = false;      // rows padded, B and C column slices of one (l, 2 + 2n) buffer like the model's x_proj
  std::uint32_t seed = 0;
};

std::string describe(const Options& o) {
  std::ostringstream s;
  s << "seed " << o.seed << ": b=" << o.batch << " l=" << o.len << " d_in=" << o.d_inner << " n=" << o.d_state
    << (o.D ? " D" : "") << (o.z ? " z" : "") << (o.bias ? " bias" : "") << (o.softplus ? " softplus" : " no-softplus")
    << (o.initial_state ? " h0" : "") << (o.large_delta ? " large-delta" : "") << (o.strided ? " strided" : "");
  return s.str();
}

// Inputs in double, contiguous (b, l, E) / (b, l, N) / (E, N) / (E) / (b, E, N); every value is a float.
struct Problem {
  Options o;
  Vec u, delta, A, B, C, D, z, bias, h0, dout;
  explicit Problem(const Options& opt) : o(opt) {
    const auto BL = static_cast<std::size_t>(o.batch * o.len), E = static_cast<std::size_t>(o.d_inner),
               N = static_cast<std::size_t>(o.d_state);
    std::mt19937 rng(o.seed);
    std::normal_distribution<float> normal;
    std::uniform_real_distribution<float> unif(0.0f, 1.0f);
    auto randn = [&](std::size_t n) {
      Vec v(n);
      for (double& x : v) x = normal(rng);
      return v;
    };
    u = randn(BL * E), B = randn(BL * N), C = randn(BL * N), dout = randn(BL * E);
    delta = randn(BL * E);
    // Without softplus δ = Δ + bias is used as is, so it is kept positive (a negative δ makes exp(δ·A) > 1 and
    // the state grows without bound — no model runs there).
    if (o.large_delta) {  // softplus(x) in (0.007, 60], crossing its threshold (20); without softplus (0, 60]
      for (double& x : delta) x = (o.softplus ? -5.0f : 0.0f) + (o.softplus ? 65.0f : 60.0f) * unif(rng);
    } else if (!o.softplus) {
      for (double& x : delta) x = 0.002f + 0.5f * unif(rng);
    }
    A.resize(E * N);
    for (double& a : A) a = -std::exp(std::log(0.5f) + unif(rng) * std::log(32.0f));  // |A| in [0.5, 16]
    if (o.D) D = randn(E);
    if (o.z) z = randn(BL * E);
    if (o.bias) {
      bias.resize(E);  // softplus⁻¹ of [1e-3, 0.1], as Mamba's dt_proj.bias; without softplus [0, 0.1]
      for (double& b : bias) {
        const double dt = 0.001 + 0.099 * unif(rng);
        b = static_cast<float>(o.softplus ? std::log(std::expm1(dt)) : dt);
      }
    }
    if (o.initial_state) h0 = randn(static_cast<std::size_t>(o.batch) * E * N);
  }
};

// ---- the double oracle ----------------------------------------------------------------------------------------

double softplus(double x) { return x > 20.0 ? x : std::log1p(std::exp(x)); }
double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

struct Result {  // forward outputs and gradients, same layouts as Problem
  Vec out, last, du, ddelta, dA, dB, dC, dD, dz, dbias;
};

double step_size(const Problem& p, std::size_t i, std::int64_t e) {
  const double raw = p.delta[i] + (p.o.bias ? p.bias[e] : 0.0);
  return p.o.softplus ? softplus(raw) : raw;
}

// With Mag, every term is replaced by its magnitude before it is summed: the result is then Σ|terms| for each
// output (an upper bound on every partial sum), the scale of float32 rounding in an element whose terms cancel.
template <bool Mag = false>
double m(double x) {
  return Mag ? std::fabs(x) : x;
}

template <bool Mag = false>
Result oracle_forward(const Problem& p) {
  const std::int64_t Bn = p.o.batch, L = p.o.len, E = p.o.d_inner, N = p.o.d_state;
  Result r;
  r.out.assign(Bn * L * E, 0.0);
  r.last.assign(Bn * E * N, 0.0);
  for (std::int64_t b = 0; b < Bn; ++b)
    for (std::int64_t e = 0; e < E; ++e) {
      Vec h(N, 0.0);
      if (p.o.initial_state)
        for (std::int64_t n = 0; n < N; ++n) h[n] = m<Mag>(p.h0[(b * E + e) * N + n]);
      for (std::int64_t t = 0; t < L; ++t) {
        const std::size_t i = (b * L + t) * E + e, row = b * L + t;
        const double dt = step_size(p, i, e);
        double y = 0;
        for (std::int64_t n = 0; n < N; ++n) {
          h[n] = std::exp(dt * p.A[e * N + n]) * h[n] + m<Mag>(dt * p.B[row * N + n] * p.u[i]);
          y += m<Mag>(h[n] * p.C[row * N + n]);
        }
        if (p.o.D) y += m<Mag>(p.D[e] * p.u[i]);
        if (p.o.z) y *= m<Mag>(p.z[i] * sigmoid(p.z[i]));
        r.out[i] = y;
      }
      std::copy(h.begin(), h.end(), r.last.begin() + (b * E + e) * N);
    }
  return r;
}

// The adjoint: g_t = ∂/∂h_t = dy_t·C_t + exp(δ_{t+1}A)·g_{t+1}, and each input's gradient from it.
template <bool Mag = false>
void oracle_backward(const Problem& p, Result& r) {
  const std::int64_t Bn = p.o.batch, L = p.o.len, E = p.o.d_inner, N = p.o.d_state;
  r.du.assign(Bn * L * E, 0.0), r.ddelta.assign(Bn * L * E, 0.0), r.dz.assign(p.o.z ? Bn * L * E : 0, 0.0);
  r.dA.assign(E * N, 0.0), r.dB.assign(Bn * L * N, 0.0), r.dC.assign(Bn * L * N, 0.0);
  r.dD.assign(p.o.D ? E : 0, 0.0), r.dbias.assign(p.o.bias ? E : 0, 0.0);
  for (std::int64_t b = 0; b < Bn; ++b)
    for (std::int64_t e = 0; e < E; ++e) {
      Vec H((L + 1) * N, 0.0);  // H[t + 1] = h_t, H[0] = h_{−1}
      if (p.o.initial_state)
        for (std::int64_t n = 0; n < N; ++n) H[n] = m<Mag>(p.h0[(b * E + e) * N + n]);
      for (std::int64_t t = 0; t < L; ++t) {
        const std::size_t i = (b * L + t) * E + e, row = b * L + t;
        const double dt = step_size(p, i, e);
        for (std::int64_t n = 0; n < N; ++n)
          H[(t + 1) * N + n] =
              std::exp(dt * p.A[e * N + n]) * H[t * N + n] + m<Mag>(dt * p.B[row * N + n] * p.u[i]);
      }
      Vec g(N, 0.0);
      for (std::int64_t t = L - 1; t >= 0; --t) {
        const std::size_t i = (b * L + t) * E + e, row = b * L + t;
        const double raw = p.delta[i] + (p.o.bias ? p.bias[e] : 0.0);
        const double dt = p.o.softplus ? softplus(raw) : raw;
        double y = p.o.D ? m<Mag>(p.D[e] * p.u[i]) : 0.0;
        for (std::int64_t n = 0; n < N; ++n) y += m<Mag>(H[(t + 1) * N + n] * p.C[row * N + n]);
        double dy = m<Mag>(p.dout[i]);
        if (p.o.z) {
          const double s = sigmoid(p.z[i]);
          dy = m<Mag>(p.dout[i] * p.z[i] * s);
          r.dz[i] = m<Mag>(p.dout[i] * y * s * (1 + p.z[i] * (1 - s)));
        }
        double ddt = 0, du = p.o.D ? m<Mag>(p.D[e] * dy) : 0.0;
        for (std::int64_t n = 0; n < N; ++n) {
          const double a = std::exp(dt * p.A[e * N + n]), prev = H[t * N + n];
          r.dC[row * N + n] += m<Mag>(dy * H[(t + 1) * N + n]);
          g[n] += m<Mag>(dy * p.C[row * N + n]);
          ddt += m<Mag>(g[n] * p.A[e * N + n] * a * prev) + m<Mag>(g[n] * p.B[row * N + n] * p.u[i]);
          r.dA[e * N + n] += m<Mag>(g[n] * dt * a * prev);
          r.dB[row * N + n] += m<Mag>(g[n] * dt * p.u[i]);
          du += m<Mag>(g[n] * dt * p.B[row * N + n]);
          g[n] *= a;
        }
        if (p.o.D) r.dD[e] += m<Mag>(dy * p.u[i]);
        r.du[i] = du;
        const double draw = p.o.softplus && raw <= 20.0 ? ddt * sigmoid(raw) : ddt;
        r.ddelta[i] = draw;
        if (p.o.bias) r.dbias[e] += draw;
      }
    }
}

double objective(const Problem& p) {  // Σ out·dout
  const Result r = oracle_forward(p);
  double s = 0;
  for (std::size_t i = 0; i < r.out.size(); ++i) s += r.out[i] * p.dout[i];
  return s;
}

// ---- running an algorithm on float32 copies (optionally with padded rows) -------------------------------------

struct FloatRun {
  std::int64_t ld_e, ld_bc;  // row strides of (·, E) tensors and of the B|C buffer
  std::int64_t off_B, off_C;
  std::vector<float> u, delta, A, BC, D, z, bias, h0, dout, out, last;
  std::vector<float> du, ddelta, dA, dBC, dD, dz, dbias;
  ScanDims dims;
  ScanSaved saved;

  explicit FloatRun(const Problem& p) {
    const std::int64_t Bn = p.o.batch, L = p.o.len, E = p.o.d_inner, N = p.o.d_state, BL = Bn * L;
    dims = {Bn, L, E, N};
    ld_e = p.o.strided ? E + 5 : E;
    off_B = p.o.strided ? 2 : 0;  // like x_proj's (Δ_low | B | C) with dt_rank 2
    off_C = off_B + N;
    ld_bc = p.o.strided ? 2 + 2 * N + 1 : 2 * N;
    auto rows = [&](const Vec& src, std::int64_t width, std::int64_t ld, std::int64_t off, std::vector<float>& dst) {
      if (dst.empty()) dst.assign(BL * ld, 1e30f);  // garbage in the gaps: a kernel reading them shows up
      for (std::int64_t r = 0; r < BL; ++r)
        for (std::int64_t c = 0; c < width; ++c) dst[r * ld + off + c] = static_cast<float>(src[r * width + c]);
    };
    rows(p.u, E, ld_e, 0, u), rows(p.delta, E, ld_e, 0, delta), rows(p.dout, E, ld_e, 0, dout);
    rows(p.B, N, ld_bc, off_B, BC), rows(p.C, N, ld_bc, off_C, BC);
    if (p.o.z) rows(p.z, E, ld_e, 0, z);
    auto flat = [](const Vec& v) { return std::vector<float>(v.begin(), v.end()); };
    A = flat(p.A), D = flat(p.D), bias = flat(p.bias), h0 = flat(p.h0);
    out.assign(BL * ld_e, 0.0f), last.assign(Bn * E * N, 0.0f);
    du.assign(BL * ld_e, 0.0f), ddelta.assign(BL * ld_e, 0.0f), dz.assign(p.o.z ? BL * ld_e : 0, 0.0f);
    dA.assign(E * N, 0.0f), dBC.assign(BL * ld_bc, 0.0f), dD.assign(D.size(), 0.0f), dbias.assign(bias.size(), 0.0f);
  }
  // A column slice of the B|C buffer; none when the buffer is empty (l = 0: null + offset is undefined).
  template <class V>
  auto at(V& v, std::int64_t off) const {
    return v.empty() ? nullptr : v.data() + off;
  }
  ScanInputs inputs(const float* initial) const {
    return {.u = u.data(), .ld_u = ld_e, .delta = delta.data(), .ld_delta = ld_e, .A = A.data(),
            .B = at(BC, off_B), .ld_B = ld_bc, .C = at(BC, off_C), .ld_C = ld_bc,
            .D = D.empty() ? nullptr : D.data(), .z = z.empty() ? nullptr : z.data(), .ld_z = ld_e,
            .delta_bias = bias.empty() ? nullptr : bias.data(), .delta_softplus = true, .initial_state = initial};
  }
  void forward(ScanAlgorithm algo, const Problem& p) {
    ScanInputs in = inputs(h0.empty() ? nullptr : h0.data());
    in.delta_softplus = p.o.softplus;
    selective_scan_forward(algo, dims, in, {out.data(), ld_e, last.data()}, &saved);
  }
  void backward(ScanAlgorithm algo, const Problem& p) {
    ScanInputs in = inputs(h0.empty() ? nullptr : h0.data());
    in.delta_softplus = p.o.softplus;
    const ScanGrads g{.du = du.data(), .ld_du = ld_e, .ddelta = ddelta.data(), .ld_ddelta = ld_e, .dA = dA.data(),
                      .dB = at(dBC, off_B), .ld_dB = ld_bc, .dC = at(dBC, off_C), .ld_dC = ld_bc,
                      .dD = dD.empty() ? nullptr : dD.data(), .dz = dz.empty() ? nullptr : dz.data(),
                      .ld_dz = ld_e, .ddelta_bias = dbias.empty() ? nullptr : dbias.data()};
    selective_scan_backward(algo, dims, in, dout.data(), ld_e, saved, g);
  }
  // A result tensor back to contiguous (rows, width).
  static std::vector<float> unpad(const std::vector<float>& v, std::int64_t rows, std::int64_t width,
                                  std::int64_t ld, std::int64_t off) {
    std::vector<float> r(rows * width);
    for (std::int64_t i = 0; i < rows; ++i)
      for (std::int64_t c = 0; c < width; ++c) r[i * width + c] = v[i * ld + off + c];
    return r;
  }
  // Every output as (name, contiguous values), in the order of Result's fields.
  std::vector<std::pair<std::string, std::vector<float>>> tensors(const Problem& p) const {
    const std::int64_t BL = p.o.batch * p.o.len, E = p.o.d_inner, N = p.o.d_state;
    std::vector<std::pair<std::string, std::vector<float>>> t = {
        {"out", unpad(out, BL, E, ld_e, 0)}, {"last_state", last},
        {"du", unpad(du, BL, E, ld_e, 0)},   {"ddelta", unpad(ddelta, BL, E, ld_e, 0)},
        {"dA", dA},                          {"dB", unpad(dBC, BL, N, ld_bc, off_B)},
        {"dC", unpad(dBC, BL, N, ld_bc, off_C)}};
    if (p.o.D) t.emplace_back("dD", dD);
    if (p.o.z) t.emplace_back("dz", unpad(dz, BL, E, ld_e, 0));
    if (p.o.bias) t.emplace_back("ddelta_bias", dbias);
    return t;
  }
};

const Vec& oracle_tensor(const Result& r, const std::string& name) {
  if (name == "out") return r.out;
  if (name == "last_state") return r.last;
  if (name == "du") return r.du;
  if (name == "ddelta") return r.ddelta;
  if (name == "dA") return r.dA;
  if (name == "dB") return r.dB;
  if (name == "dC") return r.dC;
  if (name == "dD") return r.dD;
  if (name == "dz") return r.dz;
  return r.dbias;
}

struct Err {
  double max_err = 0, max_ref = 0;
  std::size_t worst = 0;
};
Err compare(const std::vector<float>& got, const Vec& want) {
  Err e;
  for (std::size_t i = 0; i < want.size(); ++i) {
    e.max_ref = std::max(e.max_ref, std::fabs(want[i]));
    const double d = std::fabs(got[i] - want[i]);
    if (d > e.max_err || std::isnan(d)) {
      e.max_err = std::isnan(d) ? INFINITY : d;
      e.worst = i;
    }
  }
  return e;
}

constexpr double kWitness = 3.0;
constexpr double kRoundings = 32.0 * 0x1p-24;  // k·ε
constexpr double kSequentialBound = 1e-5;
// Below float32's range: exp flushes results under 2⁻¹²⁶ ≈ 1.2e-38 to 0 (vmath) or to a subnormal (libm), and
// such a term is multiplied by O(1 … 1e3) factors here, so a tensor whose exact values are all below this
// (dA after Δ·A = −900 has wiped the state) is 0 in float32 and that is right.
constexpr double kUnderflow = 1e-30;

// Runs every algorithm on one case and checks it against the oracle (see the tolerance note at the top).
void check_case(const Options& o) {
  SCOPED_TRACE(describe(o));
  const Problem p(o);
  Result ref = oracle_forward(p);
  oracle_backward(p, ref);
  Result mag = oracle_forward<true>(p);
  oracle_backward<true>(p, mag);

  std::map<std::string, double> witness;  // max|sequential − f64| per tensor
  for (const ScanAlgorithm algo : all_scan_algorithms()) {
    SCOPED_TRACE(std::string("scan=") + std::string(scan_algorithm_name(algo)));
    FloatRun run(p);
    run.forward(algo, p);
    run.backward(algo, p);
    for (const auto& [name, got] : run.tensors(p)) {
      const Vec& want = oracle_tensor(ref, name);
      ASSERT_EQ(got.size(), want.size()) << name;
      const Err e = compare(got, want);
      double max_terms = 0;  // max Σ|terms|
      for (double v : oracle_tensor(mag, name)) max_terms = std::max(max_terms, v);
      double bound;
      if (algo == ScanAlgorithm::sequential) {
        witness[name] = e.max_err;
        bound = std::max({kSequentialBound * e.max_ref, kRoundings * max_terms, kUnderflow});
      } else {
        bound = std::max({kWitness * witness.at(name), kRoundings * max_terms, kUnderflow});
      }
      EXPECT_LE(e.max_err, bound) << name << ": max|got − f64| " << e.max_err << " (max|f64| " << e.max_ref
                                  << ", max Σ|terms| " << max_terms << ", sequential's error " << witness[name]
                                  << "); worst index " << e.worst << ": got " << got[e.worst] << ", want "
                                  << want[e.worst];
    }
  }
}

// The decode step (selective_scan_step) is one time step of the same recurrence from a state: held to the rule
// above against the oracle, with the sequential scan's error on the same one-token case as the witness. n = 16
// and n = 5, 37 take its two paths (whole 16-lane pieces, and a remainder); the channels are split in two
// ranges as two threads run them. The step takes A_log, so the case's A is made −exp of a float A_log.
TEST(ScanStep, OneTokenMatchesTheOracle) {
  std::uint32_t seed = 700;
  for (const std::int64_t N : {16, 5, 37}) {
    Problem p({.batch = 1, .len = 1, .d_inner = 70, .d_state = N, .initial_state = true, .seed = seed++});
    SCOPED_TRACE(describe(p.o));
    std::vector<float> A_log(p.A.size());
    for (std::size_t i = 0; i < A_log.size(); ++i) {
      A_log[i] = std::log(static_cast<float>(-p.A[i]));
      p.A[i] = static_cast<float>(-std::exp(static_cast<double>(A_log[i])));
    }
    const Result ref = oracle_forward(p), mag = oracle_forward<true>(p);
    FloatRun seq(p);
    seq.forward(ScanAlgorithm::sequential, p);

    auto flat = [](const Vec& v) { return std::vector<float>(v.begin(), v.end()); };
    const std::vector<float> u = flat(p.u), delta = flat(p.delta), B = flat(p.B), C = flat(p.C), z = flat(p.z),
                             D = flat(p.D), bias = flat(p.bias);
    std::vector<float> h = flat(p.h0), out(static_cast<std::size_t>(p.o.d_inner));
    const ScanStep step{.u = u.data(), .delta = delta.data(), .B = B.data(), .C = C.data(), .z = z.data(),
                        .A_log = A_log.data(), .D = D.data(), .delta_bias = bias.data(), .h = h.data(),
                        .out = out.data(), .d_state = N};
    selective_scan_step(step, 0, 33);
    selective_scan_step(step, 33, p.o.d_inner);

    const std::vector<std::pair<std::string, std::pair<std::vector<float>, std::vector<float>>>> checks = {
        {"out", {out, seq.out}}, {"last_state", {h, seq.last}}};
    for (const auto& [name, got_seq] : checks) {
      const Vec& want = oracle_tensor(ref, name);
      double max_terms = 0;
      for (double v : oracle_tensor(mag, name)) max_terms = std::max(max_terms, v);
      const double bound = std::max({kWitness * compare(got_seq.second, want).max_err, kRoundings * max_terms, kUnderflow});
      const Err e = compare(got_seq.first, want);
      EXPECT_LE(e.max_err, bound) << name << ": worst index " << e.worst;
    }
  }
}

// The first algorithm is the reference the others are measured against.
TEST(ScanAlgorithms, SequentialComesFirst) { EXPECT_EQ(all_scan_algorithms().front(), ScanAlgorithm::sequential); }

// ---- the oracle itself ----------------------------------------------------------------------------------------

TEST(ScanOracle, ForwardMatchesNaiveReference) {
  for (const bool opts : {false, true}) {
    Options o{.batch = 2, .len = 37, .d_inner = 5, .d_state = 3, .D = opts, .z = opts, .bias = opts, .seed = 11};
    SCOPED_TRACE(describe(o));
    const Problem p(o);
    const auto r = ref::selective_scan<double>(p.u, p.delta, p.A, p.B, p.C, p.D, p.z, p.bias, true, o.batch,
                                               o.len, o.d_inner, o.d_state);
    const Result mine = oracle_forward(p);
    for (std::size_t i = 0; i < r.out.size(); ++i)
      ASSERT_NEAR(mine.out[i], r.out[i], 1e-12 * (1 + std::fabs(r.out[i]))) << i;
    for (std::size_t i = 0; i < r.last_state.size(); ++i) ASSERT_NEAR(mine.last[i], r.last_state[i], 1e-12) << i;
  }
}

// Central differences of Σ out·dout in double: with step h = 1e-5 the truncation error is ~h²·|f'''| ≈ 1e-10
// and the rounding error ~1e-16·|f|/h ≈ 1e-10, so 1e-6 relative to the tensor's largest gradient is loose by
// four orders of magnitude yet catches any wrong term.
TEST(ScanOracle, BackwardMatchesFiniteDifferences) {
  for (const bool opts : {false, true})
    for (const bool softplus : {true, false}) {
      Options o{.batch = 2, .len = 6, .d_inner = 3, .d_state = 2, .D = opts, .z = opts, .bias = opts,
                .softplus = softplus, .initial_state = opts, .seed = 5u + opts * 2u + softplus};
      SCOPED_TRACE(describe(o));
      Problem p(o);
      Result r = oracle_forward(p);
      oracle_backward(p, r);
      const std::vector<std::pair<Vec*, const Vec*>> pairs = {
          {&p.u, &r.du}, {&p.delta, &r.ddelta}, {&p.A, &r.dA}, {&p.B, &r.dB}, {&p.C, &r.dC},
          {&p.D, &r.dD}, {&p.z, &r.dz},         {&p.bias, &r.dbias}};
      const char* names[] = {"u", "delta", "A", "B", "C", "D", "z", "bias"};
      for (std::size_t k = 0; k < pairs.size(); ++k) {
        Vec& x = *pairs[k].first;
        const Vec& grad = *pairs[k].second;
        ASSERT_EQ(x.size(), grad.size()) << names[k];
        double scale = 1e-300;
        for (double gv : grad) scale = std::max(scale, std::fabs(gv));
        for (std::size_t i = 0; i < x.size(); ++i) {
          const double keep = x[i], h = 1e-5;
          x[i] = keep + h;
          const double fp = objective(p);
          x[i] = keep - h;
          const double fm = objective(p);
          x[i] = keep;
          EXPECT_NEAR(grad[i], (fp - fm) / (2 * h), 1e-6 * std::max(1.0, scale))
              << "d/d" << names[k] << "[" << i << "]";
        }
      }
    }
}

// ---- the algorithms -------------------------------------------------------------------------------------------

// Lengths around the chunk (64): 0 (an empty sequence: last_state = initial state), 1, < chunk, = chunk, not a
// multiple, several chunks.
TEST(ScanAlgorithms, Lengths) {
  std::uint32_t seed = 100;
  for (const std::int64_t len : {0, 1, 2, 17, 63, 64, 65, 81, 200, 300})
    check_case({.len = len, .initial_state = len < 2, .seed = seed++});
}

// d_in around the block width (16 channels) and the AVX2 vector width (8); n = 1, 4, 16.
TEST(ScanAlgorithms, Widths) {
  std::uint32_t seed = 200;
  for (const std::int64_t d : {1, 7, 8, 9, 15, 16, 17, 31, 32, 33})
    for (const std::int64_t n : {1, 4, 16})
      check_case({.batch = 1, .len = 70, .d_inner = d, .d_state = n, .seed = seed++});
}

TEST(ScanAlgorithms, BatchAndOptionalInputs) {
  std::uint32_t seed = 300;
  for (const std::int64_t batch : {1, 3})
    for (int mask = 0; mask < 16; ++mask)
      check_case({.batch = batch, .len = 75, .d_inner = 9, .d_state = 4, .D = (mask & 1) != 0, .z = (mask & 2) != 0,
                  .bias = (mask & 4) != 0, .softplus = (mask & 8) != 0, .seed = seed++});
}

// Δ·A down to −960: exp underflows to 0 (the state forgets everything in one step), and softplus passes Δ
// through above its threshold (20).
TEST(ScanAlgorithms, LargeDeltas) {
  std::uint32_t seed = 400;
  for (const std::int64_t len : {1, 33, 150})
    for (const bool softplus : {true, false})
      check_case({.batch = 2, .len = len, .d_inner = 17, .d_state = 16, .softplus = softplus, .large_delta = true,
                  .seed = seed++});
}

TEST(ScanAlgorithms, InitialStateAndStrides) {
  std::uint32_t seed = 500;
  for (const std::int64_t len : {1, 40, 130})
    for (const bool strided : {false, true})
      check_case({.batch = 3, .len = len, .d_inner = 33, .d_state = 16, .initial_state = true, .strided = strided,
                  .seed = seed++});
}

// A longer case with the model's shapes (scaled down): long memory is where float32 rounding accumulates.
TEST(ScanAlgorithms, LongSequence) { check_case({.batch = 1, .len = 1000, .d_inner = 24, .d_state = 16, .seed = 600}); }

// The model carries the state in place: last_state aliases initial_state. The forward must give what it gives
// with separate buffers, and for the blocked algorithms (which save the initial state with the chunk states)
// the backward too.
TEST(ScanAlgorithms, LastStateMayAliasInitialState) {
  const Options o{.batch = 2, .len = 90, .d_inner = 19, .d_state = 16, .initial_state = true, .seed = 700};
  SCOPED_TRACE(describe(o));
  const Problem p(o);
  for (const ScanAlgorithm algo : all_scan_algorithms()) {
    SCOPED_TRACE(std::string("scan=") + std::string(scan_algorithm_name(algo)));
    FloatRun sep(p), alias(p);
    sep.forward(algo, p);
    sep.backward(algo, p);
    ScanInputs in = alias.inputs(alias.h0.data());
    selective_scan_forward(algo, alias.dims, in, {alias.out.data(), alias.ld_e, alias.h0.data()}, &alias.saved);
    EXPECT_EQ(alias.out, sep.out);
    EXPECT_EQ(alias.h0, sep.last);
    if (algo == ScanAlgorithm::sequential) continue;  // its backward reads in.initial_state, now overwritten
    alias.backward(algo, p);
    EXPECT_EQ(alias.du, sep.du);
    EXPECT_EQ(alias.ddelta, sep.ddelta);
    EXPECT_EQ(alias.dA, sep.dA);
    EXPECT_EQ(alias.dBC, sep.dBC);
  }
}

// 1 and 2 threads give the same result: bitwise, except dB and dC, which sum per-thread partials (in double)
// over channels and may round differently once in ~1e8 elements: within one float32 ulp.
TEST(ScanAlgorithms, ThreadCountDoesNotChangeResults) {
  const int saved_threads = num_threads();
  for (const ScanAlgorithm algo : all_scan_algorithms()) {
    const Options o{.batch = 3, .len = 150, .d_inner = 72, .d_state = 16, .initial_state = true, .seed = 800};
    SCOPED_TRACE(describe(o) + " scan=" + std::string(scan_algorithm_name(algo)));
    const Problem p(o);
    FloatRun one(p), two(p);
    set_num_threads(1);
    one.forward(algo, p);
    one.backward(algo, p);
    set_num_threads(2);
    two.forward(algo, p);
    two.backward(algo, p);
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

TEST(ScanAlgorithms, NamesRoundTripAndUnknownNamesListTheChoices) {
  for (const ScanAlgorithm a : all_scan_algorithms()) EXPECT_EQ(parse_scan_algorithm(scan_algorithm_name(a)), a);
  try {
    (void)parse_scan_algorithm("fast");
    FAIL() << "no error";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("'fast'"), std::string::npos) << msg;
    for (const ScanAlgorithm a : all_scan_algorithms())
      EXPECT_NE(msg.find(std::string(scan_algorithm_name(a))), std::string::npos) << msg;
  }
}

TEST(ScanAlgorithms, DefaultIsOneOfThem) {
  const auto all = all_scan_algorithms();
  EXPECT_NE(std::find(all.begin(), all.end(), kDefaultScan), all.end());
}

// A backward whose saved states do not fit the scan is an error, not a wild read.
TEST(ScanAlgorithms, BackwardRejectsMismatchedSavedStates) {
  const Problem p({.batch = 1, .len = 100, .d_inner = 8, .d_state = 4, .seed = 900});
  for (const ScanAlgorithm algo : {ScanAlgorithm::chunked, ScanAlgorithm::logspace}) {
    FloatRun run(p);
    run.forward(algo, p);
    run.saved.states.pop_back();
    EXPECT_THROW(run.backward(algo, p), Error) << scan_algorithm_name(algo);
  }
}

// Inference calls the forward without a ScanSaved: same outputs.
TEST(ScanAlgorithms, ForwardWithoutSavedGivesTheSameOutputs) {
  const Problem p({.batch = 2, .len = 77, .d_inner = 20, .d_state = 16, .initial_state = true, .seed = 901});
  for (const ScanAlgorithm algo : all_scan_algorithms()) {
    FloatRun a(p), b(p);
    a.forward(algo, p);
    ScanInputs in = b.inputs(b.h0.data());
    selective_scan_forward(algo, b.dims, in, {b.out.data(), b.ld_e, b.last.data()}, nullptr);
    EXPECT_EQ(a.out, b.out) << scan_algorithm_name(algo);
    EXPECT_EQ(a.last, b.last) << scan_algorithm_name(algo);
  }
}

// Many random shapes and options at once; the seed is printed by SCOPED_TRACE on a failure. Set
// TINYMAMBA_SCAN_FUZZ=N to run N cases instead of 40.
TEST(ScanAlgorithms, RandomCases) {
  const char* env = std::getenv("TINYMAMBA_SCAN_FUZZ");
  const int cases = env ? std::atoi(env) : 40;
  std::mt19937 rng(1234);
  for (int c = 0; c < cases; ++c) {
    auto pick = [&](std::initializer_list<std::int64_t> v) { return *(v.begin() + rng() % v.size()); };
    Options o{.batch = pick({1, 2, 3}), .len = pick({1, 5, 63, 64, 65, 129, 257}),
              .d_inner = pick({1, 7, 8, 9, 16, 17, 33}), .d_state = pick({1, 2, 4, 16}), .D = rng() % 2 == 0,
              .z = rng() % 2 == 0, .bias = rng() % 2 == 0, .softplus = rng() % 4 != 0, .initial_state = rng() % 2 == 0, .large_delta = rng() % 4 == 0,
              .strided = rng() % 2 == 0, .seed = 10000u + static_cast<std::uint32_t>(c)};
    check_case(o);
    if (HasFailure()) break;
  }
}

}  // namespace
}  // namespace tinymamba
