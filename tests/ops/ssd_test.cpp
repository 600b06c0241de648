// The SSD scan (both algorithms) and its one-token step against the double-precision reference
// (ops/ref/ssd_reference.hpp), over many shapes and options; the reference's backward against finite differences.
//
// Tolerance, per tensor: max|got − f64| ≤ max(1e-5 · max|f64|, 32·ε · max Σ|terms|, 1e-30), ε = 2⁻²⁴.
//  - 1e-5 · max|f64|: ../shared/golden/README.md's Mamba-2 table puts the official float32 code at
//    1.3e-7 .. 7.8e-7 × max|ref| from float64 for y and final states and at most 2.2e-6 × max|ref| for
//    gradients, and suggests exactly this check (5–70× that drift); a wrong term shows at 1e-4 or more. The
//    golden program holds both algorithms to the tighter 3×-official rule on the official cases.
//  - 32·ε·Σ|terms|: a gradient that sums over a whole sequence (dA, dD, ddt_bias) can cancel down to far below
//    its terms, and then float32 rounding is relative to the terms, not to the result: Higham's first-order bound
//    for a float32 expression whose terms each pass through k roundings is k·ε·Σ|terms|; k = 32 as the Mamba-1
//    scan tests (scan_algorithms_test.cpp) — softplus, exp, the products, and sums of up to 16 terms each
//    rounded in float32. Σ|terms| is the reference's magnitude mode (ref::ssd_scan_backward<double, true>).
//    Measured over 400 random cases (TINYMAMBA_SSD_FUZZ=400): the worst tensor reaches 0.09 of its bound;
//    forward values stay within 4.3e-7 · max|f64|, and only the per-head sums dA and ddt_bias pass
//    1e-5 · max|f64| (up to 1.3e-5), where this floor holds them.
//  - 1e-30: values below float32's range (exp flushes them to 0).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <sstream>

#include "fd.hpp"
#include "tinymamba/core/error.hpp"
#include "tinymamba/core/parallel.hpp"
#include "tinymamba/ops/ref/ssd_reference.hpp"
#include "tinymamba/ops/ssd/ssd_scan.hpp"
#include "tinymamba/ops/ssd/ssd_step.hpp"

namespace tinymamba {
namespace {

using Vec = std::vector<double>;

struct Options {
  std::int64_t batch = 1, len = 17, nheads = 4, headdim = 8, ngroups = 1, d_state = 16, chunk = 16;
  bool D = true, D_hp = false, z = true, bias = true, softplus = true, init = false, dfinal = true;
  bool limit = false;    // dt_limit (0.01, 0.2): the clamp is active on some tokens at both ends
  bool strided = false;  // inputs as column slices of one padded in_proj-like row (z | x | B | C | dt | pad)
  std::uint32_t seed = 0;
};

std::string describe(const Options& o) {
  std::ostringstream s;
  s << "seed " << o.seed << ": b=" << o.batch << " l=" << o.len << " h=" << o.nheads << " p=" << o.headdim
    << " g=" << o.ngroups << " n=" << o.d_state << " Q=" << o.chunk << (o.D ? (o.D_hp ? " D(h,p)" : " D") : "")
    << (o.z ? " z" : "") << (o.bias ? " bias" : "") << (o.softplus ? "" : " no-softplus") << (o.init ? " init" : "")
    << (o.dfinal ? " dfinal" : "") << (o.limit ? " dt_limit" : "") << (o.strided ? " strided" : "");
  return s.str();
}

// Inputs in double (every value a float), contiguous, as the official generator draws them.
struct Problem {
  Options o;
  ref::SsdRefDims dims;
  ref::SsdRefInputs<double> in;
  Vec dy, dfinal;
  explicit Problem(const Options& opt) : o(opt), dims{o.batch, o.len, o.nheads, o.headdim, o.ngroups, o.d_state} {
    const std::size_t BL = o.batch * o.len, H = o.nheads, P = o.headdim, GN = o.ngroups * o.d_state;
    std::mt19937 rng(o.seed);
    std::normal_distribution<float> normal;
    std::uniform_real_distribution<float> unif(0.0f, 1.0f);
    auto randn = [&](std::size_t n, float scale = 1.0f) {
      Vec v(n);
      for (double& x : v) x = scale * normal(rng);
      return v;
    };
    in.x = randn(BL * H * P), in.B = randn(BL * GN), in.C = randn(BL * GN), dy = randn(BL * H * P);
    in.dt = randn(BL * H);
    if (!o.softplus)  // δ = dt + bias used as is: kept positive (a negative δ makes the state grow)
      for (double& x : in.dt) x = 0.002f + 0.5f * unif(rng);
    in.A.resize(H);
    for (double& a : in.A) a = -(1.0f + 15.0f * unif(rng));  // the official A_init_range (1, 16)
    if (o.D) in.D = randn(o.D_hp ? H * P : H);
    if (o.z) in.z = randn(BL * H * P);
    if (o.bias) {
      in.dt_bias.resize(H);  // softplus⁻¹ of [1e-3, 0.1] as the official init; without softplus [0, 0.1]
      for (double& b : in.dt_bias) {
        const double dt = 0.001 + 0.099 * unif(rng);
        b = static_cast<float>(o.softplus ? std::log(std::expm1(dt)) : dt);
      }
    }
    if (o.init) in.initial = randn(o.batch * H * P * o.d_state, 0.5f);
    if (o.dfinal) dfinal = randn(o.batch * H * P * o.d_state);
    in.dt_softplus = o.softplus;
    if (o.limit) in.dt_min = 0.01f, in.dt_max = 0.2f;
  }
};

// ---- running an algorithm on float32 copies ------------------------------------------------------------------

struct FloatRun {
  const Problem& pr;
  std::int64_t ld, off_z, off_x, off_B, off_C, off_dt, ld_y;
  std::vector<float> row, grad_row, A, D, bias, init, dy, dfinal, y, final_state, dA, dD, dbias, dinit;
  SsdSaved saved;

