// Benchmark test `serve` (not in the default set): the server's scheduler — continuous batching and the state
// cache — on the model under test (--shape, default the mamba-130m shape), without the HTTP layer around it
// (which copies a few bytes per token). Rows:
//   streams N   N concurrent greedy requests decoding 64 tokens each: the aggregate decode tok/s, from the
//               moment all N have their first token until the last is done (all N advance in one step); its
//               bounds, sampled right after: N × read bandwidth ÷ weight bytes (the weights read once a step) and
//               the products' arithmetic at N tokens on cached weights (DecodeProductProbe) ÷ multiply-adds per
//               token; ratio = decode_tok_s ÷ the lower one. sgemm_bound_tok_s: what the products would reach at
//               OpenBLAS sgemm's 2048³ rate (SgemmProbe), the machine's practical float32 peak, for comparison.
//   ttft        time to first token for a 2,000-token prompt: cold (aligned forward chunks, then steps: the
//               schedule that makes the cache exact), cold by `generate`'s plain forward (--parallel-prefill),
//               and the same prompt again from the cache.
// The prompts are byte ids (the bundled byte-level tokenizer): the steps compute every logit of the model's
// vocabulary all the same.
#include "bench_model.hpp"
#include "common.hpp"
#include "tinymamba/core/parallel.hpp"
#include "tinymamba/server/scheduler.hpp"

namespace tinymamba::cli {
namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

std::shared_ptr<server::Job> job(std::vector<std::int32_t> prompt, std::int64_t max_tokens) {
  auto j = std::make_shared<server::Job>();
  j->prompt = std::move(prompt);
  j->sampling.temperature = 0;
  j->max_tokens = max_tokens;
  return j;
}

// Waits until `pred(job)` holds for every job. On the job's condition variable, not by polling: a thread that
// wakes every few microseconds takes a core from the step's threads, whose barriers then wait for it.
template <class P>
void wait_all(const std::vector<std::shared_ptr<server::Job>>& jobs, P pred) {
  for (const auto& j : jobs) {
    std::unique_lock lock(j->mutex);
    j->cv.wait(lock, [&] { return !j->error.empty() || pred(*j); });
    TM_CHECK(j->error.empty(), "serve bench: ", j->error);
  }
}

void run_serve_bench(const bench::Options& o, const bench::Emit& emit) {
  const Model& m = bench_model();
  const Tokenizer tok = Tokenizer::load(default_model_dir() + "/tokenizer.json");
  for (const int th : o.threads) {
    set_num_threads(th);
    for (const std::int64_t n : {1, 4, 16}) {
      const std::int64_t tokens = 64;
      const double s = [&] {
        server::Metrics metrics;
        server::Scheduler scheduler(m, tok, {.parallel = 16, .max_queue = 64}, metrics);
        std::vector<std::shared_ptr<server::Job>> jobs;
        for (std::int64_t i = 0; i < n; ++i) jobs.push_back(job({static_cast<std::int32_t>('A' + i)}, tokens));
        TM_CHECK(scheduler.submit(jobs), "serve bench: the queue refused the jobs");
        wait_all(jobs, [](const server::Job& j) { return !j.pieces.empty(); });
        const auto t0 = Clock::now();
        wait_all(jobs, [](const server::Job& j) { return j.done; });
        return seconds_since(t0);
      }();
      // the bounds, sampled right after, once the scheduler's thread is gone: n tokens per pass over the weights,
      // and the products' arithmetic at n tokens
      ReadBandwidthProbe bandwidth;
      DecodeProductProbe product(m.weight_type(), 2 * m.config.d_inner, m.config.d_model, n);
      SgemmProbe sgemm;
      std::vector<double> gbs, gmacs, gflops;
      for (int r = 0; r < 3; ++r) {
        gbs.push_back(bandwidth.sample_gbs());
        gmacs.push_back(product.sample_gmacs());
        gflops.push_back(sgemm.sample_gflops());
      }
      const auto macs = static_cast<double>(macs_per_token(m.config));
      const double read_bound = static_cast<double>(n) * bench::median(gbs) * 1e9 / static_cast<double>(m.weight_bytes());
      const double compute_bound = bench::median(gmacs) * 1e9 / macs;
      const double sgemm_bound = bench::median(gflops) * 1e9 / (2.0 * macs);
      const double tok_s = static_cast<double>(n * (tokens - 1)) / s;
      auto row = model_row("serve", std::nullopt, th);
      row.push_back({"streams", n});
      row.push_back({"decode_tok_s", tok_s, 1});
      row.push_back({"read_bound_tok_s", read_bound, 1});
      row.push_back({"compute_bound_tok_s", compute_bound, 1});
      row.push_back({"sgemm_bound_tok_s", sgemm_bound, 1});
      row.push_back({"ratio", tok_s / std::min(read_bound, compute_bound), 3});
      emit(row);
    }
    const auto prompt = bench_ids(2000, tok.vocab_size());
    const auto ttft = [&](server::Scheduler& scheduler) {
      const std::vector<std::shared_ptr<server::Job>> jobs = {job(prompt, 1)};
      const auto t0 = Clock::now();
      TM_CHECK(scheduler.submit(jobs), "serve bench: the queue refused the job");
      wait_all(jobs, [](const server::Job& j) { return j.done; });
      return seconds_since(t0);
    };
    server::Metrics metrics;
    server::Scheduler cached(m, tok, {.parallel = 1, .prefill_budget = 2000, .cache_bytes = std::int64_t{1} << 30}, metrics);
    const double cold = ttft(cached), warm = ttft(cached);
    server::Scheduler plain(m, tok, {.parallel = 1, .prefill_budget = 2000, .prefill_chunk = 1024, .snapshot_every = 1024,
                                     .plain_prefill = true},
                            metrics);
    const double cold_plain = ttft(plain);
    auto row = model_row("serve", std::nullopt, th);
    row.push_back({"ttft_cold_s", cold, 3});
    row.push_back({"ttft_cold_plain_s", cold_plain, 3});
    row.push_back({"ttft_cached_s", warm, 4});
    row.push_back({"cached_over_cold", warm / cold, 4});
    emit(row);
  }
}

const bench::BenchRegistration serve_reg({"serve",
                                          "the server's scheduler: decode tok/s at 1, 4, 16 streams; time to first "
                                          "token of a 2,000-token prompt, cold and cached",
                                          false, nullptr, run_serve_bench, load_bench_model});

}  // namespace
}  // namespace tinymamba::cli
