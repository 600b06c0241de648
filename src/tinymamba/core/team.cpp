// Team::for_chunks: the same on every threading backend (the barrier is the backend's, the counters are
// plain atomics).
#include <algorithm>

#include "tinymamba/core/parallel.hpp"

namespace tinymamba {

// Call k claims from counter k mod 3. Thread 0 zeroes the counter call k + 1 will use: its last use was call
// k − 2, and at least one barrier separates that from call k (so every thread is done with it) and call k from
// call k + 1 (so the zero is visible there).
void Team::for_chunks(std::int64_t n, std::int64_t chunk, FunctionRef<void(std::int64_t, std::int64_t)> fn) const {
  const int k = calls_++;
  if (thread_ == 0) shared_->claimed[(k + 1) % 3].store(0, std::memory_order_relaxed);
  std::atomic<std::int64_t>& next = shared_->claimed[k % 3];
  for (std::int64_t begin; (begin = next.fetch_add(chunk, std::memory_order_relaxed)) < n;)
    fn(begin, std::min(n, begin + chunk));
}

}  // namespace tinymamba
