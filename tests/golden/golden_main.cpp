// Walks $TINYMAMBA_GOLDEN_DIR (default ../shared/golden), registers one GoogleTest per case, runs them, and
// writes the JSON report to $TINYMAMBA_GOLDEN_REPORT when set.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "golden.hpp"
#include "test_paths.hpp"
#include "tinymamba/core/error.hpp"

namespace tinymamba::golden {
namespace {

std::map<std::string, Handler>& handlers() {
  static std::map<std::string, Handler> h;
  return h;
}

std::vector<CaseReport>& reports() {
  static std::vector<CaseReport> r;
  return r;
}

const RawTensor& tensor(const Case& c, const std::string& name) {
  auto it = c.file.tensors.find(name);
  if (it == c.file.tensors.end()) fail(c.relative, ": golden tensor '", name, "' is missing");
  return it->second;
}

struct Diff {
  double max_abs = 0;
  std::size_t worst = 0;
};
Diff max_diff(const std::vector<float>& a, const std::vector<double>& b) {
  Diff d;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const double e = std::fabs(static_cast<double>(a[i]) - b[i]);
    if (e > d.max_abs || std::isnan(e)) {
      d.max_abs = std::isnan(e) ? INFINITY : e;
      d.worst = i;
    }
  }
  return d;
}
double max_abs(const std::vector<double>& v) {
  double m = 0;
  for (double x : v) m = std::max(m, std::fabs(x));
  return m;
}
std::vector<double> as_f64(const Case& c, const std::string& name) {
  const RawTensor& t = tensor(c, name);
  const auto n = static_cast<std::size_t>(checked_numel(t.shape, name));
  std::vector<double> out(n);
  if (t.dtype == DType::F64) {
    std::memcpy(out.data(), t.bytes.data(), n * 8);
  } else {
    const auto f = to_f32(t, name);
    std::copy(f.begin(), f.end(), out.begin());
  }
  return out;
}

void record(CaseReport& report, TensorReport tr, const std::vector<float>& got, const std::vector<double>& want,
            std::size_t worst) {
  tr.pass = tr.max_abs_err_f64 >= 0 ? tr.max_abs_err_f64 <= tr.bound : tr.max_abs_err <= tr.bound;
  if (!tr.pass) {
    report.status = "fail";
    ADD_FAILURE() << report.file << ": tensor '" << tr.name << "' off by " << (tr.max_abs_err_f64 >= 0 ? tr.max_abs_err_f64 : tr.max_abs_err)
                  << " > bound " << tr.bound << " (max|ref| " << tr.max_abs_ref << "); worst index " << worst
                  << ": got " << (worst < got.size() ? got[worst] : NAN) << ", want " << (worst < want.size() ? want[worst] : NAN);
  }
  report.tensors.push_back(std::move(tr));
}

}  // namespace

HandlerRegistration::HandlerRegistration(const std::string& kind, Handler h) { handlers()[kind] = std::move(h); }

bool has(const Case& c, const std::string& name) { return c.file.tensors.count(name) > 0; }
std::vector<float> f32(const Case& c, const std::string& name) { return to_f32(tensor(c, name), name); }
std::vector<std::int64_t> i64(const Case& c, const std::string& name) { return to_i64(tensor(c, name), name); }
std::string meta(const Case& c, const std::string& key, const std::string& fallback) {
  auto it = c.file.metadata.find(key);
  return it == c.file.metadata.end() ? fallback : it->second;
}

// The float32-vs-float64 record of a tensor from tolerances.json (for tensors stored without an _f64 twin).
struct F32Drift {
  double max_abs_err, max_abs_ref;
};
std::optional<F32Drift> recorded_drift(const Case& c, const std::string& name) {
  static const nlohmann::json table = [] {
    const auto path = test::golden_dir() / "tolerances.json";
    if (!std::filesystem::exists(path)) return nlohmann::json::object();
    return nlohmann::json::parse(std::ifstream(path));
  }();
  const std::string file = std::filesystem::path(c.relative).filename().string();
  if (!table.contains(file) || !table[file].contains(name)) return std::nullopt;
  const auto& e = table[file][name];
  return F32Drift{e.at("max_abs_err").get<double>(), e.at("max_abs_ref").get<double>()};
}

void check_fidelity(CaseReport& report, const Case& c, const std::string& ref_name, const std::vector<float>& got,
                    const std::string& label) {
  const std::vector<double> ref32 = as_f64(c, ref_name);
  ASSERT_EQ(got.size(), ref32.size()) << report.file << ": " << ref_name;
  TensorReport tr;
  tr.name = ref_name + label;
  if (has(c, ref_name + "_f64")) {
    const std::vector<double> ref64 = as_f64(c, ref_name + "_f64");
    tr.max_abs_ref = max_abs(ref64);
    tr.max_abs_err = max_diff(got, ref32).max_abs;
    const Diff d64 = max_diff(got, ref64);
    tr.max_abs_err_f64 = d64.max_abs;
    std::vector<float> ref32f(ref32.begin(), ref32.end());
    tr.ref_f32_vs_f64 = max_diff(ref32f, ref64).max_abs;
    tr.bound = std::max(3.0 * tr.ref_f32_vs_f64, 1e-6 * tr.max_abs_ref);
    record(report, tr, got, ref64, d64.worst);
    return;
  }
  const Diff d = max_diff(got, ref32);
  tr.max_abs_err = d.max_abs;
  if (const auto drift = recorded_drift(c, ref_name)) {
    // No f64 twin in the file, but tolerances.json records how far the official f32 result is from f64 (e).
    // |ours − f64| ≤ |ours − f32| + e, so requiring |ours − f32| ≤ max(3e, 1e-6·max|f64|) − e guarantees
    // the fidelity rule.
    tr.max_abs_ref = drift->max_abs_ref;
    tr.ref_f32_vs_f64 = drift->max_abs_err;
    tr.bound = std::max(3.0 * drift->max_abs_err, 1e-6 * drift->max_abs_ref) - drift->max_abs_err;
  } else {
    // Nothing recorded: ../shared/golden/README.md's suggested check for forward values, 1e-5 · max|ref|
    // (7x-40x the official float32 error on every recorded tensor).
    tr.max_abs_ref = max_abs(ref32);
    tr.bound = 1e-5 * tr.max_abs_ref;
    report.notes.push_back(ref_name + ": no float64 reference or recorded drift; bound 1e-5 x max|ref|");
  }
  record(report, tr, got, ref32, d.worst);
}

