// What the whole-model benchmark tests (bench_inference.cpp, bench_train.cpp) share: the model under test
// (--shape, random weights with the official init, or -m DIR), the machine bounds they are measured against
// (sgemm GFLOP/s, memory read bandwidth), measured in the same run at the same thread count, and their rows.
#pragma once

#include <optional>

#include <cstdint>
#include <string>
#include <vector>

#include "bench.hpp"
#include "tinymamba/model/model.hpp"

namespace tinymamba::cli {

// Adds --shape and -m to `bench` (registered once, with the pp512 test).
void add_model_flags(CLI::App& bench);

// The model under test, built or loaded on first use; load_bench_model() is that first use, as a test's prepare.
[[nodiscard]] const Model& bench_model();
inline void load_bench_model() { (void)bench_model(); }

// OpenBLAS sgemm (2048³) GFLOP/s at the current thread count: the compute bound.
[[nodiscard]] double sgemm_gflops(int reps);
// Memory read bandwidth GB/s (a 512 MiB streaming sum) at the current thread count: the decode bound.
[[nodiscard]] double read_bandwidth_gbs(int reps);

// n token ids spread over the vocabulary (deterministic).
[[nodiscard]] std::vector<std::int32_t> bench_ids(std::int64_t n, std::int64_t vocab);

// The algorithms the model tests run with: --scan's, else the default.
[[nodiscard]] std::vector<ScanAlgorithm> model_scans(const bench::Options& opt);

// {test, model, scan, threads}, the fields every model row starts with.
[[nodiscard]] bench::Row model_row(const std::string& test, std::optional<ScanAlgorithm> scan, int threads);

// tok/s of `tokens` per call from a Timing: the median, and the spread (slowest and fastest call).
void add_tok_s(bench::Row& row, double tokens, const bench::Timing& t);

}  // namespace tinymamba::cli
