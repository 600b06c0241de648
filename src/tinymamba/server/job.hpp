// One prompt's completion as it passes between an HTTP thread (which submits it and reads its output) and the
// scheduler thread (which runs it on the engine). The output grows one Piece per generated token; the reader
// waits on `cv` and takes the pieces it has not seen.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "tinymamba/generate/sequence.hpp"
#include "tinymamba/sampling/sampling_params.hpp"

namespace tinymamba::server {

// A generated token's log-probability under the model (the softmax of its raw logits, before temperature and
// the filters) and the `logprobs` most likely ids with theirs.
struct TokenLogprobs {
  float logprob = 0;
  std::vector<std::pair<std::int32_t, float>> top;
};

struct Piece {
  std::int32_t id = 0;
  std::string text;  // the text it releases: UTF-8 complete, with any stop string and what follows removed
  TokenLogprobs logprobs;  // when asked for
};

struct Job {
  // Set before submission.
  std::vector<std::int32_t> prompt;
  SamplingParams sampling;
  std::int64_t max_tokens = 16;
  std::vector<std::string> stop;
  std::int64_t logprobs = -1;

  // Set by the reader when its client is gone: the scheduler drops the job and frees its slot.
  std::atomic<bool> cancelled{false};

  // The output, guarded by mutex.
  std::mutex mutex;
  std::condition_variable cv;
  std::vector<Piece> pieces;
  bool done = false;
  FinishReason finish = FinishReason::none;  // stop (EOS or a stop string) or length, once done
  std::string error;                         // non-empty: it failed (or the server is shutting down)
  std::int64_t cached_tokens = 0;            // prompt tokens resumed from the state cache
};

}  // namespace tinymamba::server
