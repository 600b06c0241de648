// `tinymamba bench` as a user runs it: JSON rows with the documented fields, and one-line errors for bad flags.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "test_paths.hpp"

namespace tinymamba {
namespace {

// The CLI counts heap bytes with its own operator new, which a ThreadSanitizer build cannot replace
// (cli/heap_tracker.hpp): there every heap figure is 0 and says nothing.
#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define TINYMAMBA_TSAN 1
#endif
#endif
#if defined(TINYMAMBA_TSAN) || defined(__SANITIZE_THREAD__)
constexpr bool kHeapCounted = false;
#else
constexpr bool kHeapCounted = true;
#endif

struct CliResult {
  int status;
  std::string out;  // stdout and stderr
};
CliResult run_cli(const std::string& args) {
  const std::string cmd = test::cli_path() + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return {-1, ""};
  std::string out;
  std::array<char, 4096> buf;
  for (std::size_t n; (n = fread(buf.data(), 1, buf.size(), p)) > 0;) out.append(buf.data(), n);
  const int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

TEST(CliBench, ScanJsonRowsHaveTheDocumentedFields) {
  const CliResult r = run_cli("bench --tests scan --scan chunked --scan-lengths 16 --reps 1 --threads 1 --json");
  ASSERT_EQ(r.status, 0) << r.out;
  std::istringstream lines(r.out);
  int rows = 0, chunked = 0;
  for (std::string line; std::getline(lines, line);) {
    const auto j = nlohmann::json::parse(line);
    for (const char* key : {"test", "scan", "seq_len", "threads", "ms", "peak_mb", "melem_per_s", "speedup"})
      EXPECT_TRUE(j.contains(key)) << key << " missing in " << line;
    EXPECT_TRUE(j["test"] == "scan-fwd" || j["test"] == "scan-fwdbwd") << line;
    EXPECT_GT(j["ms"].get<double>(), 0.0) << line;
    EXPECT_EQ(j["threads"].get<int>(), 1) << line;
    chunked += j["scan"] == "chunked";
    ++rows;
  }
  // 2 shapes (l=16 and the training shape) × {sequential baseline, chunked} × {fwd, fwd+bwd}
  EXPECT_EQ(rows, 8) << r.out;
  EXPECT_EQ(chunked, 4) << r.out;
}

// The per-weight-type GEMM rows (cli/bench_matmul.cpp): each type that can be quantized here, at T = 16 and 512,
// against float32's sgemm measured in the same run. (The gemv test streams 300 MB per type: not run here.)
TEST(CliBench, GemmRowsPerWeightType) {
  const CliResult r = run_cli("bench --tests gemm --reps 1 --threads 1 --json");
  ASSERT_EQ(r.status, 0) << r.out;
  std::istringstream lines(r.out);
  std::map<std::string, int> per_type;
  for (std::string line; std::getline(lines, line);) {
    const auto j = nlohmann::json::parse(line);
    for (const char* key : {"test", "type", "tokens", "threads", "ms", "gflops", "vs_sgemm"})
      EXPECT_TRUE(j.contains(key)) << key << " missing in " << line;
    EXPECT_GT(j["gflops"].get<double>(), 0.0) << line;
    if (j["type"] == "f32") EXPECT_EQ(j["vs_sgemm"].get<double>(), 1.0) << line;
    ++per_type[j["type"].get<std::string>()];
  }
  EXPECT_EQ(per_type, (std::map<std::string, int>{{"bf16", 2}, {"f16", 2}, {"f32", 2}, {"q4_0", 2}, {"q8_0", 2}}))
      << r.out;
}

// The model tests on the goldens' tiny shape: their rows, a ratio to a bound that was measured, and a decode
// that allocates nothing per token (heap_growth counts every C++ allocation of the 128 timed steps). pp512 and
// train512 run once per --scan algorithm; tg128 once (a decode step scans nothing), with no scan field.
// The same rows for a Mamba-2 shape: its own parameter count in `params` and its mixer in `shape`.
TEST(CliBench, Mamba2ShapeRowsCarryTheirShapeAndSizes) {
  const CliResult r = run_cli("bench --tests pp512,tg128 --shape mamba2-tiny --reps 1 --threads 1 --json");
  ASSERT_EQ(r.status, 0) << r.out;
  std::istringstream lines(r.out);
  int rows = 0;
  for (std::string line; std::getline(lines, line); ++rows) {
    const auto j = nlohmann::json::parse(line);
    EXPECT_EQ(j["shape"], "Mamba2 d64 l2") << line;
    EXPECT_EQ(j["params"], 72752) << line;  // the golden tiny Mamba-2's count (info -m ../shared/golden/tiny-mamba2)
    EXPECT_GT(j["tok_s"].get<double>(), 0.0) << line;
  }
  EXPECT_EQ(rows, 2);
}

TEST(CliBench, ModelTestsReportTokensPerSecondAgainstTheirBounds) {
  const CliResult r =
      run_cli("bench --tests pp512,tg128,train512 --shape tiny --scan chunked,sequential --reps 1 --threads 1 --json");
  ASSERT_EQ(r.status, 0) << r.out;
  std::istringstream lines(r.out);
  std::map<std::string, int> rows;
  for (std::string line; std::getline(lines, line);) {
    const auto j = nlohmann::json::parse(line);
    for (const char* key : {"test", "model", "shape", "threads", "params", "nonemb_params", "weight_bytes", "tok_s",
                            "bound_tok_s", "ratio"})
      ASSERT_TRUE(j.contains(key)) << key << " missing in " << line;
    EXPECT_EQ(j.contains("scan"), j["test"] != "tg128") << line;
    EXPECT_EQ(j["model"], "tiny") << line;
    // The tiny shape: 81,856 parameters (the golden tiny-mamba's count), 256 × 64 of them the tied embedding;
    // float32 throughout: 4 bytes each.
    EXPECT_EQ(j["params"], 81856) << line;
    EXPECT_EQ(j["nonemb_params"], 81856 - 256 * 64) << line;
    EXPECT_EQ(j["weight_bytes"], 4 * 81856) << line;
    EXPECT_GT(j["tok_s"].get<double>(), 0.0) << line;
    EXPECT_GT(j["bound_tok_s"].get<double>(), 0.0) << line;
    // ratio must be tok_s ÷ bound_tok_s: the same doubles, printed in full, so they agree to rounding (~1e-16);
    // 1e-3 only allows for a different order of the divisions. Not a numerical-fidelity tolerance.
    EXPECT_NEAR(j["ratio"].get<double>(), j["tok_s"].get<double>() / j["bound_tok_s"].get<double>(),
                1e-3 * j["ratio"].get<double>() + 1e-3)
        << line;
    if (kHeapCounted) {
      if (j["test"] == "tg128") {
        EXPECT_EQ(j["heap_growth"].get<std::int64_t>(), 0) << line;
      } else {
        EXPECT_GT(j["peak_mb"].get<double>(), 0.0) << line;
      }
    }
    ++rows[j["test"].get<std::string>() + "/" + j.value("scan", "")];
  }
  for (const char* test : {"pp512", "train512"})
    for (const char* scan : {"chunked", "sequential"})
      EXPECT_EQ((rows[std::string(test) + "/" + scan]), 1) << test << " " << scan << "\n" << r.out;
  EXPECT_EQ(rows["tg128/"], 1) << r.out;
}

TEST(CliBench, BadFlagsAreOneLineErrors) {
  for (const char* args : {"--threads 0", "--threads 1,x", "--reps 0", "--tests nope", "--scan fast",
                           "--scan-lengths 0", "--scan-lengths 100000000", "--scan-lengths 16,,2", "--shape huge",
                           "-m /nonexistent --tests pp512"}) {
    const CliResult r = run_cli(std::string("bench ") + args);
    EXPECT_EQ(r.status, 1) << args << ": " << r.out;
    EXPECT_EQ(r.out.find("tinymamba bench: error: "), 0u) << args << ": " << r.out;
    EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << args << ": " << r.out;
  }
}

}  // namespace
}  // namespace tinymamba
