// The scheduler: one thread that owns the Engine and runs every request on it by continuous batching. Each turn
// of its loop (1) admits queued jobs into free state slots, resuming each from the longest cached prefix of its
// prompt, (2) absorbs at most `prefill_budget` prompt tokens of the sequences still prefilling, and (3) advances
// every ready sequence by one token in ONE batched Engine::step (the weights are read once for all of them).
// New requests thus join between steps, and a long prompt's prefill is cut into pieces between decode steps
// so that running streams do not stall. Outputs go to each Job; nothing here waits on a client.
//
// State cache: snapshots at every `snapshot_every` prompt tokens, at the prompt's last token but one (so that
// the same prompt again resumes with one token left to run) and at the end of each completion (prompt and
// generated tokens, for the next turn of a conversation).
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
  std::int64_t prefill_budget = 32;  // prompt tokens absorbed between two decode steps
  std::int64_t snapshot_every = 256; // prompt tokens between two cached snapshots of a long prompt
  std::int64_t cache_bytes = 0;      // the state cache's budget; 0: no cache
  bool step_prefill = true;          // EngineOptions::step_prefill; the cache needs it to be exact
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
