#include "tinymamba/server/scheduler.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>

#include "tinymamba/core/error.hpp"

namespace tinymamba::server {

namespace {

// log_softmax of the raw logits at `id`, and the k most likely ids with theirs (ties: lower id first).
TokenLogprobs logprobs_of(std::span<const float> logits, std::int32_t id, std::int64_t k) {
  const float max = *std::max_element(logits.begin(), logits.end());
  double sum = 0;
  for (float l : logits) sum += std::exp(static_cast<double>(l - max));
  const float log_z = max + static_cast<float>(std::log(sum));
  TokenLogprobs out{.logprob = logits[id] - log_z, .top = {}};
  std::vector<std::int32_t> ids(logits.size());
  std::iota(ids.begin(), ids.end(), 0);
  k = std::min<std::int64_t>(k, std::ssize(ids));
  std::partial_sort(ids.begin(), ids.begin() + k, ids.end(),
                    [&](std::int32_t a, std::int32_t b) { return logits[a] > logits[b] || (logits[a] == logits[b] && a < b); });
  for (std::int64_t i = 0; i < k; ++i) out.top.emplace_back(ids[i], logits[ids[i]] - log_z);
  return out;
}

// How many trailing bytes of `text` could begin one of the stop strings (held back until it is known).
std::size_t stop_prefix_tail(const std::string& text, const std::vector<std::string>& stop) {
  std::size_t keep = 0;
  for (const std::string& s : stop)
    for (std::size_t n = std::min(s.size() - 1, text.size()); n > keep; --n)
      if (text.compare(text.size() - n, n, s, 0, n) == 0) {
        keep = n;
        break;
      }
  return keep;
}

// Ends a job that never ran (or could not start) with an error.
void fail(Job& job, const std::string& error) {
  std::lock_guard lock(job.mutex);
  job.error = error;
  job.done = true;
  job.cv.notify_all();
}

}  // namespace

struct Scheduler::Active {
  std::shared_ptr<Job> job;
  Sequence seq;
  std::string text;          // everything generated so far
  std::size_t released = 0;  // bytes of text given to the job
  std::vector<float> logits; // the pending logits, kept for logprobs across the step
};

Scheduler::Scheduler(const Model& model, const Tokenizer& tokenizer, const SchedulerOptions& options, Metrics& metrics)
    : tokenizer_(&tokenizer),
      options_(options),
      metrics_(&metrics),
      engine_(model, {.slots = options.parallel, .prefill_chunk = options.prefill_chunk}),
      cache_(options.cache_bytes) {
  TM_CHECK(options.max_queue >= 0, "max_queue must be >= 0, got ", options.max_queue);
  TM_CHECK(options.prefill_budget >= 1, "prefill_budget must be >= 1, got ", options.prefill_budget);
  TM_CHECK(options.snapshot_every >= 1 && options.snapshot_every % options.prefill_chunk == 0,
           "snapshot_every must be a positive multiple of prefill_chunk ", options.prefill_chunk, ", got ",
           options.snapshot_every);
  TM_CHECK(options.cache_bytes == 0 || !options.plain_prefill,
           "the state cache needs the aligned prefill (a plain prefill's states depend on where a prompt is cut)");
  thread_ = std::thread([this] { run(); });
}

Scheduler::~Scheduler() { stop(); }

bool Scheduler::submit(std::span<const std::shared_ptr<Job>> jobs) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ || std::ssize(queue_) + std::ssize(jobs) > options_.max_queue) return false;
    queue_.insert(queue_.end(), jobs.begin(), jobs.end());
    metrics_->queued = std::ssize(queue_);
  }
  wake_.notify_one();
  return true;
}

void Scheduler::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void Scheduler::run() {
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || !queue_.empty() || !active_.empty(); });
      if (stopping_) break;
    }
    // The gauge follows every change of active_ at once: updated only after the step, it read 0 while an admitted
    // sequence was already streaming its first token (a test that waited for it to drop saw it rise instead).
    admit();
    metrics_->active = std::ssize(active_);
    // A client that went away frees its slot before the next step.
    std::erase_if(active_, [&](const std::unique_ptr<Active>& a) {
      if (!a->job->cancelled) return false;
      finish(*a, "cancelled");
      return true;
    });
    metrics_->active = std::ssize(active_);
    prefill_some();
    decode_step();
    metrics_->active = std::ssize(active_);
  }
  std::deque<std::shared_ptr<Job>> left;
  {
    std::lock_guard lock(mutex_);
    left.swap(queue_);
  }
  for (auto& a : active_) finish(*a, "the server is shutting down");
  active_.clear();
  for (auto& job : left) fail(*job, "the server is shutting down");
  metrics_->active = 0;
  metrics_->queued = 0;
}

