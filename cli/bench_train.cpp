// Benchmark test `train512`: one training step — forward, loss, backward, global-norm clipping, AdamW — on a batch
// of 1 × 512 tokens of the bench model (bench_model.hpp). Reported: tok/s (median and spread), the bound sgemm
// FLOP/s ÷ (6 · parameters) FLOPs per token sampled after each timed step, their ratio; peak_mb, the heap the
// training state holds at its peak (gradients, AdamW moments, activations; weights excluded), next to
// state_tensors_mb, what keeping every layer's (b, l, d_in, n) scan state for the backward would take.
#include "bench_model.hpp"
#include "heap_tracker.hpp"
#include "tinymamba/core/parallel.hpp"
#include "tinymamba/train/trainer.hpp"

namespace tinymamba::cli {
namespace {

void run_train512(const bench::Options& o, const bench::Emit& emit) {
  const std::int64_t L = 512;
  for (const ScanAlgorithm scan : model_scans(o))
    for (const int th : o.threads) {
      set_num_threads(th);
      Model m = bench_model();  // a copy: training changes the weights
      const auto ids = bench_ids(L, m.config.vocab_size);
      SgemmProbe sgemm;  // allocated before the heap baseline: peak_mb is the training state's alone
      std::vector<double> gflops;
      gflops.reserve(static_cast<std::size_t>(o.reps));
      const std::int64_t before = heap::current_bytes();
      heap::reset_peak();
      train::AdamW opt(m.layout, parameter_buffer_size(m.layout), {}, train::decay_flags(m.layout));
      train::TrainStep step(m, opt, 1.0, scan);
      const bench::Timing t = bench::time_ms(
          o.reps, [&] { (void)step.run(ids, 1, L, 1, 1e-5); }, [&] { gflops.push_back(sgemm.sample_gflops()); });
      const double peak_mb = static_cast<double>(heap::peak_bytes() - before) / 1e6;
      const double bound = bench::median(gflops) * 1e9 / (6.0 * static_cast<double>(m.config.parameter_count()));
      const double state_tensors_mb =
          static_cast<double>(m.config.n_layer * L * m.config.d_inner * m.config.d_state) * sizeof(float) / 1e6;
      auto row = model_row("train512", scan, th);
      add_tok_s(row, L, t);
      row.push_back({"bound_tok_s", bound, 1});
      row.push_back({"ratio", L / (t.median_ms * 1e-3) / bound, 3});
      row.push_back({"peak_mb", peak_mb, 1});
      row.push_back({"state_tensors_mb", state_tensors_mb, 1});
      emit(row);
    }
}

const bench::BenchRegistration reg({"train512", "one training step of 1 x 512 tokens, tok/s and ratio to the sgemm bound",
                                    true, nullptr, run_train512, load_bench_model});

}  // namespace
}  // namespace tinymamba::cli
