// The model under test and the machine bounds for the whole-model benchmark tests (see bench_model.hpp), and
// the tests that measure only the bounds: `sgemm` and `membw`.
#include "bench_model.hpp"

#include "common.hpp"

#include <cblas.h>

#include <chrono>
#include <cmath>
#include <memory>

#include "tinymamba/core/buffer.hpp"
#include "tinymamba/core/parallel.hpp"
#include "tinymamba/core/quantize.hpp"
#include "tinymamba/ops/linear.hpp"
#include "tinymamba/io/model_folder.hpp"
#include "tinymamba/model/init.hpp"
#include "tinymamba/train/presets.hpp"

namespace tinymamba::cli {
namespace {

struct ModelFlags {
  std::string shape = "130m", model_dir, dtype;
};
ModelFlags g_flags;

void run_sgemm(const bench::Options& o, const bench::Emit& emit) {
  for (const int th : o.threads) {
    set_num_threads(th);
    emit({{"test", std::string("sgemm")}, {"threads", std::int64_t{th}}, {"gflops", sgemm_gflops(o.reps), 1}});
  }
}

void run_membw(const bench::Options& o, const bench::Emit& emit) {
  for (const int th : o.threads) {
    set_num_threads(th);
    emit({{"test", std::string("membw")}, {"threads", std::int64_t{th}}, {"gb_s", read_bandwidth_gbs(o.reps), 1}});
  }
}

const bench::BenchRegistration sgemm_reg({"sgemm", "OpenBLAS sgemm 2048^3 GFLOP/s (the prefill and training bound)",
                                          false, nullptr, run_sgemm, nullptr});
const bench::BenchRegistration membw_reg({"membw", "memory read bandwidth GB/s (the decode bound)", false, nullptr,
                                          run_membw, nullptr});

}  // namespace

void add_model_flags(CLI::App& bench) {
  std::string presets;
  for (const auto& p : train::preset_names()) presets += (presets.empty() ? "" : ", ") + p;
  bench.add_option("--shape", g_flags.shape,
                   "pp512/tg128/train512: model shape with random weights (official init): a preset (" + presets +
                       ") or a config.json (default 130m, the mamba-130m shape)");
  bench.add_option("-m,--model", g_flags.model_dir, "pp512/tg128/train512: a model folder to measure instead of --shape");
  bench.add_option("--dtype", g_flags.dtype, "pp512/tg128: store the large matrices as f32|f16|bf16|q8_0|q4_0 "
                                             "(converted on load; default f32)");
}

const Model& bench_model() {
  static std::unique_ptr<Model> model;
  if (!model) {
    const WeightType t = dtype_from_flag(g_flags.dtype);
    if (!g_flags.model_dir.empty()) {
      model = std::make_unique<Model>(load_model(g_flags.model_dir));
    } else {
      model = std::make_unique<Model>(train::train_config(g_flags.shape, 0, "--shape"));
      init_parameters(*model, 0);
    }
    model->set_weight_type(t);
  }
  return *model;
}

namespace {
constexpr std::int64_t kSgemmSize = 2048;
constexpr std::int64_t kBandwidthFloats = std::int64_t{128} << 20;  // 512 MiB: far beyond every cache
constexpr std::int64_t kSumLanes = 16;  // independent partial sums: vector adds, no reassociation needed

template <class Probe>
double median_sample(int reps, Probe&& sample) {
  std::vector<double> xs;
  for (int r = 0; r < reps; ++r) xs.push_back(sample());
  return bench::median(xs);
}
}  // namespace

SgemmProbe::SgemmProbe()
    : a_(kSgemmSize * kSgemmSize, 0.5f), b_(kSgemmSize * kSgemmSize, 0.25f), c_(kSgemmSize * kSgemmSize, 0.0f) {
  (void)sample_gflops();  // warm-up: BLAS threads and buffers
}

double SgemmProbe::sample_gflops() {
  const std::int64_t n = kSgemmSize;
  const auto t0 = std::chrono::steady_clock::now();
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a_.data(), n, b_.data(), n, 0.0f, c_.data(), n);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return 2.0 * n * n * n / s / 1e9;
}

ReadBandwidthProbe::ReadBandwidthProbe() : data_(static_cast<std::size_t>(kBandwidthFloats), 1.0f) {
  (void)sample_gbs();  // warm-up: threads, TLB
}

double ReadBandwidthProbe::sample_gbs() {
  partial_.assign(static_cast<std::size_t>(num_threads()), 0.0f);
  const auto t0 = std::chrono::steady_clock::now();
  parallel_for(kBandwidthFloats / kSumLanes, [&](std::int64_t i0, std::int64_t i1, int th) {
    alignas(64) float acc[kSumLanes] = {};
    for (std::int64_t i = i0; i < i1; ++i)
      for (std::int64_t j = 0; j < kSumLanes; ++j) acc[j] += data_[i * kSumLanes + j];
    for (const float a : acc) partial_[th] += a;  // kept, so the loads cannot be dropped
  });
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return static_cast<double>(kBandwidthFloats) * sizeof(float) / s / 1e9;
}