  explicit FloatRun(const Problem& p) : pr(p) {
    const Options& o = p.o;
    const std::int64_t BL = o.batch * o.len, HP = o.nheads * o.headdim, GN = o.ngroups * o.d_state;
    off_z = 0, off_x = HP, off_B = 2 * HP, off_C = 2 * HP + GN, off_dt = 2 * HP + 2 * GN;
    ld = off_dt + o.nheads + (o.strided ? 3 : 0);
    ld_y = HP + (o.strided ? 5 : 0);
    row.assign(BL * ld, 1e30f);  // garbage in the gaps: a kernel reading them shows up
    auto put = [&](std::vector<float>& dst, std::int64_t ldd, const Vec& src, std::int64_t width, std::int64_t off) {
      for (std::int64_t r = 0; r < BL && !src.empty(); ++r)
        for (std::int64_t c = 0; c < width; ++c) dst[r * ldd + off + c] = static_cast<float>(src[r * width + c]);
    };
    put(row, ld, p.in.z, HP, off_z), put(row, ld, p.in.x, HP, off_x), put(row, ld, p.in.B, GN, off_B);
    put(row, ld, p.in.C, GN, off_C), put(row, ld, p.in.dt, o.nheads, off_dt);
    dy.assign(BL * ld_y, 1e30f);
    put(dy, ld_y, p.dy, HP, 0);
    grad_row.assign(BL * ld, 0.0f);
    y.assign(BL * ld_y, 0.0f);
    auto flat = [](const Vec& v) { return std::vector<float>(v.begin(), v.end()); };
    A = flat(p.in.A), D = flat(p.in.D), bias = flat(p.in.dt_bias), init = flat(p.in.initial), dfinal = flat(p.dfinal);
    final_state.assign(o.batch * HP * o.d_state, 0.0f);
    dA.assign(A.size(), 0.0f), dD.assign(D.size(), 0.0f), dbias.assign(bias.size(), 0.0f);
    dinit.assign(init.size(), 0.0f);
  }
  SsdDims dims() const {
    const Options& o = pr.o;
    return {o.batch, o.len, o.nheads, o.headdim, o.ngroups, o.d_state, o.chunk};
  }
  static const float* ptr(const std::vector<float>& v) { return v.empty() ? nullptr : v.data(); }
  static float* ptr(std::vector<float>& v) { return v.empty() ? nullptr : v.data(); }
  SsdInputs inputs(const float* initial) const {
    // A slice of an empty buffer (l = 0) is null: null + offset would be undefined.
    auto at = [&](std::int64_t off) { return row.empty() ? nullptr : row.data() + off; };
    return {.x = at(off_x), .ld_x = ld, .dt = at(off_dt), .ld_dt = ld, .A = A.data(), .B = at(off_B), .ld_B = ld,
            .C = at(off_C), .ld_C = ld, .D = ptr(D), .D_has_hdim = pr.o.D_hp, .z = pr.o.z ? at(off_z) : nullptr,
            .ld_z = ld, .dt_bias = ptr(bias), .dt_softplus = pr.o.softplus,
            .dt_min = static_cast<float>(pr.in.dt_min), .dt_max = static_cast<float>(pr.in.dt_max),
            .initial_state = initial};
  }
  void forward(SsdAlgorithm algo) {
    ssd_scan_forward(algo, dims(), inputs(ptr(init)), {ptr(y), ld_y, final_state.data()}, &saved);
  }
  void backward(SsdAlgorithm algo) {
    auto at = [&](std::int64_t off) { return grad_row.empty() ? nullptr : grad_row.data() + off; };
    const SsdGrads g{.dx = at(off_x), .ld_dx = ld, .ddt = at(off_dt), .ld_ddt = ld, .dA = dA.data(),
                     .dB = at(off_B), .ld_dB = ld, .dC = at(off_C), .ld_dC = ld, .dD = D.empty() ? nullptr : dD.data(),
                     .dz = pr.o.z ? at(off_z) : nullptr, .ld_dz = ld, .ddt_bias = bias.empty() ? nullptr : dbias.data(),
                     .dinitial_state = init.empty() ? nullptr : dinit.data()};
    ssd_scan_backward(algo, dims(), inputs(ptr(init)), ptr(dy), ld_y, ptr(dfinal), saved, g);
  }
  static std::vector<float> cut(const std::vector<float>& v, std::int64_t rows, std::int64_t width, std::int64_t ldv,
                                std::int64_t off) {
    std::vector<float> r(rows * width);
    for (std::int64_t i = 0; i < rows; ++i)
      for (std::int64_t c = 0; c < width; ++c) r[i * width + c] = v[i * ldv + off + c];
    return r;
  }
  // Every output as (name, contiguous values, reference).
  std::vector<std::tuple<std::string, std::vector<float>, Vec>> tensors(const ref::SsdRefResult<double>& f,
                                                                         const ref::SsdRefGrads<double>& g) const {
    const Options& o = pr.o;
    const std::int64_t BL = o.batch * o.len, HP = o.nheads * o.headdim, GN = o.ngroups * o.d_state;
    std::vector<std::tuple<std::string, std::vector<float>, Vec>> t = {
        {"y", cut(y, BL, HP, ld_y, 0), f.y},
        {"final_state", final_state, f.final_state},
        {"dx", cut(grad_row, BL, HP, ld, off_x), g.dx},
        {"ddt", cut(grad_row, BL, o.nheads, ld, off_dt), g.ddt},
        {"dA", dA, g.dA},
        {"dB", cut(grad_row, BL, GN, ld, off_B), g.dB},
        {"dC", cut(grad_row, BL, GN, ld, off_C), g.dC}};
    if (o.D) t.emplace_back("dD", dD, g.dD);
    if (o.z) t.emplace_back("dz", cut(grad_row, BL, HP, ld, off_z), g.dz);
    if (o.bias) t.emplace_back("ddt_bias", dbias, g.ddt_bias);
    if (o.init) t.emplace_back("dinitial_state", dinit, g.dinitial);
    return t;
  }
};

constexpr double kRelBound = 1e-5;            // × max|f64| per tensor (see the top)
constexpr double kRoundings = 32.0 * 0x1p-24;  // k·ε, × max Σ|terms|
constexpr double kUnderflow = 1e-30;           // below float32's range: exp flushes such values to 0

// `terms`: the tensor's Σ|terms| (empty: none known, the forward tensors).
void expect_close(const std::string& name, const std::vector<float>& got, const Vec& want, const Vec& terms = {}) {
  ASSERT_EQ(got.size(), want.size()) << name;
  double max_ref = 0, max_err = 0, max_terms = 0;
  for (double v : terms) max_terms = std::max(max_terms, v);
  std::size_t worst = 0;
  for (std::size_t i = 0; i < want.size(); ++i) {
    max_ref = std::max(max_ref, std::fabs(want[i]));
    const double e = std::fabs(got[i] - want[i]);
    if (e > max_err || std::isnan(e)) max_err = std::isnan(e) ? INFINITY : e, worst = i;
  }
  const double bound = std::max({kRelBound * max_ref, kRoundings * max_terms, kUnderflow});
  EXPECT_LE(max_err, bound) << name << ": max|got − f64| " << max_err << " (max|f64| " << max_ref
                            << ", max Σ|terms| " << max_terms << "); worst index " << worst << ": got "
                            << got[worst] << ", want " << want[worst];
}

// Runs both algorithms on one case and checks every output and gradient against the double reference.
void check_case(const Options& o) {
  SCOPED_TRACE(describe(o));
  const Problem p(o);
  const auto f = ref::ssd_scan<double>(p.dims, p.in);
  const auto g = ref::ssd_scan_backward<double>(p.dims, p.in, p.dy, p.dfinal);
  const auto mag = ref::ssd_scan_backward<double, true>(p.dims, p.in, p.dy, p.dfinal);
  for (const SsdAlgorithm algo : all_ssd_algorithms()) {
    SCOPED_TRACE(std::string("ssd=") + std::string(ssd_algorithm_name(algo)));
    FloatRun run(p);
    run.forward(algo);
    run.backward(algo);
    const auto tensors = run.tensors(f, g), magnitudes = run.tensors(f, mag);
    for (std::size_t k = 0; k < tensors.size(); ++k) {
      const auto& [name, got, want] = tensors[k];
      expect_close(name, got, want, k < 2 ? Vec{} : std::get<2>(magnitudes[k]));  // y, final_state: forward
    }
  }
}

// ---- the reference itself ---------------------------------------------------------------------------------

// The reference backward against central differences of the reference forward, of Σ y·dy + Σ final·dfinal. The
// five-point stencil in double (fd.hpp) is exact to ~1e-11·|f|, so 1e-7 relative to the tensor's largest
// gradient is loose by four orders of magnitude yet catches any wrong term. dt_limit's kinks: with these seeds no
// δ lies within the stencil's reach (2e-4) of a limit.
TEST(SsdReference, BackwardMatchesFiniteDifferences) {
  std::uint32_t seed = 1;
  for (int mask = 0; mask < 8; ++mask) {
    const bool all = (mask & 1) != 0;
    Options o{.batch = 2, .len = 5, .nheads = 4, .headdim = 2, .ngroups = (mask & 2) ? 2 : 1, .d_state = 3,
              .D = all, .D_hp = (mask & 4) != 0, .z = all, .bias = all, .softplus = mask != 6, .init = all,
              .dfinal = all, .limit = mask == 5, .seed = seed++};
    SCOPED_TRACE(describe(o));
    Problem p(o);
    const auto g = ref::ssd_scan_backward<double>(p.dims, p.in, p.dy, p.dfinal);
    auto objective = [&] {
      const auto r = ref::ssd_scan<double>(p.dims, p.in);
      double s = 0;
      for (std::size_t i = 0; i < r.y.size(); ++i) s += r.y[i] * p.dy[i];
      for (std::size_t i = 0; i < p.dfinal.size(); ++i) s += r.final_state[i] * p.dfinal[i];
      return s;
    };
    const std::vector<std::tuple<const char*, Vec*, const Vec*>> pairs = {
        {"x", &p.in.x, &g.dx},          {"dt", &p.in.dt, &g.ddt},         {"A", &p.in.A, &g.dA},
        {"B", &p.in.B, &g.dB},          {"C", &p.in.C, &g.dC},            {"D", &p.in.D, &g.dD},
        {"z", &p.in.z, &g.dz},          {"dt_bias", &p.in.dt_bias, &g.ddt_bias},
        {"initial", &p.in.initial, &g.dinitial}};
    for (const auto& [name, x, grad] : pairs) {
      ASSERT_EQ(x->size(), grad->size()) << name;
      const Vec fd = test::finite_differences(*x, objective);
      double scale = 1.0;
      for (double v : *grad) scale = std::max(scale, std::fabs(v));
      for (std::size_t i = 0; i < x->size(); ++i)
        EXPECT_NEAR((*grad)[i], fd[i], 1e-7 * scale) << "d/d" << name << "[" << i << "]";
    }
  }
}

// ---- the algorithms -----------------------------------------------------------------------------------------

// Lengths around the chunk (16): 0 (final state = initial state), 1, < Q, = Q, a partial last chunk, several.
TEST(SsdScan, Lengths) {
  std::uint32_t seed = 100;
  for (const std::int64_t len : {0, 1, 2, 15, 16, 17, 33, 100})
    check_case({.batch = 2, .len = len, .init = len < 3 || len == 33, .seed = seed++});
}

// headdim and d_state around the vector widths (8 floats AVX2, 16 lanes), groups 1, 2, 4.
TEST(SsdScan, Shapes) {
  std::uint32_t seed = 200;
  for (const std::int64_t p : {1, 7, 8, 9, 17})
    for (const std::int64_t n : {1, 8, 16, 17})
      check_case({.len = 40, .nheads = 4, .headdim = p, .ngroups = p % 2 == 0 ? 2 : 1, .d_state = n,
                  .seed = seed++});
  for (const std::int64_t g : {1, 2, 4}) check_case({.len = 50, .nheads = 8, .ngroups = g, .seed = seed++});
}

TEST(SsdScan, OptionalInputs) {
  std::uint32_t seed = 300;
  for (int mask = 0; mask < 64; ++mask)
    check_case({.len = 37, .nheads = 2, .headdim = 3, .d_state = 5, .D = (mask & 1) != 0, .D_hp = (mask & 2) != 0,
                .z = (mask & 4) != 0, .bias = (mask & 8) != 0, .softplus = (mask & 16) == 0, .init = (mask & 32) != 0,
                .dfinal = mask % 3 != 0, .limit = mask % 5 == 0, .strided = mask % 2 == 0, .seed = seed++});
}

// The chunked result does not depend on Q but by rounding: Q = 1 (every token a chunk), odd sizes, L, > L.
TEST(SsdScan, ChunkSizes) {
  std::uint32_t seed = 400;
  for (const std::int64_t q : {1, 3, 16, 64, 70, 500})
    check_case({.batch = 2, .len = 70, .nheads = 2, .ngroups = 2, .chunk = q, .init = true, .seed = seed++});
}

// A longer case (scaled-down model shapes): long memory is where float32 rounding accumulates.
TEST(SsdScan, LongSequence) {
  check_case({.len = 1000, .nheads = 2, .headdim = 8, .d_state = 16, .chunk = 64, .init = true, .seed = 500});
}

// The chunked algorithm and the sequential one agree with each other as closely as each agrees with float64:
// every tensor within twice the bound above (the triangle inequality), checked directly on a golden-like shape.
TEST(SsdScan, ChunkedEqualsSequential) {
  const Options o{.batch = 2, .len = 300, .nheads = 4, .headdim = 8, .ngroups = 2, .d_state = 16, .chunk = 64,
                  .init = true, .strided = true, .seed = 600};
  SCOPED_TRACE(describe(o));
  const Problem p(o);
  const auto f = ref::ssd_scan<double>(p.dims, p.in);
  const auto g = ref::ssd_scan_backward<double>(p.dims, p.in, p.dy, p.dfinal);
  const auto mag = ref::ssd_scan_backward<double, true>(p.dims, p.in, p.dy, p.dfinal);
  FloatRun seq(p), chk(p);
  seq.forward(SsdAlgorithm::sequential), seq.backward(SsdAlgorithm::sequential);
  chk.forward(SsdAlgorithm::chunked), chk.backward(SsdAlgorithm::chunked);
  const auto ts = seq.tensors(f, g), tc = chk.tensors(f, g), tm = seq.tensors(f, mag);
  for (std::size_t k = 0; k < ts.size(); ++k) {
    const auto& [name, a, want] = ts[k];
    const auto& b = std::get<1>(tc[k]);
    double max_ref = 0, max_diff = 0, max_terms = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
      max_ref = std::max(max_ref, std::fabs(want[i])), max_diff = std::max(max_diff, std::fabs(double(a[i]) - b[i]));
      if (k >= 2) max_terms = std::max(max_terms, std::get<2>(tm[k])[i]);
    }
    EXPECT_LE(max_diff, 2 * std::max({kRelBound * max_ref, kRoundings * max_terms, kUnderflow})) << name;
  }
}

// The model carries the state in place: final_state aliases initial_state. Same results as separate buffers,
// the chunked backward included (it reads the initial state from its saved chunk states).
TEST(SsdScan, FinalStateMayAliasInitialState) {
  const Options o{.batch = 2, .len = 45, .init = true, .seed = 700};
  const Problem p(o);
  for (const SsdAlgorithm algo : all_ssd_algorithms()) {
    SCOPED_TRACE(std::string(ssd_algorithm_name(algo)));
    FloatRun sep(p), alias(p);
    sep.forward(algo), sep.backward(algo);
    ssd_scan_forward(algo, alias.dims(), alias.inputs(alias.init.data()),
                     {alias.y.data(), alias.ld_y, alias.init.data()}, &alias.saved);
    EXPECT_EQ(alias.y, sep.y);
    EXPECT_EQ(alias.init, sep.final_state);
    if (algo == SsdAlgorithm::sequential) continue;  // its backward reads in.initial_state, now overwritten
    alias.backward(algo);
    EXPECT_EQ(alias.grad_row, sep.grad_row);
    EXPECT_EQ(alias.dA, sep.dA);
    EXPECT_EQ(alias.dinit, sep.dinit);
  }
}

// 1 and 2 threads: bitwise the same, except dB and dC, which add per-thread partials (in double) over the heads
// of a group and may round differently: within one float32 ulp.
TEST(SsdScan, ThreadCountDoesNotChangeResults) {
  const int saved_threads = num_threads();
  const Options o{.batch = 2, .len = 70, .nheads = 6, .ngroups = 2, .init = true, .seed = 800};
  const Problem p(o);
  for (const SsdAlgorithm algo : all_ssd_algorithms()) {
    SCOPED_TRACE(std::string(ssd_algorithm_name(algo)));
    FloatRun one(p), two(p);
    set_num_threads(1);
    one.forward(algo), one.backward(algo);
    set_num_threads(2);
    two.forward(algo), two.backward(algo);
    EXPECT_EQ(one.y, two.y);
    EXPECT_EQ(one.final_state, two.final_state);
    EXPECT_EQ(one.dA, two.dA);
    EXPECT_EQ(one.dinit, two.dinit);
    for (std::size_t i = 0; i < one.grad_row.size(); ++i)
      ASSERT_LE(std::fabs(one.grad_row[i] - two.grad_row[i]), std::fabs(one.grad_row[i]) * 1.2e-7f) << i;
  }
  set_num_threads(saved_threads);
}

// What the chunked forward keeps for its backward is one state per chunk, never one per token; a backward whose
// saved states do not fit is an error, not a wild read.
TEST(SsdScan, SavedStatesArePerChunk) {
  const Options o{.batch = 2, .len = 50, .nheads = 2, .headdim = 3, .d_state = 4, .chunk = 16, .seed = 900};
  const Problem p(o);
  FloatRun run(p);
  run.forward(SsdAlgorithm::chunked);
  EXPECT_EQ(run.saved.states.size(), static_cast<std::size_t>(2 * 2 * 4 * 3 * 4));  // b·h·⌈50/16⌉·p·n
  run.saved.states.pop_back();
  EXPECT_THROW(run.backward(SsdAlgorithm::chunked), Error);
}

TEST(SsdScan, BadDimensionsAreErrors) {
  const Problem p({.nheads = 4, .ngroups = 1, .seed = 901});
  FloatRun run(p);
  SsdDims d = run.dims();
  d.ngroups = 3;
  try {
    ssd_scan_forward(SsdAlgorithm::chunked, d, run.inputs(nullptr), {run.y.data(), run.ld_y, nullptr}, nullptr);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("ngroups (3) must divide nheads (4)"), std::string::npos) << e.what();
  }
  d = run.dims(), d.chunk = 0;
  EXPECT_THROW(ssd_scan_forward(SsdAlgorithm::chunked, d, run.inputs(nullptr), {run.y.data(), run.ld_y, nullptr},
                                nullptr), Error);
}

