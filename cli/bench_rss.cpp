// `bench --tests rss`: the peak resident memory of `tinymamba generate` run on the model under test (--shape,
// default the mamba-130m shape with random weights, or -m DIR) written as float32 safetensors and as GGUF in each
// weight type, against the bar of issue #16: weights are used in place from the mapped file, so the peak stays
// within 1.1 × the weight bytes + 64 MB (the small tensors, the tokenizer-free run's state and the runtime).
// Each run is a child process; its peak is the kernel's count (VmHWM, which generate prints), not a timing.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "bench_model.hpp"
#include "tinymamba/core/error.hpp"
#include "tinymamba/io/gguf_model.hpp"
#include "tinymamba/io/model_folder.hpp"

namespace tinymamba::cli {
namespace fs = std::filesystem;
namespace {

// The peak RSS in bytes of `tinymamba generate` (this program) on `model`, 32 greedy tokens after a 4-token
// prompt given as ids (no tokenizer is read), as the child reports it: its VmHWM counts from its exec on, where
// wait4's ru_maxrss would also count this process's pages, copied by the fork (the model written below).
std::int64_t generate_peak_rss(const std::string& model, int threads) {
  const auto quote = [](const std::string& s) {
    std::string q = "'";
    for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return q + "'";
  };
  const std::string cmd = quote(fs::read_symlink("/proc/self/exe").string()) + " generate -m " + quote(model) +
                          " --prompt-ids '1 2 3 4' -n 32 --temperature 0 --print-ids --threads " +
                          std::to_string(threads) + " 2>&1 >/dev/null";
  FILE* pipe = ::popen(cmd.c_str(), "r");
  TM_CHECK(pipe, "bench rss: cannot start ", cmd);
  std::string err;
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, pipe)) > 0;) err.append(buf, n);
  const int status = ::pclose(pipe);
  const std::string key = "peak RSS ";
  const std::size_t at = err.rfind(key);
  TM_CHECK(status == 0 && at != std::string::npos, "bench rss: ", cmd, " failed: ", err);
  return static_cast<std::int64_t>(std::strtod(err.c_str() + at + key.size(), nullptr) * 1e6);
}

void run_rss(const bench::Options& o, const bench::Emit& emit) {
  const fs::path dir = fs::temp_directory_path() / ("tinymamba-bench-rss-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  struct Format {
    std::string name;
    std::string path;
    std::int64_t weight_bytes;
  };
  std::vector<Format> formats;
  {  // the files are written first, so the copies made here are gone before anything is measured
    const Model& m = bench_model();
    TM_CHECK(m.weight_type() == WeightType::f32, "bench rss: writes the model in every type itself (no --dtype)");
    save_model_hf(m, (dir / "safetensors").string());
    formats.push_back({"safetensors f32", (dir / "safetensors").string(), m.weight_bytes()});
    for (const WeightType t : {WeightType::f32, WeightType::f16, WeightType::bf16, WeightType::q8_0, WeightType::q4_0}) {
      Model typed = m;
      typed.set_weight_type(t);
      const std::string path = (dir / (std::string(weight_type_name(t)) + ".gguf")).string();
      save_model_gguf(typed, path);
      formats.push_back({"gguf " + std::string(weight_type_name(t)), path, typed.weight_bytes()});
    }
  }
  for (const int th : o.threads)
    for (const Format& f : formats) {
      const std::int64_t rss = generate_peak_rss(f.path, th);
      const double bar = 1.1 * static_cast<double>(f.weight_bytes) + 64e6;
      emit({{"test", std::string("rss")},
            {"format", f.name},
            {"threads", std::int64_t{th}},
            {"weight_mb", static_cast<double>(f.weight_bytes) / 1e6, 1},
            {"peak_rss_mb", static_cast<double>(rss) / 1e6, 1},
            {"bar_mb", bar / 1e6, 1},
            {"ratio", static_cast<double>(rss) / bar, 3}});
    }
  fs::remove_all(dir);
}

const bench::BenchRegistration rss_reg({"rss", "peak RSS of `generate` on the model as f32 safetensors and each GGUF "
                                                "type, and its ratio to 1.1 x weight bytes + 64 MB",
                                        false, nullptr, run_rss, load_bench_model});

}  // namespace
}  // namespace tinymamba::cli
