// Benchmark test `scan-error` (not run by default): how far each scan algorithm's float32 output lies from a
// double-precision sequential scan (ref::selective_scan<double>) as the sequence grows — the measurement behind
// docs/numerics.md's "Scan algorithms: logspace error vs length". Besides the registered algorithms (logspace:
// restarts every 64 steps and whenever |S| > 1) it runs ablations of logspace that show what its restarts buy:
//   logspace-cap16, -cap80  restart when |S| > 16 or > 80 (80: only just before exp(−S) would overflow)
//   logspace-chunk16        restart every 16 steps, never in between (no cap)
//   logspace-unrestarted    the seed's form: one running sum over the whole sequence
// Shape b=1, d_in=64, n=16, with two input distributions:
//   golden      the golden cases' (u, B, C, D, z ~ N(0,1), Δ ~ N(0,1), Δ_bias = softplus⁻¹ of [1e-3, 0.1],
//               |A| log-uniform in [0.5, 16])
//   mamba-init  a freshly initialised Mamba layer: A = −(1 … 16) per row (A_log = log(1..n)), Δ ~ N(0, 0.1) around
//               the bias, so δ ≈ 1e-3 … 0.1 and memories reach ~1/(δ·|A|) ≈ 1000 steps
// Columns: out_err and state_err = max|alg − f64| / max|f64| of out and last_state; fidelity = out's error over
// the golden rule's bound max(3·e_seq, 1e-6·max|f64|), with the float32 sequential scan's error e_seq standing in
// for the official float32 code's (the same loop in the same order) — below 1 is "as exact as the goldens demand";
// nonfinite = NaN/inf entries in out.
#include <cmath>
#include <limits>
#include <random>

#include "bench.hpp"
#include "tinymamba/core/error.hpp"
#include "tinymamba/ops/ref/reference_ops.hpp"
#include "tinymamba/ops/scan_algorithms.hpp"
#include "tinymamba/ops/selective_scan.hpp"

