// The registry behind `tinymamba bench`: each benchmark test lives in its own file (bench_<name>.cpp) and
// registers itself with a static BenchRegistration — its name, whether it runs by default, the flags of its own
// it adds to the `bench` subcommand, and a function that measures and emits result rows. cmd_bench.cpp owns the
// common flags (--tests, --threads, --reps, --scan, --json) and prints rows as a table or as JSON lines.
#pragma once

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <variant>
#include <vector>

#include "tinymamba/ops/selective_scan.hpp"

namespace tinymamba::cli::bench {

// One cell of a result row. Numbers go to JSON as numbers; the table prints doubles with `precision` digits
// after the point, or in scientific notation with −precision digits when precision < 0.
struct Field {
  std::string key;
  std::variant<std::string, std::int64_t, double> value;
  int precision = 2;
};
using Row = std::vector<Field>;  // by convention the first field is {"test", name}
using Emit = std::function<void(const Row&)>;

// The common flags, already validated.
struct Options {
  std::vector<int> threads;  // run each test at each of these thread counts
  int reps = 5;              // timed repetitions per measurement (the median is reported)
  std::vector<ScanAlgorithm> scans;  // --scan: the algorithms asked for, in order; empty when not given
};

struct Test {
  std::string name;
  std::string description;  // one line, for --help
  bool in_default = true;   // run when --tests is not given
  std::function<void(CLI::App& bench)> add_flags;  // may be empty
  std::function<void(const Options&, const Emit&)> run;
  std::function<void()> prepare;  // may be empty: checks the test's flags, before any selected test runs
};

std::vector<Test>& registry();
struct BenchRegistration {
  explicit BenchRegistration(Test t) { registry().push_back(std::move(t)); }
};

// The median of xs (not empty): the middle value, or the mean of the two middle ones.
[[nodiscard]] inline double median(std::vector<double> xs) {
  std::sort(xs.begin(), xs.end());
  const std::size_t n = xs.size();
  return n % 2 ? xs[n / 2] : 0.5 * (xs[n / 2 - 1] + xs[n / 2]);
}

// Timing: one untimed warm-up call, then `reps` timed calls; the median, min and max in milliseconds.
// `after_each` runs, untimed, after every timed call: a machine bound sampled next to each repetition of the
// measurement it bounds (bench_model.hpp).
struct Timing {
  double median_ms, min_ms, max_ms;
};
template <class F, class G>
Timing time_ms(int reps, F&& fn, G&& after_each) {
  fn();
  std::vector<double> ms;
  for (int r = 0; r < reps; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    fn();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    after_each();
  }
  const auto [lo, hi] = std::minmax_element(ms.begin(), ms.end());
  return {median(ms), *lo, *hi};
}
template <class F>
Timing time_ms(int reps, F&& fn) {
  return time_ms(reps, fn, [] {});
}

// "1,2,4" → {1, 2, 4}, each in [lo, hi]; throws Error naming the flag on anything else.
std::vector<std::int64_t> parse_int_list(const std::string& flag, const std::string& text, std::int64_t lo,
                                         std::int64_t hi);
// "a,b" → {"a", "b"} (no empty items).
std::vector<std::string> parse_name_list(const std::string& flag, const std::string& text);

}  // namespace tinymamba::cli::bench
