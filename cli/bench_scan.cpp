// Benchmark test `scan`: the selective scan, forward and forward+backward, for the mamba-130m layer shape
// (b=1, d_in=1536, n=16) at each --scan-lengths and for a training shape (b=8, d_in=512, n=16, l=256), for each
// --scan algorithm, with the sequential reference measured in the same run as the baseline (`speedup`).
// Reported per measurement: median ms, state updates per second (b·l·d_in·n / time), and the peak extra heap
// — what the call allocated beyond the inputs and outputs the bench made beforehand (its ScanSaved, scratch,
// partial sums) — next to the size a (b, l, d_in, n) state tensor would have (`state_mb`).
#include <random>

#include "bench.hpp"
#include "heap_tracker.hpp"
#include "tinymamba/core/buffer.hpp"
#include "tinymamba/core/error.hpp"
#include "tinymamba/core/parallel.hpp"
#include "tinymamba/ops/selective_scan.hpp"

namespace tinymamba::cli {
namespace {

struct ScanFlags {
  std::string lengths = "128,512,2048,8192";
};
ScanFlags g_flags;

// Inputs like the golden cases' (u, B, C, D, z, dout ~ N(0,1), Δ ~ N(0,1), Δ_bias = softplus⁻¹ of [1e-3, 0.1],
// |A| log-uniform in [0.5, 16]), outputs and gradients: allocated before anything is measured.
struct ScanData {
  ScanDims dims;
  Buffer<float> u, delta, A, B, C, D, z, bias, dout, out, last, du, ddelta, dA, dB, dC, dD, dz, dbias;
  explicit ScanData(ScanDims d) : dims(d) {
    const auto TE = static_cast<std::size_t>(d.batch * d.len * d.d_inner);
    const auto TN = static_cast<std::size_t>(d.batch * d.len * d.d_state);
    const auto E = static_cast<std::size_t>(d.d_inner), EN = static_cast<std::size_t>(d.d_inner * d.d_state);
    std::mt19937 rng(42);
    std::normal_distribution<float> normal;
    std::uniform_real_distribution<float> unif(0.0f, 1.0f);
    auto randn = [&](Buffer<float>& v, std::size_t n) {
      v.resize(n);
      for (float& x : v) x = normal(rng);
    };
    randn(u, TE), randn(delta, TE), randn(z, TE), randn(dout, TE), randn(B, TN), randn(C, TN), randn(D, E);
    A.resize(EN);
    for (float& a : A) a = -std::exp(std::log(0.5f) + unif(rng) * std::log(32.0f));
    bias.resize(E);
    for (float& b : bias) b = std::log(std::expm1(0.001f + 0.099f * unif(rng)));
    for (auto* v : {&out, &du, &ddelta, &dz}) v->assign(TE, 0.0f);
    for (auto* v : {&dB, &dC}) v->assign(TN, 0.0f);
    last.assign(static_cast<std::size_t>(d.batch) * EN, 0.0f), dA.assign(EN, 0.0f);
    dD.assign(E, 0.0f), dbias.assign(E, 0.0f);
  }
  ScanInputs inputs() const {
    const std::int64_t E = dims.d_inner, N = dims.d_state;
    return {.u = u.data(), .ld_u = E, .delta = delta.data(), .ld_delta = E, .A = A.data(), .B = B.data(),
            .ld_B = N, .C = C.data(), .ld_C = N, .D = D.data(), .z = z.data(), .ld_z = E,
            .delta_bias = bias.data(), .delta_softplus = true};
  }
  ScanGrads grads() {
    const std::int64_t E = dims.d_inner, N = dims.d_state;
    return {.du = du.data(), .ld_du = E, .ddelta = ddelta.data(), .ld_ddelta = E, .dA = dA.data(),
            .dB = dB.data(), .ld_dB = N, .dC = dC.data(), .ld_dC = N, .dD = dD.data(), .dz = dz.data(),
            .ld_dz = E, .ddelta_bias = dbias.data()};
  }
};

std::vector<std::int64_t> scan_lengths() { return bench::parse_int_list("--scan-lengths", g_flags.lengths, 1, 65536); }

// The sequential baseline first, then the --scan algorithms (default: every other one).
std::vector<ScanAlgorithm> selected_algorithms(const bench::Options& opt) {
  std::vector<ScanAlgorithm> algos = {ScanAlgorithm::sequential};
  const std::span<const ScanAlgorithm> wanted =
      opt.scans.empty() ? all_scan_algorithms() : std::span<const ScanAlgorithm>(opt.scans);
  for (const ScanAlgorithm a : wanted)
    if (std::find(algos.begin(), algos.end(), a) == algos.end()) algos.push_back(a);
  return algos;
}

void run_scan(const bench::Options& opt, const bench::Emit& emit) {
  const std::vector<ScanAlgorithm> algos = selected_algorithms(opt);
  // The inputs of the longest mamba-130m shape take 10·l·1536·4 bytes (0.5 GiB at 8192); 65536 is ~4 GiB.
  const auto lengths = scan_lengths();
  std::vector<ScanDims> shapes;
  for (const std::int64_t l : lengths) shapes.push_back({1, l, 1536, 16});
  shapes.push_back({8, 256, 512, 16});

  for (const ScanDims& dims : shapes) {
    ScanData d(dims);
    const ScanInputs in = d.inputs();
    const ScanGrads g = d.grads();
    const double elems = static_cast<double>(dims.batch * dims.len * dims.d_inner * dims.d_state);
    for (const int threads : opt.threads) {
      set_num_threads(threads);
      double baseline[2] = {0, 0};  // sequential ms: forward, forward+backward
      for (const ScanAlgorithm algo : algos)
        for (const bool backward : {false, true}) {
          ScanSaved saved;
          auto call = [&] {
            selective_scan_forward(algo, dims, in, {d.out.data(), dims.d_inner, d.last.data()},
                                   backward ? &saved : nullptr);
            if (backward) selective_scan_backward(algo, dims, in, d.dout.data(), dims.d_inner, saved, g);
          };
          // Peak extra heap of one call from a fresh ScanSaved (it is also the warm-up); the timed calls then
          // reuse `saved`, as the model does from step to step.
          const std::int64_t held = heap::current_bytes();
          heap::reset_peak();
          call();
          const double peak_mb = static_cast<double>(heap::peak_bytes() - held) / (1 << 20);
          const bench::Timing t = bench::time_ms(opt.reps, call);
          if (algo == ScanAlgorithm::sequential) baseline[backward] = t.median_ms;
          emit({{"test", std::string(backward ? "scan-fwdbwd" : "scan-fwd")},
                {"scan", std::string(scan_algorithm_name(algo))},
                {"batch", dims.batch},
                {"seq_len", dims.len},
                {"d_inner", dims.d_inner},
                {"d_state", dims.d_state},
                {"threads", static_cast<std::int64_t>(threads)},
                {"ms", t.median_ms, 2},
                {"ms_min", t.min_ms, 2},
                {"ms_max", t.max_ms, 2},
                {"melem_per_s", elems / (t.median_ms * 1e3), 0},
                {"peak_mb", peak_mb, 2},
                {"state_mb", elems * 4 / (1 << 20), 1},
                {"speedup", baseline[backward] / t.median_ms, 2}});
        }
    }
  }
}

const bench::BenchRegistration reg({
    .name = "scan",
    .description = "selective scan fwd and fwd+bwd, b=1 d_in=1536 n=16 at --scan-lengths and b=8 d_in=512 n=16 "
                   "l=256, each --scan algorithm vs the sequential reference",
    .in_default = true,
    .add_flags =
        [](CLI::App& cmd) {
          cmd.add_option("--scan-lengths", g_flags.lengths,
                         "scan: comma list of sequence lengths for the b=1 d_in=1536 shape (default "
                         "128,512,2048,8192; at most 65536)");
        },
    .run = run_scan,
    .prepare = [] { (void)scan_lengths(); },
});

}  // namespace
}  // namespace tinymamba::cli
