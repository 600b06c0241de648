// Benchmark tests for inference, llama-bench style, each as tok/s and as a ratio to the machine bound sampled
// after each timed repetition, at the same thread count (bench_model.hpp):
//   pp512  prefill 512 tokens at batch 1, logits for the last token only (what generation needs, what
//          llama-bench counts); bound = sgemm FLOP/s ÷ (2 · non-embedding parameters) FLOPs per token.
//          peak_mb: the heap the prefill holds at its peak (activations; weights excluded).
//   tg128  decode 128 tokens at batch 1 from an empty state, one recurrent step each (--scan does not apply: a
//          step scans nothing); bound = read bandwidth ÷ weight bytes per token (every parameter once in its
//          stored type, --dtype; the tied lm_head included). compute_bound_tok_s: the decode product's rate on
//          cached weights of the model's type (DecodeProductProbe, an in_proj-shaped matrix) ÷ the parameters,
//          one multiply-add each per token: where a type's kernel, not memory, bounds the step. heap_growth: bytes 128 steps allocated after a first, warm-up, 128 — 0 when nothing
//          is allocated per token.
#include "bench_model.hpp"
#include "heap_tracker.hpp"
#include "tinymamba/core/parallel.hpp"
#include "tinymamba/model/lm_step.hpp"

namespace tinymamba::cli {
namespace {

std::int64_t non_embedding_parameters(const Model& m) {
  std::int64_t p = 0;
  for (const ParamInfo& info : m.layout)
    if (info.name != "backbone.embedding.weight" && info.name != "lm_head.weight") p += info.numel;
  return p;
}

void run_pp512(const bench::Options& o, const bench::Emit& emit) {
  const Model& m = bench_model();
  const std::int64_t L = 512;
  const auto ids = bench_ids(L, m.config.vocab_size);
  for (const ScanAlgorithm scan : model_scans(o))
    for (const int th : o.threads) {
      set_num_threads(th);
      Activations acts;
      SgemmProbe sgemm;  // allocated before the heap baseline: peak_mb is the model's alone
      std::vector<double> gflops;
      gflops.reserve(static_cast<std::size_t>(o.reps));
      const std::int64_t before = heap::current_bytes();
      heap::reset_peak();
      const bench::Timing t = bench::time_ms(
          o.reps, [&] { lm_forward(m, ids, 1, L, acts, {.scan = scan, .last_logits_only = true}); },
          [&] { gflops.push_back(sgemm.sample_gflops()); });
      const double peak_mb = static_cast<double>(heap::peak_bytes() - before) / 1e6;
      const double bound = bench::median(gflops) * 1e9 / (2.0 * static_cast<double>(non_embedding_parameters(m)));
      auto row = model_row("pp512", scan, th);
      add_tok_s(row, L, t);
      row.push_back({"bound_tok_s", bound, 1});
      row.push_back({"ratio", L / (t.median_ms * 1e-3) / bound, 3});
      row.push_back({"peak_mb", peak_mb, 1});
      emit(row);
    }
}

void run_tg128(const bench::Options& o, const bench::Emit& emit) {
  const Model& m = bench_model();
  const std::int64_t n = 128;
  const auto ids = bench_ids(n, m.config.vocab_size);
  for (const int th : o.threads) {  // no scan algorithm: a step has no time axis (recurrent.hpp)
    set_num_threads(th);
    InferenceState state(m.config, 1);
    StepActivations acts;
    std::vector<std::int32_t> one(1);
    const auto decode = [&] {
      state.reset();
      for (const std::int32_t id : ids) {
        one[0] = id;
        lm_step(m, one, state, acts);
      }
    };
    decode();  // buffers reach their size here
    const std::int64_t before = heap::current_bytes();
    heap::reset_peak();
    decode();
    const std::int64_t growth = heap::peak_bytes() - before;
    ReadBandwidthProbe bandwidth;
    std::vector<double> gbs;
    const bench::Timing t = bench::time_ms(o.reps, decode, [&] { gbs.push_back(bandwidth.sample_gbs()); });
    const double weight_bytes = static_cast<double>(m.weight_bytes());
    const double bound = bench::median(gbs) * 1e9 / weight_bytes;
    DecodeProductProbe product(m.weight_type(), 2 * m.config.d_inner, m.config.d_model, 1);
    std::vector<double> gmacs;
    for (int r = 0; r < o.reps; ++r) gmacs.push_back(product.sample_gmacs());
    const double compute_bound = bench::median(gmacs) * 1e9 / static_cast<double>(macs_per_token(m.config));
    auto row = model_row("tg128", std::nullopt, th);
    add_tok_s(row, static_cast<double>(n), t);
    row.push_back({"bound_tok_s", bound, 1});
    row.push_back({"ratio", static_cast<double>(n) / (t.median_ms * 1e-3) / bound, 3});
    row.push_back({"compute_bound_tok_s", compute_bound, 1});
    row.push_back({"heap_growth", growth});
    emit(row);
  }
}

const bench::BenchRegistration pp_reg({"pp512", "prefill 512 tokens (last-token logits), tok/s and ratio to the sgemm bound",
                                       true, add_model_flags, run_pp512, load_bench_model});
const bench::BenchRegistration tg_reg({"tg128", "decode 128 tokens at batch 1, tok/s and ratio to the bandwidth bound",
                                       true, nullptr, run_tg128, load_bench_model});

}  // namespace
}  // namespace tinymamba::cli
