// Benchmark test `serve` (not in the default set): the server's scheduler — continuous batching and the state
// cache — on the model under test (--shape, default the mamba-130m shape), without the HTTP layer around it
// (which copies a few bytes per token). Rows:
//   streams N   N concurrent greedy requests decoding 64 tokens each: the aggregate decode tok/s, from the
//               moment all N have their first token until the last is done (all N advance in one step). Measured
//               in --reps rounds, each running 1, 4 and 16 streams back to back, then sampling the bounds: the
//               memory's speed on a shared VM changes from minute to minute, and one stream's rate follows it
//               while 16 streams' does not, so a speedup is only meaningful between runs of the same minutes.
//               decode_tok_s: the median (min and max beside it). Bounds (medians): N × read bandwidth ÷ weight
//               bytes (the weights read once a step) and the products' arithmetic at N tokens on cached weights
//               (DecodeProductProbe) ÷ multiply-adds per token. sgemm_bound_tok_s: what the products would
//               reach at OpenBLAS sgemm's 2048³ rate (SgemmProbe), the machine's practical float32 peak, for
//               comparison. Ratios, each the median over rounds of one round's quotient: over_one_stream = N
//               streams' tok/s ÷ one stream's; ratio = tok/s ÷ the lower bound.
//   ttft        time to first token for a 2,000-token prompt: cold (aligned forward chunks, then steps: the
//               schedule that makes the cache exact), cold by `generate`'s plain forward (--parallel-prefill),
//               and the same prompt again from the cache; and ttft_16x100_s: until the last of 16 prompts of 100
//               tokens, sent at once, has its first token (cold).
// The prompts are byte ids (the bundled byte-level tokenizer): the steps compute every logit of the model's
// vocabulary all the same.
#include "bench_model.hpp"

#include <algorithm>
#include <array>

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
    constexpr std::array<std::int64_t, 3> kStreams = {1, 4, 16};
    constexpr std::int64_t kTokens = 64;
    const auto decode_tok_s = [&](std::int64_t n) {
      server::Metrics metrics;
      server::Scheduler scheduler(m, tok, {.parallel = 16, .max_queue = 64}, metrics);
      std::vector<std::shared_ptr<server::Job>> jobs;
      for (std::int64_t i = 0; i < n; ++i) jobs.push_back(job({static_cast<std::int32_t>('A' + i)}, kTokens));
      TM_CHECK(scheduler.submit(jobs), "serve bench: the queue refused the jobs");
      wait_all(jobs, [](const server::Job& j) { return !j.pieces.empty(); });
      const auto t0 = Clock::now();
      wait_all(jobs, [](const server::Job& j) { return j.done; });
      return static_cast<double>(n * (kTokens - 1)) / seconds_since(t0);
    };
    // the probes are made (and warmed up) before the first round, so that a round's runs are not separated by
    // their set-up
    ReadBandwidthProbe bandwidth;
    SgemmProbe sgemm;
    std::vector<DecodeProductProbe> products;
    products.reserve(kStreams.size());
    for (const std::int64_t n : kStreams) products.emplace_back(m.weight_type(), 2 * m.config.d_inner, m.config.d_model, n);
    (void)decode_tok_s(kStreams.back());  // warm-up: the states' pages, the threads
    const auto macs = static_cast<double>(macs_per_token(m.config));
    std::array<std::vector<double>, kStreams.size()> tok_s, read_bound, compute_bound, over_one, ratio;
    std::vector<double> sgemm_bound;
    for (int r = 0; r < o.reps; ++r) {
      for (std::size_t i = 0; i < kStreams.size(); ++i) tok_s[i].push_back(decode_tok_s(kStreams[i]));
      const double gbs = bandwidth.sample_gbs();
      sgemm_bound.push_back(sgemm.sample_gflops() * 1e9 / (2.0 * macs));
      for (std::size_t i = 0; i < kStreams.size(); ++i) {
        const auto n = static_cast<double>(kStreams[i]);
        read_bound[i].push_back(n * gbs * 1e9 / static_cast<double>(m.weight_bytes()));
        compute_bound[i].push_back(products[i].sample_gmacs() * 1e9 / macs);
        over_one[i].push_back(tok_s[i].back() / tok_s[0].back());
        ratio[i].push_back(tok_s[i].back() / std::min(read_bound[i].back(), compute_bound[i].back()));
      }
    }
    for (std::size_t i = 0; i < kStreams.size(); ++i) {
      const std::int64_t n = kStreams[i];
      const auto [lo, hi] = std::minmax_element(tok_s[i].begin(), tok_s[i].end());
      auto row = model_row("serve", std::nullopt, th);
      row.push_back({"streams", n});
      row.push_back({"decode_tok_s", bench::median(tok_s[i]), 1});
      row.push_back({"decode_tok_s_min", *lo, 1});
      row.push_back({"decode_tok_s_max", *hi, 1});
      row.push_back({"over_one_stream", bench::median(over_one[i]), 2});
      row.push_back({"read_bound_tok_s", bench::median(read_bound[i]), 1});
      row.push_back({"compute_bound_tok_s", bench::median(compute_bound[i]), 1});
      row.push_back({"sgemm_bound_tok_s", bench::median(sgemm_bound), 1});
      row.push_back({"ratio", bench::median(ratio[i]), 3});
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
    // a burst: 16 prompts of 100 tokens at once (each a forward chunk of 64, then a step tail of 36), cold; until
    // the last has its first token
    server::Scheduler burst_scheduler(m, tok, {.parallel = 16, .max_queue = 64}, metrics);
    std::vector<std::shared_ptr<server::Job>> burst;
    auto ids = bench_ids(100 + 15, tok.vocab_size());
    for (std::size_t i = 0; i < 16; ++i) burst.push_back(job({ids.begin() + i, ids.begin() + i + 100}, 1));
    const auto b0 = Clock::now();
    TM_CHECK(burst_scheduler.submit(burst), "serve bench: the queue refused the jobs");
    wait_all(burst, [](const server::Job& j) { return j.done; });
    const double burst_s = seconds_since(b0);
    auto row = model_row("serve", std::nullopt, th);
    row.push_back({"ttft_16x100_s", burst_s, 3});
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
