// Benchmark tests for the products of each weight type that can be quantized here (ops/matmul/<type>.cpp; the
// K-quants, read from files, are left out), not run by default:
//   gemv  one token (a decode step) through 32 matrices of mamba-130m's in_proj shape (3072 × 768, 302 MB as
//         float32, so every type streams from memory, not cache); gb_s = the type's weight bytes ÷ the median
//         time, against the read bandwidth (ReadBandwidthProbe) sampled after each repetition: ratio ≈ 1 is the
//         memory wall, below it the kernel is compute-bound.
//   gemm  T = 16 and 512 tokens (prefill) through one such matrix; gflops = 2·T·out·in ÷ the median time, and
//         its ratio to float32's (OpenBLAS sgemm on the float32 weights) measured in the same run.
#include <cstdint>
#include <vector>

#include "bench_model.hpp"
#include "tinymamba/core/buffer.hpp"
#include "tinymamba/core/parallel.hpp"
#include "tinymamba/core/quantize.hpp"
#include "tinymamba/ops/linear.hpp"

namespace tinymamba::cli {
namespace {

constexpr std::int64_t kOut = 3072, kIn = 768, kMatrices = 32;

// (kMatrices · kOut, kIn) deterministic weights of about the official init's size (±0.036 for in = 768).
const Buffer<float>& source_weights() {
  static const Buffer<float> w = [] {
    Buffer<float> b(static_cast<std::size_t>(kMatrices * kOut * kIn));
    parallel_for(static_cast<std::int64_t>(b.size()), [&](std::int64_t i0, std::int64_t i1, int) {
      for (std::int64_t i = i0; i < i1; ++i)
        b[i] = static_cast<float>(static_cast<std::int64_t>((static_cast<std::uint64_t>(i) * 2654435761u) % 2001) -
                                  1000) * 3.6e-5f;
    });
    return b;
  }();
  return w;
}

struct Stored {  // one weight type's copy of the first `matrices` source matrices
  Buffer<std::byte> bytes;
  std::vector<WeightMatrix> views;
};
Stored store(WeightType t, std::int64_t matrices) {
  Stored s;
  s.bytes = quantize_matrix(t, source_weights().data(), matrices * kOut, kIn, "bench weights");
  const std::int64_t size = kOut * weight_row_bytes(t, kIn, "bench weights");
  for (std::int64_t m = 0; m < matrices; ++m)
    s.views.push_back(WeightMatrix::dense(t, s.bytes.data() + m * size, kOut, kIn));
  return s;
}

std::vector<float> activations(std::int64_t T) {
  std::vector<float> x(static_cast<std::size_t>(T * kIn));
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(static_cast<std::int64_t>(i * 7919 % 201) - 100) * 0.01f;
  return x;
}

void run_gemv(const bench::Options& o, const bench::Emit& emit) {
  const auto x = activations(1);
  std::vector<float> y(static_cast<std::size_t>(kOut));
  for (const WeightType t : kWeightTypes) {
    if (!weight_type_has_quantizer(t)) continue;  // the K-quants come from files
    const Stored s = store(t, kMatrices);
    const double gbytes = static_cast<double>(s.bytes.size()) / 1e9;
    for (const int th : o.threads) {
      set_num_threads(th);
      ReadBandwidthProbe probe;
      std::vector<double> bw;
      const bench::Timing time = bench::time_ms(o.reps, [&] {
        for (const WeightMatrix& W : s.views) linear_forward({y.data(), kOut}, {x.data(), kIn}, W, nullptr, 1);
      }, [&] { bw.push_back(probe.sample_gbs()); });
      const double gb_s = gbytes / (time.median_ms * 1e-3), bound = bench::median(bw);
      emit({{"test", std::string("gemv")}, {"type", std::string(weight_type_name(t))}, {"threads", std::int64_t{th}},
            {"ms", time.median_ms, 2}, {"gb_s", gb_s, 1}, {"membw_gb_s", bound, 1}, {"ratio", gb_s / bound, 3}});
    }
  }
}

void run_gemm(const bench::Options& o, const bench::Emit& emit) {
  for (const std::int64_t T : {std::int64_t{16}, std::int64_t{512}}) {
    const auto x = activations(T);
    std::vector<float> y(static_cast<std::size_t>(T * kOut));
    for (const int th : o.threads) {
      set_num_threads(th);
      double f32_gflops = 0.0;
      for (const WeightType t : kWeightTypes) {  // f32 first: the baseline
        if (!weight_type_has_quantizer(t)) continue;
        const Stored s = store(t, 1);
        const bench::Timing time = bench::time_ms(o.reps, [&] {
          linear_forward({y.data(), kOut}, {x.data(), kIn}, s.views[0], nullptr, T);
        });
        const double gflops = 2.0 * static_cast<double>(T * kOut * kIn) / (time.median_ms * 1e-3) / 1e9;
        if (t == WeightType::f32) f32_gflops = gflops;
        emit({{"test", std::string("gemm")}, {"type", std::string(weight_type_name(t))}, {"tokens", T},
              {"threads", std::int64_t{th}}, {"ms", time.median_ms, 3}, {"gflops", gflops, 1},
              {"vs_sgemm", gflops / f32_gflops, 3}});
      }
    }
  }
}

const bench::BenchRegistration gemv_reg({"gemv", "one-token product per weight type, GB/s of weights vs read bandwidth",
                                         false, nullptr, run_gemv, nullptr});
const bench::BenchRegistration gemm_reg({"gemm", "16- and 512-token product per weight type, GFLOP/s vs f32 sgemm",
                                         false, nullptr, run_gemm, nullptr});

}  // namespace
}  // namespace tinymamba::cli
