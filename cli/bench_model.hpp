// What the whole-model benchmark tests (bench_inference.cpp, bench_train.cpp) share: the model under test
// (--shape, random weights with the official init, or -m DIR), the machine bounds they are measured against
// (sgemm GFLOP/s, memory read bandwidth), measured in the same run at the same thread count, and their rows.
#pragma once

#include <optional>

#include <cstdint>
#include <string>
#include <vector>

#include "bench.hpp"
#include "tinymamba/core/buffer.hpp"
#include "tinymamba/model/model.hpp"

namespace tinymamba::cli {

// Adds --shape and -m to `bench` (registered once, with the pp512 test).
void add_model_flags(CLI::App& bench);

// The model under test, built or loaded on first use; load_bench_model() is that first use, as a test's prepare.
[[nodiscard]] const Model& bench_model();
inline void load_bench_model() { (void)bench_model(); }

// The machine bounds, at the current thread count. A test samples its bound after every repetition of what it
// times (bench::time_ms's after_each) and divides by the median sample: this VM's memory bandwidth moves by a
// third and more within a minute, and a bound measured once, seconds away from the timed repetitions, put the
// same decode binary at ratios from 0.6 to 1.1 in back-to-back runs.
// OpenBLAS sgemm (2048³) GFLOP/s: the compute bound.
class SgemmProbe {
 public:
  SgemmProbe();
  [[nodiscard]] double sample_gflops();  // one product

 private:
  Buffer<float> a_, b_, c_;
};
// Memory read bandwidth GB/s, a streaming sum over 512 MiB (on huge pages, like the weights: buffer.hpp): the
// decode bound.
class ReadBandwidthProbe {
 public:
  ReadBandwidthProbe();
  [[nodiscard]] double sample_gbs();  // one pass

 private:
  Buffer<float> data_;
  std::vector<float> partial_;
};
// The decode product's arithmetic rate, GMAC/s (multiply-adds): linear_rows_accumulate over one cached (rows, cols)
// matrix of weight type t for T tokens, the rows split over the threads as a decode step splits them. The weights
// stay in cache (read again every pass), so memory does not bound it: what a step's products could reach if
// bandwidth were free, the compute bound of a decode (tg128 of the packed 4-bit types; the serve test's batched
// steps).
class DecodeProductProbe {
 public:
  DecodeProductProbe(WeightType t, std::int64_t rows, std::int64_t cols, std::int64_t T);
  [[nodiscard]] double sample_gmacs();  // a few passes

 private:
  Buffer<std::byte> w_;
  WeightMatrix W_;
  std::vector<float> x_, y_;
  std::int64_t T_;
};
// Each probe takes one untimed sample when it is made (a warm-up). The median of `reps` samples (the `sgemm` and
// `membw` tests):
[[nodiscard]] double sgemm_gflops(int reps);
[[nodiscard]] double read_bandwidth_gbs(int reps);

// Multiply-adds of one decode step per token: one per parameter, the embedding row lookup aside (a tied lm_head
// counts once).
[[nodiscard]] std::int64_t macs_per_token(const Config& c);

// n token ids spread over the vocabulary (deterministic).
[[nodiscard]] std::vector<std::int32_t> bench_ids(std::int64_t n, std::int64_t vocab);

// The algorithms the model tests run with: --scan's, else the default.
[[nodiscard]] std::vector<ScanAlgorithm> model_scans(const bench::Options& opt);

// {test, model, scan, threads, dtype, weight_bytes}, the fields every model row starts with.
[[nodiscard]] bench::Row model_row(const std::string& test, std::optional<ScanAlgorithm> scan, int threads);

// tok/s of `tokens` per call from a Timing: the median, and the spread (slowest and fastest call).
void add_tok_s(bench::Row& row, double tokens, const bench::Timing& t);

}  // namespace tinymamba::cli
