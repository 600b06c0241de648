// Benchmark test `ssd` (not in the default set): the Mamba-2 SSD scan, forward and forward+backward, for the
// mamba2-130m layer shape (b=1, h=24, p=64, g=1, n=128) at each --ssd-lengths with chunk --ssd-chunk, the
// sequential reference measured in the same run as the baseline (`speedup`) of the chunked algorithm.
// Reported per measurement: median ms, state updates per second (b·l·h·p·n / time), GFLOP/s of the chunked
// algorithm's matrix products (per head: forward 2·l·(Q·(n + p) + 2·n·p), backward with z 2·l·(3·Q·(n + p) +
// 5·n·p); the sequential rows are given the same count, as a common yardstick), and the peak extra heap next
// to the size a (b, l, h, p, n) state tensor would have (`state_mb`).
#include <random>

#include "bench.hpp"
#include "heap_tracker.hpp"
#include "tinymamba/core/buffer.hpp"
#include "tinymamba/core/parallel.hpp"
#include "tinymamba/ops/ssd/ssd_scan.hpp"

namespace tinymamba::cli {
namespace {

struct SsdFlags {
  std::string lengths = "256,1024,2048";
  std::int64_t chunk = 256;
};
SsdFlags g_flags;

// Inputs like the golden ssd cases' (x, B, C, D, z, dy ~ N(0,1), dt ~ N(0,1), dt_bias = softplus⁻¹ of
// [1e-3, 0.1], |A| in [1, 16]), outputs and gradients: allocated before anything is measured.
struct SsdData {
  SsdDims dims;
  Buffer<float> x, dt, A, B, C, D, z, bias, dy, y, final_state, dx, ddt, dA, dB, dC, dD, dz, dbias;
  explicit SsdData(SsdDims d) : dims(d) {
    const auto BL = static_cast<std::size_t>(d.batch * d.len), HP = static_cast<std::size_t>(d.nheads * d.headdim),
               GN = static_cast<std::size_t>(d.ngroups * d.d_state), H = static_cast<std::size_t>(d.nheads);
    std::mt19937 rng(42);
    std::normal_distribution<float> normal;
    std::uniform_real_distribution<float> unif(0.0f, 1.0f);
    auto randn = [&](Buffer<float>& v, std::size_t n) {
      v.resize(n);
      for (float& e : v) e = normal(rng);
    };
    randn(x, BL * HP), randn(z, BL * HP), randn(dy, BL * HP), randn(dt, BL * H), randn(B, BL * GN), randn(C, BL * GN);
    randn(D, H);
    A.resize(H), bias.resize(H);
    for (float& a : A) a = -(1.0f + 15.0f * unif(rng));
    for (float& b : bias) b = std::log(std::expm1(0.001f + 0.099f * unif(rng)));
    for (auto* v : {&y, &dx, &dz}) v->assign(BL * HP, 0.0f);
    for (auto* v : {&dB, &dC}) v->assign(BL * GN, 0.0f);
    ddt.assign(BL * H, 0.0f), dA.assign(H, 0.0f), dD.assign(H, 0.0f), dbias.assign(H, 0.0f);
    final_state.assign(static_cast<std::size_t>(d.batch) * HP * static_cast<std::size_t>(d.d_state), 0.0f);
  }
  SsdInputs inputs() const {
    const std::int64_t HP = dims.nheads * dims.headdim, GN = dims.ngroups * dims.d_state;
    return {.x = x.data(), .ld_x = HP, .dt = dt.data(), .ld_dt = dims.nheads, .A = A.data(), .B = B.data(),
            .ld_B = GN, .C = C.data(), .ld_C = GN, .D = D.data(), .z = z.data(), .ld_z = HP, .dt_bias = bias.data()};
  }
  SsdGrads grads() {
    const std::int64_t HP = dims.nheads * dims.headdim, GN = dims.ngroups * dims.d_state;
    return {.dx = dx.data(), .ld_dx = HP, .ddt = ddt.data(), .ld_ddt = dims.nheads, .dA = dA.data(), .dB = dB.data(),
            .ld_dB = GN, .dC = dC.data(), .ld_dC = GN, .dD = dD.data(), .dz = dz.data(), .ld_dz = HP,
            .ddt_bias = dbias.data()};
  }
};

std::vector<std::int64_t> ssd_lengths() { return bench::parse_int_list("--ssd-lengths", g_flags.lengths, 1, 65536); }

void run_ssd(const bench::Options& opt, const bench::Emit& emit) {
  for (const std::int64_t l : ssd_lengths()) {
    const SsdDims dims{1, l, 24, 64, 1, 128, g_flags.chunk};
    SsdData d(dims);
    const SsdInputs in = d.inputs();
    const SsdGrads g = d.grads();
    const double elems = static_cast<double>(dims.batch * l * dims.nheads * dims.headdim * dims.d_state);
    const double q = static_cast<double>(std::min(dims.chunk, l)), p = 64, n = 128;
    const double fwd_flops = dims.nheads * 2.0 * l * (q * (n + p) + 2 * n * p);
    const double bwd_flops = dims.nheads * 2.0 * l * (3 * q * (n + p) + 5 * n * p);
    for (const int threads : opt.threads) {
      set_num_threads(threads);
      double baseline[2] = {0, 0};  // sequential ms: forward, forward+backward
      for (const SsdAlgorithm algo : all_ssd_algorithms())
        for (const bool backward : {false, true}) {
          SsdSaved saved;
          auto call = [&] {
            ssd_scan_forward(algo, dims, in, {d.y.data(), dims.nheads * dims.headdim, d.final_state.data()},
                             backward ? &saved : nullptr);
            if (backward)
              ssd_scan_backward(algo, dims, in, d.dy.data(), dims.nheads * dims.headdim, nullptr, saved, g);
          };
          const std::int64_t held = heap::current_bytes();
          heap::reset_peak();
          call();  // also the warm-up
          const double peak_mb = static_cast<double>(heap::peak_bytes() - held) / (1 << 20);
          const bench::Timing t = bench::time_ms(opt.reps, call);
          if (algo == SsdAlgorithm::sequential) baseline[backward] = t.median_ms;
          const double flops = fwd_flops + (backward ? bwd_flops : 0.0);
          emit({{"test", std::string(backward ? "ssd-fwdbwd" : "ssd-fwd")},
                {"ssd", std::string(ssd_algorithm_name(algo))},
                {"seq_len", l},
                {"chunk", dims.chunk},
                {"threads", static_cast<std::int64_t>(threads)},
                {"ms", t.median_ms, 2},
                {"ms_min", t.min_ms, 2},
                {"ms_max", t.max_ms, 2},
                {"melem_per_s", elems / (t.median_ms * 1e3), 0},
                {"gflop_per_s", flops / (t.median_ms * 1e6), 1},
                {"peak_mb", peak_mb, 2},
                {"state_mb", elems * 4 / (1 << 20), 1},
                {"speedup", baseline[backward] / t.median_ms, 2}});
        }
    }
  }
}

const bench::BenchRegistration reg({
    .name = "ssd",
    .description = "Mamba-2 SSD scan fwd and fwd+bwd, b=1 h=24 p=64 n=128 (mamba2-130m) at --ssd-lengths, "
                   "chunked vs the sequential reference",
    .in_default = false,
    .add_flags =
        [](CLI::App& cmd) {
          cmd.add_option("--ssd-lengths", g_flags.lengths,
                         "ssd: comma list of sequence lengths (default 256,1024,2048; at most 65536)");
          cmd.add_option("--ssd-chunk", g_flags.chunk, "ssd: the chunked algorithm's chunk size (default 256)")
              ->check(CLI::Range(std::int64_t{1}, std::int64_t{65536}));
        },
    .run = run_ssd,
    .prepare = [] { (void)ssd_lengths(); },
});

}  // namespace
}  // namespace tinymamba::cli
