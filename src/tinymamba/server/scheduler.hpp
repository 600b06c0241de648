// The scheduler: one thread that owns the Engine and runs every request on it by continuous batching. Each turn
// of its loop (1) admits queued jobs into free state slots, resuming each from the longest cached prefix of its
// prompt, (2) absorbs about `prefill_budget` prompt tokens of the sequences still prefilling by the parallel
// forward, and (3) advances every ready sequence by one token, and every sequence in its prompt's step tail
// (below) by one prompt token, in ONE batched Engine::step (the weights are read once for all of them).
// New requests thus join between steps, and a long prompt's prefill is cut into pieces between decode steps
// so that running streams do not stall. Outputs go to each Job; nothing here waits on a client.
//
// Prefill schedule, and why the state cache is exact. The parallel forward's rounding depends on where a prompt
// is cut; a step's does not. So a prompt of L tokens is absorbed by the forward in chunks aligned to multiples
// of prefill_chunk up to B(L) = prefill_chunk·⌊(L−1)/prefill_chunk⌋, and by steps from there (fewer than
// prefill_chunk tokens, the last included). A cold run's state after its first P tokens then depends only on
// the tokens and on min(P, B(L)), the tokens absorbed by the forward; a cached snapshot of P tokens records
// that number f and is taken for a prompt of L' tokens only when the cold run would have computed it the same
// way: f = P (a state of whole chunks, P <= B(L')) or f = B(L') (the same chunks, then steps). A hit thus gives
// the cold run's tokens bit for bit, resuming at any token of the step region or at any snapshotted chunk end.
//
// Snapshots: every snapshot_every prompt tokens of the forward region, at the prompt's last token but one (so
// that the same prompt again runs only its last token), and at the end of each completion (prompt and
// generated tokens but the last, which is not run: the next turn of a conversation resumes there).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <span>
#include <thread>
#include <vector>

#include "tinymamba/generate/engine.hpp"
#include "tinymamba/server/job.hpp"
#include "tinymamba/server/metrics.hpp"
#include "tinymamba/server/state_cache.hpp"
#include "tinymamba/tokenizer/tokenizer.hpp"

namespace tinymamba::server {

struct SchedulerOptions {
  std::int64_t parallel = 4;         // sequences running at once (state slots)
  std::int64_t max_queue = 64;       // sequences waiting for a slot; beyond it submit refuses
  std::int64_t prefill_budget = 256;  // prompt tokens the forward absorbs between two steps (at least one chunk)
  std::int64_t prefill_chunk = 64;    // tokens per parallel forward
  std::int64_t snapshot_every = 256;  // prompt tokens between two cached snapshots; a multiple of prefill_chunk
  std::int64_t cache_bytes = 0;       // the state cache's budget; 0: no cache
  // `tinymamba generate`'s prefill instead: the whole prompt by the forward, in chunks of prefill_chunk from
  // its start (cut by the budget too); no cache, since its states depend on the cuts.
  bool plain_prefill = false;
};

class Scheduler {
 public:
  // The model and tokenizer must outlive the scheduler. Starts its thread.
  Scheduler(const Model& model, const Tokenizer& tokenizer, const SchedulerOptions& options, Metrics& metrics);
  ~Scheduler();  // stop()
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Queues the jobs, all or none: false when they would overflow the queue (or the scheduler has stopped).
  [[nodiscard]] bool submit(std::span<const std::shared_ptr<Job>> jobs);

  // Ends every queued and running job with an error, then the thread. Idempotent.
  void stop();

 private:
  struct Active;
  void run();
  void admit();
  void prefill_some();
  // B(L): how many of a prompt's tokens the forward absorbs (the rest by steps).
  [[nodiscard]] std::int64_t forward_end(std::int64_t prompt_tokens) const;
  void decode_step();
  void cache_snapshot(const Sequence& seq);
  void finish(Active& a, const std::string& error = "");
  void emit(Active& a, const StepToken& t, const TokenLogprobs& lp);

  const Tokenizer* tokenizer_;
  SchedulerOptions options_;
  Metrics* metrics_;
  Engine engine_;
  StateCache cache_;

  std::mutex mutex_;  // guards queue_ and stopping_
  std::condition_variable wake_;
  std::deque<std::shared_ptr<Job>> queue_;
  bool stopping_ = false;

  std::vector<std::unique_ptr<Active>> active_;  // the scheduler thread's own
  std::thread thread_;
};

}  // namespace tinymamba::server