namespace tinymamba::cli {
namespace {

std::string g_lengths = "16,64,256,1024,4096,16384,65536";
std::vector<std::int64_t> error_lengths() { return bench::parse_int_list("--error-lengths", g_lengths, 1, 1 << 20); }

struct Case {
  std::vector<double> u, delta, A, B, C, D, z, bias;
};

Case make_case(const std::string& dist, std::int64_t L, std::int64_t E, std::int64_t N) {
  std::mt19937 rng(7);
  std::normal_distribution<float> normal;
  std::uniform_real_distribution<float> unif(0.0f, 1.0f);
  auto randn = [&](std::size_t n, float scale) {
    std::vector<double> v(n);
    for (double& x : v) x = scale * normal(rng);
    return v;
  };
  Case c;
  const auto LE = static_cast<std::size_t>(L * E), LN = static_cast<std::size_t>(L * N);
  c.u = randn(LE, 1), c.B = randn(LN, 1), c.C = randn(LN, 1), c.D = randn(E, 1), c.z = randn(LE, 1);
  c.delta = randn(LE, dist == "golden" ? 1.0f : 0.1f);
  c.A.resize(E * N);
  for (std::int64_t e = 0; e < E; ++e)
    for (std::int64_t n = 0; n < N; ++n)
      c.A[e * N + n] = dist == "golden" ? static_cast<float>(-std::exp(std::log(0.5) + unif(rng) * std::log(32.0)))
                                        : -static_cast<double>(n + 1);
  c.bias.resize(E);
  for (double& b : c.bias) b = static_cast<float>(std::log(std::expm1(0.001 + 0.099 * unif(rng))));
  return c;
}

struct Err {
  double rel, abs;
  std::int64_t nonfinite;
};
Err error(const std::vector<float>& got, const std::vector<double>& want) {
  double e = 0, m = 0;
  std::int64_t bad = 0;
  for (std::size_t i = 0; i < want.size(); ++i) {
    m = std::max(m, std::fabs(want[i]));
    if (!std::isfinite(got[i])) {
      ++bad;
      e = INFINITY;
      continue;
    }
    e = std::max(e, std::fabs(got[i] - want[i]));
  }
  return {e / m, e, bad};
}

void run_scan_error(const bench::Options&, const bench::Emit& emit) {
  const auto lengths = error_lengths();
  const std::int64_t E = 64, N = 16;
  for (const std::string dist : {"golden", "mamba-init"})
    for (const std::int64_t L : lengths) {
      const Case c = make_case(dist, L, E, N);
      const auto ref = ref::selective_scan<double>(c.u, c.delta, c.A, c.B, c.C, c.D, c.z, c.bias, true, 1, L, E, N);
      double max_out = 0;
      for (double v : ref.out) max_out = std::max(max_out, std::fabs(v));
      auto f = [](const std::vector<double>& v) { return std::vector<float>(v.begin(), v.end()); };
      const auto u = f(c.u), delta = f(c.delta), A = f(c.A), B = f(c.B), C = f(c.C), D = f(c.D), z = f(c.z),
                 bias = f(c.bias);
      const ScanDims dims{1, L, E, N};
      const ScanInputs in{.u = u.data(), .ld_u = E, .delta = delta.data(), .ld_delta = E, .A = A.data(),
                          .B = B.data(), .ld_B = N, .C = C.data(), .ld_C = N, .D = D.data(), .z = z.data(),
                          .ld_z = E, .delta_bias = bias.data(), .delta_softplus = true};

      struct Variant {
        std::string name;
        std::function<void(const ScanOutputs&)> run;
      };
      std::vector<Variant> variants;
      for (const ScanAlgorithm a : all_scan_algorithms())
        variants.push_back({std::string(scan_algorithm_name(a)),
                            [&, a](const ScanOutputs& o) { selective_scan_forward(a, dims, in, o, nullptr); }});
      const float inf = std::numeric_limits<float>::infinity();
      auto logspace = [&](std::string name, scan::LogspaceParams p) {
        variants.push_back(
            {std::move(name), [&, p](const ScanOutputs& o) { scan::logspace_forward(dims, in, o, nullptr, p); }});
      };
      logspace("logspace-cap16", {.chunk = 64, .s_max = 16.0f});
      logspace("logspace-cap80", {.chunk = 64, .s_max = 80.0f});
      logspace("logspace-chunk16", {.chunk = 16, .s_max = inf});
      logspace("logspace-unrestarted", {.chunk = L, .s_max = inf});

      double seq_abs = 0;
      for (const Variant& v : variants) {
        std::vector<float> out(static_cast<std::size_t>(L * E)), last(static_cast<std::size_t>(E * N));
        v.run({out.data(), E, last.data()});
        const Err eo = error(out, ref.out), es = error(last, ref.last_state);
        if (v.name == "sequential") seq_abs = eo.abs;
        const double bound = std::max(3 * seq_abs, 1e-6 * max_out);
        emit({{"test", std::string("scan-error")},
              {"dist", dist},
              {"scan", v.name},
              {"seq_len", L},
              {"out_err", eo.rel, -2},
              {"state_err", es.rel, -2},
              {"fidelity", eo.abs / bound, 2},
              {"nonfinite", eo.nonfinite}});
      }
    }
}

const bench::BenchRegistration reg({
    .name = "scan-error",
    .description = "float32 error of each scan algorithm (and two unrestarted logspace ablations) against a double "
                   "sequential scan at --error-lengths, b=1 d_in=64 n=16",
    .in_default = false,
    .add_flags =
        [](CLI::App& cmd) {
          cmd.add_option("--error-lengths", g_lengths,
                         "scan-error: comma list of sequence lengths (default 16,64,256,1024,4096,16384,65536)");
        },
    .run = run_scan_error,
    .prepare = [] { (void)error_lengths(); },
});

}  // namespace
}  // namespace tinymamba::cli
