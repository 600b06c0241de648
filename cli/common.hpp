// Small pieces several subcommands share: the --threads, --scan and --dtype flags.
#pragma once

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdlib>
#include <string>
#include <thread>

#include <unistd.h>

#include "tinymamba/core/error.hpp"
#include "tinymamba/core/parallel.hpp"
#include "tinymamba/core/weight_matrix.hpp"
#include "tinymamba/io/model_folder.hpp"
#include "tinymamba/model/lm.hpp"
#include "tinymamba/ops/selective_scan.hpp"

namespace tinymamba::cli {

// --threads N: 0 (the default) keeps the library default (all cores, or OMP_NUM_THREADS).
inline void add_threads_flag(CLI::App* sub, int& threads) {
  sub->add_option("--threads", threads, "Worker threads (default: all cores)")->check(CLI::Range(0, 1024));
}
// More threads than the machine has only slow the kernels down — with hundreds, OpenMP's barriers spin for
// minutes — so that is refused.
inline void apply_threads(int threads) {
  const int hardware = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  TM_CHECK(threads <= hardware, "--threads ", threads, " is more than the ", hardware,
           " hardware threads of this machine");
  if (threads > 0) set_num_threads(threads);
}

// Refuses work whose buffers could never fit: more bytes than the machine's physical memory (e.g. logits for a
// (b, l) input of a million tokens, or the recurrent states of thousands of prompts). Anything below that is
// attempted; an allocation that still fails ends as main's one-line "out of memory".
inline void check_fits_in_memory(double bytes, const std::string& what) {
  const double physical = static_cast<double>(::sysconf(_SC_PHYS_PAGES)) * static_cast<double>(::sysconf(_SC_PAGESIZE));
  TM_CHECK(physical <= 0 || bytes <= physical, what, " need ", bytes / 1e9, " GB, more than this machine's ",
           physical / 1e9, " GB of memory");
}

// --scan ALG: which selective-scan algorithm runs (they compute the same function).
// `applies_to`, when given, says which part of the command scans (recurrent steps never do).
inline void add_scan_flag(CLI::App* sub, std::string& scan, const std::string& applies_to = "") {
  std::string names;
  for (auto a : all_scan_algorithms()) names += (names.empty() ? "" : "|") + std::string(scan_algorithm_name(a));
  sub->add_option("--scan", scan, "Selective-scan algorithm: " + names + " (default: " +
                                      std::string(scan_algorithm_name(kDefaultScan)) + "); Mamba-2 models: sequential|chunked (default: chunked)" + applies_to);
}
inline ScanAlgorithm scan_from_flag(const std::string& scan) {
  return scan.empty() ? kDefaultScan : parse_scan_algorithm(scan);
}

// --scan for the model's mixer kind: Mamba-1's selective-scan algorithms, or Mamba-2's SSD algorithms
// (sequential | chunked); a name of the other kind's is an error that says which apply.
inline ForwardOptions scan_options_from_flag(const std::string& scan, const Config& c) {
  if (c.mixer == MixerKind::mamba1) return {.scan = scan_from_flag(scan)};
  if (scan.empty()) return {.ssd = kDefaultSsd};
  try {
    return {.ssd = parse_ssd_algorithm(scan)};
  } catch (const Error&) {
    fail("--scan ", scan, " does not apply to a Mamba-2 model (its SSD scan is sequential or chunked)");
  }
}
// The name of the scan that ran, for metadata and tables.
inline std::string scan_name(const ForwardOptions& o, const Config& c) {
  return std::string(c.mixer == MixerKind::mamba1 ? scan_algorithm_name(o.scan) : ssd_algorithm_name(o.ssd));
}

// --dtype T: the type the model's large matrices are stored in for this run (quantized on load, model.hpp).
inline void add_dtype_flag(CLI::App* sub, std::string& dtype) {
  sub->add_option("--dtype", dtype, "Store the large matrices as f32|f16|bf16|q8_0|q4_0, converted on load "
                                    "(default f32; docs/quantization.md)");
}
inline WeightType dtype_from_flag(const std::string& dtype) {
  return dtype.empty() ? WeightType::f32 : weight_type_from_name(dtype, "--dtype");
}
// load_model, then the large matrices converted to --dtype (the float32 copy freed).
inline Model load_model_as(const std::string& dir, const std::string& dtype) {
  const WeightType t = dtype_from_flag(dtype);  // a bad name fails before a long load
  Model m = load_model(dir);
  m.set_weight_type(t);
  return m;
}

// The model `generate` and `eval` use when no -m is given: $TINYMAMBA_DEFAULT_MODEL, else the byte-level
// Shakespeare model this project trained and ships in models/.
inline std::string default_model_dir() {
  if (const char* env = std::getenv("TINYMAMBA_DEFAULT_MODEL"); env && *env) return env;
  return std::string(TINYMAMBA_SOURCE_DIR) + "/models/tinyshakespeare";
}

}  // namespace tinymamba::cli
