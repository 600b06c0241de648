// `tinymamba bench --tests ssd` as a user runs it: JSON rows with the documented fields, no per-token state
// tensor in any row's heap, and one-line errors for its bad flags.
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <sstream>

#include "run_cli.hpp"

namespace tinymamba {
namespace {

TEST(CliBenchSsd, JsonRowsHaveTheDocumentedFields) {
  const test::CliResult r =
      test::run_cli("bench --tests ssd --ssd-lengths 16 --ssd-chunk 8 --reps 1 --threads 1 --json");
  ASSERT_EQ(r.status, 0) << r.out << r.err;
  std::istringstream lines(r.out);
  int rows = 0, chunked = 0;
  for (std::string line; std::getline(lines, line);) {
    const auto j = nlohmann::json::parse(line);
    for (const char* key : {"test", "ssd", "seq_len", "chunk", "threads", "ms", "melem_per_s", "gflop_per_s",
                            "peak_mb", "state_mb", "speedup"})
      EXPECT_TRUE(j.contains(key)) << key << " missing in " << line;
    EXPECT_TRUE(j["test"] == "ssd-fwd" || j["test"] == "ssd-fwdbwd") << line;
    EXPECT_GT(j["ms"].get<double>(), 0.0) << line;
    EXPECT_EQ(j["seq_len"].get<int>(), 16) << line;
    EXPECT_EQ(j["chunk"].get<int>(), 8) << line;
    // What a call allocates stays below one (b, l, h, p, n) state tensor (0 in a ThreadSanitizer build).
    EXPECT_LT(j["peak_mb"].get<double>(), j["state_mb"].get<double>()) << line;
    chunked += j["ssd"] == "chunked";
    ++rows;
  }
  EXPECT_EQ(rows, 4) << r.out;  // {sequential baseline, chunked} × {fwd, fwd+bwd}
  EXPECT_EQ(chunked, 2) << r.out;
}

TEST(CliBenchSsd, BadFlagsAreOneLineErrors) {
  for (const char* args : {"--ssd-lengths 0", "--ssd-lengths 16,x", "--ssd-chunk 0"}) {
    const test::CliResult r = test::run_cli(std::string("bench --tests ssd ") + args);
    EXPECT_EQ(r.status, 1) << args;
    EXPECT_NE(r.err.find("tinymamba bench: error: --ssd-"), std::string::npos) << args << ": " << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << args << ": " << r.err;
  }
}

}  // namespace
}  // namespace tinymamba
