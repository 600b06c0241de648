// Google Benchmark: every scan algorithm, forward and forward+backward, on the mamba-130m layer shape
// (b=1, d_in=1536, n=16) at a few lengths and on the training shape (b=8, d_in=512, n=16, l=256).
// Rates are state updates (b·l·d_in·n) per second. The CLI's `tinymamba bench --tests scan` reports the same
// figures as a table with the sequential baseline and peak memory; this file is for quick kernel work:
//   ./build/bench/tinymamba_bench --benchmark_filter='chunked/fwd' --benchmark_repetitions=5
#include <benchmark/benchmark.h>

#include <random>
#include <string>
#include <vector>

#include "tinymamba/core/parallel.hpp"
#include "tinymamba/ops/selective_scan.hpp"

namespace tinymamba {
namespace {

struct ScanProblem {
  ScanDims dims;
  std::vector<float> u, delta, A, B, C, D, z, bias, dout, out, du, ddelta, dA, dB, dC, dD, dz, dbias;
  explicit ScanProblem(ScanDims d) : dims(d) {
    const auto tl = static_cast<std::size_t>(d.batch * d.len);
    const auto E = static_cast<std::size_t>(d.d_inner), N = static_cast<std::size_t>(d.d_state);
    std::mt19937 rng(0);
    std::normal_distribution<float> normal;
    std::uniform_real_distribution<float> unif(0.0f, 1.0f);
    auto fill = [&](std::vector<float>& v, std::size_t n) {
      v.resize(n);
      for (float& x : v) x = normal(rng);
    };
    fill(u, tl * E), fill(delta, tl * E), fill(B, tl * N), fill(C, tl * N), fill(D, E), fill(z, tl * E);
    fill(dout, tl * E);
    A.resize(E * N);
    for (float& a : A) a = -std::exp(std::log(0.5f) + unif(rng) * std::log(32.0f));  // |A| in [0.5, 16]
    bias.resize(E);
    for (float& b : bias) b = std::log(std::expm1(0.001f + 0.099f * unif(rng)));  // softplus⁻¹ of [1e-3, 0.1]
    for (auto* v : {&out, &du, &ddelta, &dz}) v->resize(tl * E);
    for (auto* v : {&dB, &dC}) v->resize(tl * N);
    dA.resize(E * N), dD.resize(E), dbias.resize(E);
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

void run(benchmark::State& state, ScanAlgorithm algo, bool backward, ScanDims dims) {
  set_num_threads(static_cast<int>(state.range(0)));
  ScanProblem p(dims);
  const ScanInputs in = p.inputs();
  const ScanGrads g = p.grads();
  ScanSaved saved;
  for (auto _ : state) {
    selective_scan_forward(algo, dims, in, {p.out.data(), dims.d_inner}, backward ? &saved : nullptr);
    if (backward) selective_scan_backward(algo, dims, in, p.dout.data(), dims.d_inner, saved, g);
    benchmark::DoNotOptimize(p.out.data());
    benchmark::ClobberMemory();
  }
  const double elems = static_cast<double>(dims.batch * dims.len * dims.d_inner * dims.d_state);
  state.counters["elem/s"] = benchmark::Counter(elems, benchmark::Counter::kIsIterationInvariantRate);
}

const int registered = [] {
  const std::vector<std::pair<std::string, ScanDims>> shapes = {
      {"b1_d1536_l512", {1, 512, 1536, 16}}, {"b1_d1536_l2048", {1, 2048, 1536, 16}},
      {"b1_d1536_l8192", {1, 8192, 1536, 16}},
      {"b8_d512_l256", {8, 256, 512, 16}}};
  for (const ScanAlgorithm algo : all_scan_algorithms())
    for (const bool bwd : {false, true})
      for (const auto& [name, dims] : shapes) {
        const std::string label = std::string(scan_algorithm_name(algo)) + (bwd ? "/fwdbwd/" : "/fwd/") + name;
        benchmark::RegisterBenchmark(label.c_str(), run, algo, bwd, dims)
            ->ArgName("threads")
            ->Arg(1)
            ->Arg(2)
            ->Unit(benchmark::kMillisecond)
            ->UseRealTime();
      }
  return 0;
}();

}  // namespace
}  // namespace tinymamba
