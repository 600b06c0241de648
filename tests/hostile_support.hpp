// Support for the hostile-input tests (hostile_models_test, hostile_cli_test, atomic_save_test):
//  - model folders written by the test: a tiny model's config.json and tensors, laid out as model.safetensors,
//    a sharded index or a pytorch_model.bin, so each case can break exactly one thing;
//  - run_cli_limited: the tinymamba program run as a user runs it, under a time limit and a memory limit, and
//    expect_clean_error: exit status 1, exactly one line on stderr, naming what it must name.
// Memory: in a plain build the command runs under `ulimit -v` (an allocation past the limit fails, and the error
// would then say "out of memory", not what the case expects). Sanitizer builds reserve terabytes of address space
// for their shadow memory, so there the limit is the sanitizer's own max_allocation_size_mb / hard_rss_limit_mb.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "run_cli.hpp"
#include "sanitized.hpp"
#include "test_paths.hpp"
#include "tinymamba/io/model_folder.hpp"
#include "tinymamba/io/config_json.hpp"
#include "tinymamba/io/safetensors.hpp"


namespace tinymamba::test {


// Sanitizer builds run everything several times slower: tests that repeat a case many times do fewer
// repetitions there (every kind of case still runs), as they do when TINYMAMBA_TEST_QUICK is set.
inline bool quick() {
  const char* env = std::getenv("TINYMAMBA_TEST_QUICK");
  return kSanitized || (env && *env && std::string(env) != "0");
}

inline void write_text(const std::filesystem::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

inline std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// ---- a tiny model ----

// Official dialect: d 8, 1 layer, vocab 13 padded to 16, d_inner 16, d_state 4, d_conv 2, dt_rank 1 (tied).
inline const char* kTinyConfig = R"({"d_model": 8, "n_layer": 1, "vocab_size": 13, "pad_vocab_size_multiple": 8,
  "ssm_cfg": {"d_state": 4, "d_conv": 2, "expand": 2}})";

// The tiny model with small deterministic parameters (A_log 0, so A = -1; everything else in [-0.25, 0.5]).
inline Model tiny_model(const std::string& config_text = kTinyConfig) {
  Model m(parse_config(config_text, "tiny config"));
  for (std::size_t i = 0; i < m.params.size(); ++i) m.params.data()[i] = static_cast<float>(i % 7) * 0.125f - 0.25f;
  return m;
}

// The model's tensors under official names, as owning F32 tensors (so a case can edit them freely).
inline TensorMap owned_tensors(const Model& m) {
  TensorMap out;
  for (const auto& [name, t] : model_tensors(m)) {
    const auto* f = reinterpret_cast<const float*>(t.bytes.data());
    out[name] = make_f32(t.shape, std::vector<float>(f, f + t.bytes.size() / 4));
  }
  return out;
}

// A folder with config.json and model.safetensors.
inline std::filesystem::path safetensors_folder(const std::filesystem::path& dir, const std::string& config,
                                                const TensorMap& tensors) {
  std::filesystem::create_directories(dir);
  write_text(dir / "config.json", config);
  write_safetensors((dir / "model.safetensors").string(), tensors);
  return dir;
}

// ---- running the CLI under limits ----

struct Limits {
  double seconds = 10;         // wall time (scaled up in sanitizer builds)
  std::int64_t memory_mb = 2048;  // address space (plain builds) or largest allocation / RSS (sanitizer builds)
};

struct LimitedResult : CliResult {
  double seconds = 0;
  std::string command;
};

// Runs `tinymamba <args>` with stdin from `stdin_text` (or /dev/null) under the limits. A run past the time limit
// is killed (timeout's status 124, or 137).
inline LimitedResult run_cli_limited(const std::string& args, const std::string* stdin_text = nullptr,
                                     Limits limits = {}) {
  static int counter = 0;
  const auto dir = std::filesystem::temp_directory_path() / ("tinymamba-hostile-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto base = (dir / std::to_string(counter++)).string();
  const double seconds = limits.seconds * (kSanitized ? 8 : 1);
  std::string cmd;
  if (kSanitized) {
    const std::string opts = "allocator_may_return_null=1:max_allocation_size_mb=" + std::to_string(limits.memory_mb) +
                             ":hard_rss_limit_mb=" + std::to_string(limits.memory_mb + 512);
    cmd = "ASAN_OPTIONS=" + opts + ":detect_leaks=0 TSAN_OPTIONS=" + opts + " ";
  } else {
    cmd = "ulimit -v " + std::to_string(limits.memory_mb * 1024) + " && ";
  }
  cmd += "exec timeout -k 2 " + std::to_string(seconds) + " " + shell_quote(cli_path()) + " " + args;
  if (stdin_text) {
    std::ofstream(base + ".in", std::ios::binary) << *stdin_text;
    cmd += " < " + shell_quote(base + ".in");
  } else {
    cmd += " < /dev/null";
  }
  cmd += " > " + shell_quote(base + ".out") + " 2> " + shell_quote(base + ".err");
  const auto start = std::chrono::steady_clock::now();
  const int raw = std::system(("/bin/sh -c " + shell_quote(cmd)).c_str());
  LimitedResult r;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  r.command = args;
  r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw);
  r.out = read_text(base + ".out");
  r.err = read_text(base + ".err");
  std::filesystem::remove(base + ".in");
  std::filesystem::remove(base + ".out");
  std::filesystem::remove(base + ".err");
  return r;
}

// Exit status 1 (not a crash: a signal gives >= 128, a timeout 124), exactly one line on stderr that starts
// with "tinymamba <command>: error: " (or "tinymamba: error: " when there is no valid command) and contains every
// one of `parts` (the file or flag, and the problem).
inline ::testing::AssertionResult clean_error(const LimitedResult& r, const std::vector<std::string>& parts) {
  auto fail = [&](const std::string& why) {
    return ::testing::AssertionFailure() << why << "\n  command: tinymamba " << r.command << "\n  status: " << r.status
                                         << " after " << r.seconds << " s\n  stderr: " << r.err;
  };
  if (r.status == 124 || r.status == 137) return fail("timed out");
  if (r.status != 1) return fail("exit status is not 1");
  if (r.err.empty() || r.err.back() != '\n' || r.err.find('\n') != r.err.size() - 1)
    return fail("stderr is not exactly one line");
  if ((r.err.rfind("tinymamba ", 0) != 0 && r.err.rfind("tinymamba: ", 0) != 0) ||
      r.err.find(": error: ") == std::string::npos)
    return fail("stderr is not 'tinymamba <command>: error: ...'");
  for (const std::string& part : parts)
    if (r.err.find(part) == std::string::npos) return fail("stderr lacks \"" + part + "\"");
  return ::testing::AssertionSuccess();
}

}  // namespace tinymamba::test