DecodeProductProbe::DecodeProductProbe(WeightType t, std::int64_t rows, std::int64_t cols, std::int64_t T)
    : x_(static_cast<std::size_t>(T * cols)), y_(static_cast<std::size_t>(T * rows)), T_(T) {
  std::vector<float> w(static_cast<std::size_t>(rows * cols));
  for (std::size_t i = 0; i < w.size(); ++i) w[i] = static_cast<float>(static_cast<std::int64_t>(i * 2654435761u % 2001) - 1000) * 3.6e-5f;
  for (std::size_t i = 0; i < x_.size(); ++i) x_[i] = static_cast<float>(static_cast<std::int64_t>(i * 7919 % 201) - 100) * 0.01f;
  w_ = quantize_matrix(t, w.data(), rows, cols, "probe weights");
  W_ = WeightMatrix::dense(t, w_.data(), rows, cols);
  (void)sample_gmacs();  // warm-up: threads, and the weights into cache
}

double DecodeProductProbe::sample_gmacs() {
  // passes of about 2·10⁸ multiply-adds in all, each thread looping over its own rows inside one parallel
  // region: no barrier per pass, which on a loaded 2-core machine costs a small model's whole pass
  constexpr double kMacs = 2e8;
  constexpr std::int64_t kRowsPerBlock = 16;
  const std::int64_t rows = W_.rows, blocks = (rows + kRowsPerBlock - 1) / kRowsPerBlock;
  const double per_pass = static_cast<double>(T_ * rows * W_.cols);
  const auto passes = static_cast<std::int64_t>(std::ceil(kMacs / per_pass));
  const auto t0 = std::chrono::steady_clock::now();
  parallel_for(blocks, [&](std::int64_t b0, std::int64_t b1, int) {
    for (std::int64_t p = 0; p < passes; ++p)
      linear_rows_accumulate({y_.data(), rows}, {x_.data(), W_.cols}, W_, T_, b0 * kRowsPerBlock,
                             std::min(rows, b1 * kRowsPerBlock));
  }, 1);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return static_cast<double>(passes) * per_pass / s / 1e9;
}

std::int64_t macs_per_token(const Config& c) {
  return c.parameter_count() - (c.tie_embeddings ? 0 : c.padded_vocab() * c.d_model);
}

double sgemm_gflops(int reps) {
  SgemmProbe probe;
  return median_sample(reps, [&] { return probe.sample_gflops(); });
}

double read_bandwidth_gbs(int reps) {
  ReadBandwidthProbe probe;
  return median_sample(reps, [&] { return probe.sample_gbs(); });
}

std::vector<std::int32_t> bench_ids(std::int64_t n, std::int64_t vocab) {
  std::vector<std::int32_t> ids(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) ids[i] = static_cast<std::int32_t>((i * 7919 + 13) % vocab);
  return ids;
}

std::vector<ScanAlgorithm> model_scans(const bench::Options& opt) {
  return opt.scans.empty() ? std::vector<ScanAlgorithm>{kDefaultScan} : opt.scans;
}

bench::Row model_row(const std::string& test, std::optional<ScanAlgorithm> scan, int threads) {
  const Model& m = bench_model();
  const Config& c = m.config;
  const std::int64_t params = c.parameter_count(), embedding = c.padded_vocab() * c.d_model;
  bench::Row row{{"test", test}, {"model", g_flags.model_dir.empty() ? g_flags.shape : g_flags.model_dir}};
  row.push_back({"shape", std::string(mixer_kind_name(c.mixer)) + " d" + std::to_string(c.d_model) + " l" +
                              std::to_string(c.n_layer)});
  if (scan) row.push_back({"scan", c.mixer == MixerKind::mamba1 ? std::string(scan_algorithm_name(*scan))
                                                               : std::string(ssd_algorithm_name(kDefaultSsd))});
  row.push_back({"threads", std::int64_t{threads}});
  row.push_back({"params", params});
  row.push_back({"nonemb_params", params - embedding * (c.tie_embeddings ? 1 : 2)});
  row.push_back({"dtype", std::string(weight_type_name(m.weight_type()))});
  row.push_back({"weight_bytes", m.weight_bytes()});
  return row;
}

void add_tok_s(bench::Row& row, double tokens, const bench::Timing& t) {
  row.push_back({"tok_s", tokens / (t.median_ms * 1e-3), 1});
  row.push_back({"tok_s_min", tokens / (t.max_ms * 1e-3), 1});
  row.push_back({"tok_s_max", tokens / (t.min_ms * 1e-3), 1});
}

}  // namespace tinymamba::cli
