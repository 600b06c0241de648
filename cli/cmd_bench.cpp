// `tinymamba bench`: runs the registered benchmark tests (bench_*.cpp, see bench.hpp) at each requested
// thread count and prints one row per measurement — a llama-bench-like table by default, one JSON object per
// line with --json.
#include <cstdio>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "bench.hpp"
#include "command.hpp"
#include "tinymamba/core/error.hpp"
#include "tinymamba/core/parallel.hpp"

namespace tinymamba::cli {
namespace bench {

std::vector<Test>& registry() {
  static std::vector<Test> r;
  return r;
}

std::vector<std::string> parse_name_list(const std::string& flag, const std::string& text) {
  std::vector<std::string> out;
  std::stringstream s(text);
  for (std::string item; std::getline(s, item, ',');) {
    if (item.empty()) fail(flag, ": empty item in '", text, "'");
    out.push_back(item);
  }
  if (out.empty()) fail(flag, ": empty list");
  return out;
}

std::vector<std::int64_t> parse_int_list(const std::string& flag, const std::string& text, std::int64_t lo,
                                         std::int64_t hi) {
  std::vector<std::int64_t> out;
  for (const std::string& item : parse_name_list(flag, text)) {
    std::size_t used = 0;
    long long v = 0;
    try {
      v = std::stoll(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != item.size()) fail(flag, ": '", item, "' is not an integer");
    if (v < lo || v > hi) fail(flag, ": ", v, " is out of range [", lo, ", ", hi, "]");
    out.push_back(v);
  }
  return out;
}

}  // namespace bench

namespace {

struct Flags {
  std::string tests, threads, reps = "5", scans;
  bool json = false;
};

std::string cell(const bench::Field& f) {
  if (const auto* s = std::get_if<std::string>(&f.value)) return *s;
  if (const auto* i = std::get_if<std::int64_t>(&f.value)) return std::to_string(*i);
  char buf[64];
  if (f.precision < 0) {
    std::snprintf(buf, sizeof buf, "%.*e", -f.precision, std::get<double>(f.value));
  } else {
    std::snprintf(buf, sizeof buf, "%.*f", f.precision, std::get<double>(f.value));
  }
  return buf;
}

// Markdown table; a new header whenever the columns change (another test).
class Table {
 public:
  void print(const bench::Row& row) {
    std::vector<std::string> keys;
    for (const auto& f : row) keys.push_back(f.key);
    if (keys != keys_) {
      keys_ = keys;
      widths_.clear();
      std::string head = "|", rule = "|";
      for (const auto& f : row) {
        const bool text = std::holds_alternative<std::string>(f.value);
        const int w = std::max<int>(static_cast<int>(f.key.size()), text ? 12 : 8);
        widths_.push_back(text ? -w : w);
        head += " " + pad(f.key, widths_.back()) + " |";
        rule += " " + std::string(static_cast<std::size_t>(w - 1), '-') + (text ? "-" : ":") + " |";
      }
      std::printf("%s%s\n%s\n", first_ ? "" : "\n", head.c_str(), rule.c_str());
      first_ = false;
    }
    std::string line = "|";
    for (std::size_t i = 0; i < row.size(); ++i) line += " " + pad(cell(row[i]), widths_[i]) + " |";
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
  }

 private:
  static std::string pad(const std::string& s, int w) {  // w < 0: left-aligned
    const std::size_t n = static_cast<std::size_t>(std::abs(w));
    if (s.size() >= n) return s;
    return w < 0 ? s + std::string(n - s.size(), ' ') : std::string(n - s.size(), ' ') + s;
  }
  std::vector<std::string> keys_;
  std::vector<int> widths_;
  bool first_ = true;
};

void print_json(const bench::Row& row) {
  nlohmann::ordered_json j;
  for (const auto& f : row) std::visit([&](const auto& v) { j[f.key] = v; }, f.value);
  std::printf("%s\n", j.dump().c_str());
  std::fflush(stdout);
}

void run(const Flags& f) {
  auto& reg = bench::registry();
  std::sort(reg.begin(), reg.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  std::string available;
  for (const auto& t : reg) available += (available.empty() ? "" : ", ") + t.name;

  std::vector<const bench::Test*> tests;
  if (f.tests.empty()) {
    for (const auto& t : reg)
      if (t.in_default) tests.push_back(&t);
  } else {
    std::set<std::string> seen;
    for (const std::string& name : bench::parse_name_list("--tests", f.tests)) {
      auto it = std::find_if(reg.begin(), reg.end(), [&](const auto& t) { return t.name == name; });
      if (it == reg.end()) fail("--tests: unknown test '", name, "' (available: ", available, ")");
      if (seen.insert(name).second) tests.push_back(&*it);
    }
  }
  bench::Options opt;
  if (f.threads.empty()) {
    opt.threads = {num_threads()};
  } else {
    for (const std::int64_t t : bench::parse_int_list("--threads", f.threads, 1, 1024))
      opt.threads.push_back(static_cast<int>(t));
  }
  const auto reps = bench::parse_int_list("--reps", f.reps, 1, 1000);
  if (reps.size() != 1) fail("--reps: one number, got '", f.reps, "'");
  opt.reps = static_cast<int>(reps[0]);
  if (!f.scans.empty())
    for (const std::string& name : bench::parse_name_list("--scan", f.scans)) {
      ScanAlgorithm a;
      try {
        a = parse_scan_algorithm(name);
      } catch (const Error& e) {
        fail("--scan: ", e.what());
      }
      if (std::find(opt.scans.begin(), opt.scans.end(), a) == opt.scans.end()) opt.scans.push_back(a);
    }

  Table table;
  const bench::Emit emit = [&](const bench::Row& row) {
    if (f.json) {
      print_json(row);
    } else {
      table.print(row);
    }
  };
  const int threads_before = num_threads();
  for (const bench::Test* t : tests)  // a bad flag is an error before anything is measured
    if (t->prepare) t->prepare();
  for (const bench::Test* t : tests) t->run(opt, emit);
  set_num_threads(threads_before);
}

const Registration reg(60, [](CLI::App& app) {
  static Flags f;
  std::string list;
  for (const auto& t : bench::registry())
    list += "\n  " + t.name + (t.in_default ? "" : " (not run by default)") + ": " + t.description;
  auto* cmd = app.add_subcommand("bench", "Benchmark kernels and the model; one row per measurement, the median of "
                                          "--reps timed runs after a warm-up.\nTests:" + list);
  cmd->add_option("--tests", f.tests, "Comma list of tests to run (default: every test not marked otherwise)");
  cmd->add_option("--threads", f.threads, "Comma list of thread counts; each test runs at each (default: the "
                                          "current count, OMP_NUM_THREADS or all cores)");
  cmd->add_option("--reps", f.reps, "Timed repetitions per measurement; the median is reported (default 5)");
  std::string names;
  for (auto a : all_scan_algorithms()) names += (names.empty() ? "" : ",") + std::string(scan_algorithm_name(a));
  cmd->add_option("--scan", f.scans, "Comma list of selective-scan algorithms (" + names + "); the scan test "
                                     "times each against the sequential baseline (default: all), pp512 and "
                                     "train512 run with each (default: " + std::string(scan_algorithm_name(kDefaultScan)) + ")");
  cmd->add_flag("--json", f.json, "Print one JSON object per line instead of a table");
  for (const auto& t : bench::registry())
    if (t.add_flags) t.add_flags(*cmd);
  cmd->callback([] { run(f); });
});

}  // namespace
}  // namespace tinymamba::cli