void Scheduler::admit() {
  while (std::ssize(active_) < options_.parallel) {
    std::shared_ptr<Job> job;
    {
      std::lock_guard lock(mutex_);
      if (queue_.empty()) break;
      job = std::move(queue_.front());
      queue_.pop_front();
      metrics_->queued = std::ssize(queue_);
    }
    if (job->cancelled) continue;
    const std::int64_t vocab = tokenizer_->vocab_size();
    try {
      auto a = std::make_unique<Active>(Active{
          .job = job,
          .seq = Sequence(job->prompt, job->sampling, {.max_new_tokens = job->max_tokens, .eos_id = tokenizer_->eos_id()},
                          vocab, tokenizer_),
          .text = {},
          .released = 0,
          .logits = {}});
      metrics_->prompt_tokens += std::ssize(job->prompt);
      if (options_.cache_bytes > 0) {
        // The prompt's last token must still run (it gives the first token's logits); the rule of exactness
        // is the header's.
        const std::int64_t L = std::ssize(job->prompt), B = forward_end(L);
        const StateCache::Hit hit = cache_.find(job->prompt, [&](std::int64_t P, std::int64_t f) {
          return P <= L - 1 && (f == P ? P <= B : f == B);
        });
        if (hit.state) {
          engine_.resume(a->seq, *hit.state);
          job->cached_tokens = hit.length;
          ++metrics_->cache_hits;
          metrics_->cached_tokens += hit.length;
        } else {
          ++metrics_->cache_misses;
        }
      }
      active_.push_back(std::move(a));
    } catch (const Error& e) {
      fail(*job, e.what());
    }
  }
}

std::int64_t Scheduler::forward_end(std::int64_t prompt_tokens) const {
  return options_.plain_prefill ? prompt_tokens : aligned_forward_end(prompt_tokens, options_.prefill_chunk);
}

// Absorbs about prefill_budget prompt tokens by the forward, oldest sequence first, on the schedule of the
// header: all of a plain prefill, the aligned chunks otherwise (their step tails go in decode_step's steps).
void Scheduler::prefill_some() {
  std::int64_t budget = options_.prefill_budget;
  for (auto it = active_.begin(); it != active_.end() && budget > 0;) {
    Active& a = **it;
    Sequence& s = a.seq;
    if (s.ready() || s.finished()) {
      ++it;
      continue;
    }
    try {
      const std::int64_t L = s.prompt_tokens(), B = forward_end(L);
      while (budget > 0 && s.prefilled() < B) {
        // one aligned chunk (prefilled is a multiple of prefill_chunk below B), or a plain prefill's piece
        const std::int64_t n = options_.plain_prefill ? std::min(budget, L - s.prefilled()) : options_.prefill_chunk;
        (void)engine_.prefill(s, n, options_.plain_prefill ? PrefillBy::forward : PrefillBy::aligned);
        budget -= n;
        const std::int64_t p = s.prefilled();
        if (!options_.plain_prefill && p < L && (p % options_.snapshot_every == 0 || p == L - 1)) cache_snapshot(s);
      }
    } catch (const Error& e) {
      finish(a, e.what());
      it = active_.erase(it);
      continue;
    }
    if (s.finished()) {  // max_tokens 0: nothing to generate
      finish(a);
      it = active_.erase(it);
      continue;
    }
    ++it;
  }
}