TEST(SsdScan, NamesRoundTripAndUnknownNamesListTheChoices) {
  EXPECT_EQ(all_ssd_algorithms().front(), SsdAlgorithm::sequential);
  for (const SsdAlgorithm a : all_ssd_algorithms()) EXPECT_EQ(parse_ssd_algorithm(ssd_algorithm_name(a)), a);
  try {
    (void)parse_ssd_algorithm("fast");
    FAIL() << "no error";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("'fast'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("sequential, chunked"), std::string::npos) << msg;
  }
}

// Many random shapes and options; the seed is printed by SCOPED_TRACE on a failure. TINYMAMBA_SSD_FUZZ=N runs N.
TEST(SsdScan, RandomCases) {
  const char* env = std::getenv("TINYMAMBA_SSD_FUZZ");
  const int cases = env ? std::atoi(env) : 30;
  std::mt19937 rng(4321);
  for (int c = 0; c < cases && !HasFailure(); ++c) {
    auto pick = [&](std::initializer_list<std::int64_t> v) { return *(v.begin() + rng() % v.size()); };
    const std::int64_t h = pick({1, 2, 4, 6});
    check_case({.batch = pick({1, 2, 3}), .len = pick({1, 5, 16, 31, 64, 129}), .nheads = h,
                .headdim = pick({1, 4, 8, 9}), .ngroups = h % 2 == 0 ? pick({1, 2}) : 1, .d_state = pick({1, 4, 16}),
                .chunk = pick({1, 8, 16, 32, 256}), .D = rng() % 2 == 0, .D_hp = rng() % 2 == 0, .z = rng() % 2 == 0,
                .bias = rng() % 2 == 0, .softplus = rng() % 4 != 0, .init = rng() % 2 == 0, .dfinal = rng() % 2 == 0,
                .limit = rng() % 4 == 0, .strided = rng() % 2 == 0, .seed = 20000u + static_cast<std::uint32_t>(c)});
  }
}

// ---- the one-token step -----------------------------------------------------------------------------------

// ssd_step from a state = a one-token scan from that state as initial state, against the reference; heads split
// in two ranges as two threads run them.
TEST(SsdStep, OneTokenOfTheScan) {
  std::uint32_t seed = 1000;
  for (const std::int64_t n : {16, 5, 37})
    for (const bool variant : {false, true}) {
      const Options o{.len = 1, .nheads = 6, .headdim = 7, .ngroups = variant ? 3 : 1, .d_state = n, .D_hp = variant,
                      .z = !variant, .init = true, .limit = variant, .seed = seed++};
      SCOPED_TRACE(describe(o));
      const Problem p(o);
      const auto f = ref::ssd_scan<double>(p.dims, p.in);
      FloatRun run(p);
      std::vector<float> state = run.init, y(o.nheads * o.headdim);
      const SsdStep s{.x = run.row.data() + run.off_x, .dt = run.row.data() + run.off_dt, .A = run.A.data(),
                      .B = run.row.data() + run.off_B, .C = run.row.data() + run.off_C, .D = FloatRun::ptr(run.D),
                      .D_has_hdim = o.D_hp, .z = o.z ? run.row.data() + run.off_z : nullptr,
                      .dt_bias = FloatRun::ptr(run.bias), .dt_softplus = o.softplus,
                      .dt_min = static_cast<float>(p.in.dt_min), .dt_max = static_cast<float>(p.in.dt_max),
                      .state = state.data(), .y = y.data(), .nheads = o.nheads, .headdim = o.headdim,
                      .ngroups = o.ngroups, .d_state = o.d_state};
      ssd_step(s, 0, 2);
      ssd_step(s, 2, o.nheads);
      expect_close("y", y, f.y);
      expect_close("state", state, f.final_state);
    }
}

// The decode hand-off: a chunked prefill of the first k tokens (its final state), then ssd_step per token, gives
// the full scan's outputs and final state.
TEST(SsdStep, PrefillThenStepsContinueTheScan) {
  const Options o{.len = 40, .nheads = 4, .headdim = 8, .ngroups = 2, .d_state = 16, .chunk = 16, .init = true,
                  .seed = 1100};
  const Problem p(o);
  const auto f = ref::ssd_scan<double>(p.dims, p.in);
  FloatRun run(p);
  const std::int64_t k = 23, HP = o.nheads * o.headdim;
  SsdDims prefix = run.dims();
  prefix.len = k;
  std::vector<float> state(run.final_state.size());
  ssd_scan_forward(SsdAlgorithm::chunked, prefix, run.inputs(run.init.data()), {run.y.data(), run.ld_y, state.data()},
                   nullptr);
  for (std::int64_t t = k; t < o.len; ++t) {
    const float* r = run.row.data() + t * run.ld;
    const SsdStep s{.x = r + run.off_x, .dt = r + run.off_dt, .A = run.A.data(), .B = r + run.off_B,
                    .C = r + run.off_C, .D = run.D.data(), .z = r + run.off_z, .dt_bias = run.bias.data(),
                    .state = state.data(), .y = run.y.data() + t * run.ld_y, .nheads = o.nheads, .headdim = o.headdim,
                    .ngroups = o.ngroups, .d_state = o.d_state};
    ssd_step(s, 0, o.nheads);
  }
  expect_close("y", FloatRun::cut(run.y, o.len, HP, run.ld_y, 0), f.y);
  expect_close("final_state", state, f.final_state);
}

}  // namespace
}  // namespace tinymamba
