// The server's counters, rendered as Prometheus text for GET /metrics. The scheduler thread updates them and
// HTTP threads read them, so every field is atomic or guarded.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>

namespace tinymamba::server {

class Metrics {
 public:
  static constexpr std::array<std::int64_t, 8> kBatchBuckets = {1, 2, 4, 8, 16, 32, 64, 128};

  std::atomic<std::int64_t> requests{0};            // completion requests accepted
  std::atomic<std::int64_t> requests_failed{0};     // answered with an error status
  std::atomic<std::int64_t> prompt_tokens{0};
  std::atomic<std::int64_t> generated_tokens{0};
  std::atomic<std::int64_t> active{0};              // sequences holding a slot
  std::atomic<std::int64_t> queued{0};              // sequences waiting for one
  std::atomic<std::int64_t> cache_hits{0}, cache_misses{0}, cached_tokens{0};
  std::atomic<std::int64_t> cache_bytes{0}, cache_entries{0};

  // One step over `batch` rows (sequences decoding and prompt tokens absorbed) that took `seconds`.
  void observe_step(std::int64_t batch, double seconds);

  [[nodiscard]] std::string prometheus() const;

 private:
  mutable std::mutex mutex_;
  std::array<std::int64_t, kBatchBuckets.size()> batch_counts_{};  // cumulative, as Prometheus wants
  std::int64_t steps_ = 0, step_tokens_ = 0;
  double step_seconds_ = 0;
};

}  // namespace tinymamba::server