// One Engine::step: a token for every ready sequence, and the next prompt token for every sequence in its
// prompt's step tail (past forward_end), as rows of the same step. A tail absorbed by steps of its own cost a
// whole step per token (16 new 60-token prompts: ~1,000 one-row steps before their first tokens, while the
// running streams waited); as rows it costs each step a row.
void Scheduler::decode_step() {
  std::vector<Sequence*> ready, absorbing;
  std::vector<Active*> owners, tails;
  for (auto& a : active_) {
    Sequence& s = a->seq;
    if (s.ready()) {
      ready.push_back(&s);
      owners.push_back(a.get());
      if (a->job->logprobs >= 0) a->logits.assign(s.next_logits().begin(), s.next_logits().end());
    } else if (!s.finished() && s.prefilled() >= forward_end(s.prompt_tokens())) {
      absorbing.push_back(&s);
      tails.push_back(a.get());
    }
  }
  if (ready.empty() && absorbing.empty()) return;
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<StepToken> tokens;
  try {
    tokens = engine_.step(ready, absorbing);
  } catch (const Error& e) {  // e.g. non-finite logits: those requests fail, the server goes on
    owners.insert(owners.end(), tails.begin(), tails.end());
    for (Active* a : owners) a->job->cancelled = true;
    std::erase_if(active_, [&](const std::unique_ptr<Active>& a) {
      if (std::find(owners.begin(), owners.end(), a.get()) == owners.end()) return false;
      finish(*a, e.what());
      return true;
    });
    return;
  }
  metrics_->observe_step(std::ssize(ready) + std::ssize(absorbing),
                         std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  metrics_->generated_tokens += std::ssize(ready);
  for (std::size_t i = 0; i < owners.size(); ++i) {
    Active& a = *owners[i];
    emit(a, tokens[i], a.job->logprobs >= 0 ? logprobs_of(a.logits, tokens[i].id, a.job->logprobs) : TokenLogprobs{});
  }
  for (Active* a : tails) {
    const Sequence& s = a->seq;
    if (s.prefilled() == s.prompt_tokens() - 1) cache_snapshot(s);  // so that the same prompt again runs one token
    if (s.finished()) {  // max_tokens 0: nothing to generate
      std::lock_guard lock(a->job->mutex);
      a->job->finish = FinishReason::length;
    }
  }
  std::erase_if(active_, [&](const std::unique_ptr<Active>& a) {
    bool ended = false;
    {
      std::lock_guard lock(a->job->mutex);
      ended = a->job->finish != FinishReason::none;
    }
    if (ended) finish(*a);
    return ended;
  });
}

// Gives the job the token's text, except a stop string and what follows it, and the tail that might begin one.
void Scheduler::emit(Active& a, const StepToken& t, const TokenLogprobs& lp) {
  Job& job = *a.job;
  a.text += t.text;
  FinishReason finish = t.finish;
  std::size_t end = a.text.size();
  std::size_t stop_at = std::string::npos;
  for (const std::string& s : job.stop) {
    const std::size_t from = a.released >= s.size() ? a.released - s.size() + 1 : 0;
    stop_at = std::min(stop_at, a.text.find(s, from));
  }
  if (stop_at != std::string::npos) {
    end = stop_at;
    finish = FinishReason::stop;
  } else if (finish == FinishReason::none) {
    end -= stop_prefix_tail(a.text, job.stop);
  }
  end = std::max(end, a.released);
  std::lock_guard lock(job.mutex);
  job.pieces.push_back({.id = t.id, .text = a.text.substr(a.released, end - a.released), .logprobs = lp});
  a.released = end;
  job.finish = finish;
  job.cv.notify_all();
}

void Scheduler::cache_snapshot(const Sequence& seq) {
  if (options_.cache_bytes == 0 || seq.slot() < 0) return;
  const std::int64_t n = engine_.pool().tokens_seen(seq.slot());
  if (n < 1) return;
  cache_.insert(seq.tokens().first(n), engine_.pool().snapshot(seq.slot()),
                std::min(n, forward_end(seq.prompt_tokens())));
  metrics_->cache_bytes = cache_.bytes();
  metrics_->cache_entries = cache_.entries();
}

// Ends a sequence: its state (all its tokens but the last) goes to the cache, its slot back to the pool.
void Scheduler::finish(Active& a, const std::string& error) {
  if (error.empty() && a.seq.prefilled() == a.seq.prompt_tokens()) cache_snapshot(a.seq);
  engine_.release(a.seq);
  Job& job = *a.job;
  std::lock_guard lock(job.mutex);
  if (!error.empty()) job.error = error;
  if (job.finish == FinishReason::none) job.finish = FinishReason::length;
  job.done = true;
  job.cv.notify_all();
}

}  // namespace tinymamba::server