void check_bound(CaseReport& report, const Case& c, const std::string& ref_name, const std::vector<float>& got,
                 double bound, const std::string& label) {
  const std::vector<double> ref32 = as_f64(c, ref_name);
  ASSERT_EQ(got.size(), ref32.size()) << report.file << ": " << ref_name;
  TensorReport tr;
  tr.name = ref_name + label;
  tr.max_abs_ref = max_abs(ref32);
  const Diff d = max_diff(got, ref32);
  tr.max_abs_err = d.max_abs;
  tr.bound = bound;
  record(report, tr, got, ref32, d.worst);
}

namespace {

class GoldenTest : public ::testing::Test {
 public:
  explicit GoldenTest(std::string path, std::string relative) : path_(std::move(path)), relative_(std::move(relative)) {}
  void TestBody() override {
    CaseReport report;
    report.file = relative_;
    try {
      Case c{path_, relative_, read_safetensors(path_), ""};
      // An expectations file beside checkpoint folders is a case even if a writer left out its kind.
      c.kind = meta(c, "kind", std::filesystem::path(path_).filename() == "expected.safetensors" ? "checkpoint_expectations" : "");
      report.kind = c.kind;
      auto it = handlers().find(c.kind);
      if (it == handlers().end()) {
        report.status = "skip";
        report.notes.push_back("kind '" + c.kind + "' is not known to this program yet");
        reports().push_back(report);
        GTEST_SKIP() << relative_ << ": unknown kind '" << c.kind << "'";
      }
      it->second(c, report);
    } catch (const std::exception& e) {
      report.status = "fail";
      ADD_FAILURE() << relative_ << ": " << e.what();
    }
    if (HasFailure()) report.status = "fail";
    reports().push_back(report);
  }

 private:
  std::string path_, relative_;
};

void write_report(const std::string& path) {
  nlohmann::json cases = nlohmann::json::array();
  for (const auto& r : reports()) {
    nlohmann::json tensors = nlohmann::json::array();
    for (const auto& t : r.tensors) {
      nlohmann::json j = {{"name", t.name}, {"max_abs_ref", t.max_abs_ref}, {"max_abs_err", t.max_abs_err},
                          {"bound", t.bound}, {"pass", t.pass}};
      j["max_abs_err_f64"] = t.max_abs_err_f64 >= 0 ? nlohmann::json(t.max_abs_err_f64) : nlohmann::json(nullptr);
      j["ref_f32_vs_f64"] = t.ref_f32_vs_f64 >= 0 ? nlohmann::json(t.ref_f32_vs_f64) : nlohmann::json(nullptr);
      tensors.push_back(j);
    }
    cases.push_back({{"file", r.file}, {"kind", r.kind}, {"status", r.status}, {"tensors", tensors}, {"notes", r.notes}});
  }
  std::ofstream(path) << nlohmann::json{{"golden_dir", test::golden_dir().string()}, {"cases", cases}}.dump(1) << "\n";
}

}  // namespace
}  // namespace tinymamba::golden

int main(int argc, char** argv) {
  namespace fs = std::filesystem;
  using namespace tinymamba;
  ::testing::InitGoogleTest(&argc, argv);
  const fs::path dir = test::golden_dir();
  if (!fs::is_directory(dir)) {
    std::cerr << "golden directory " << dir << " does not exist (set TINYMAMBA_GOLDEN_DIR)\n";
    return 1;
  }
  std::vector<fs::path> files;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file() && e.path().extension() == ".safetensors") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  int registered = 0;
  for (const auto& p : files) {
    // A case is a file whose metadata names a kind; model weights and other data files are not cases.
    try {
      const SafetensorsFile f = read_safetensors(p.string());
      if (!f.metadata.count("kind") && p.filename() != "expected.safetensors") continue;
    } catch (const Error& e) {
      std::cerr << "unreadable golden file: " << e.what() << "\n";
      return 1;
    }
    const std::string rel = fs::relative(p, dir).string();
    std::string test_name = rel;
    std::replace_if(test_name.begin(), test_name.end(), [](char ch) { return !std::isalnum(static_cast<unsigned char>(ch)); }, '_');
    ::testing::RegisterTest("Golden", test_name.c_str(), nullptr, rel.c_str(), __FILE__, __LINE__,
                            [p, rel]() -> ::testing::Test* { return new golden::GoldenTest(p.string(), rel); });
    ++registered;
  }
  if (registered == 0) {
    std::cerr << "no golden cases found in " << dir << "\n";
    return 1;
  }
  const int rc = RUN_ALL_TESTS();
  if (const char* report = std::getenv("TINYMAMBA_GOLDEN_REPORT"); report && *report) golden::write_report(report);
  return rc;
}
