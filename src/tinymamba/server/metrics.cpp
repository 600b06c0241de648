#include "tinymamba/server/metrics.hpp"

#include <sstream>

namespace tinymamba::server {

void Metrics::observe_step(std::int64_t batch, double seconds) {
  std::lock_guard lock(mutex_);
  for (std::size_t i = 0; i < kBatchBuckets.size(); ++i)
    if (batch <= kBatchBuckets[i]) ++batch_counts_[i];
  ++steps_;
  step_tokens_ += batch;
  step_seconds_ += seconds;
}

std::string Metrics::prometheus() const {
  std::ostringstream o;
  const auto counter = [&](const char* name, const char* help, std::int64_t v, const char* type = "counter") {
    o << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n' << name << ' ' << v << '\n';
  };
  counter("tinymamba_requests_total", "Completion requests accepted.", requests);
  counter("tinymamba_requests_failed_total", "Requests answered with an error status.", requests_failed);
  counter("tinymamba_prompt_tokens_total", "Prompt tokens received.", prompt_tokens);
  counter("tinymamba_generated_tokens_total", "Tokens generated.", generated_tokens);
  counter("tinymamba_active_sequences", "Sequences holding a state slot.", active, "gauge");
  counter("tinymamba_queued_sequences", "Sequences waiting for a state slot.", queued, "gauge");
  counter("tinymamba_cache_hits_total", "Prompts resumed from a cached state.", cache_hits);
  counter("tinymamba_cache_misses_total", "Prompts with no cached prefix.", cache_misses);
  counter("tinymamba_cached_prompt_tokens_total", "Prompt tokens skipped thanks to the state cache.", cached_tokens);
  counter("tinymamba_cache_bytes", "Bytes held by the state cache.", cache_bytes, "gauge");
  counter("tinymamba_cache_entries", "Snapshots in the state cache.", cache_entries, "gauge");
  std::lock_guard lock(mutex_);
  o << "# HELP tinymamba_batch_size Rows per step: sequences decoding and prompt tokens absorbed.\n# TYPE tinymamba_batch_size histogram\n";
  for (std::size_t i = 0; i < kBatchBuckets.size(); ++i)
    o << "tinymamba_batch_size_bucket{le=\"" << kBatchBuckets[i] << "\"} " << batch_counts_[i] << '\n';
  o << "tinymamba_batch_size_bucket{le=\"+Inf\"} " << steps_ << "\ntinymamba_batch_size_sum " << step_tokens_
    << "\ntinymamba_batch_size_count " << steps_ << '\n';
  o << "# HELP tinymamba_decode_tokens_per_second Rows per second of the steps (all sequences together: generated and absorbed prompt tokens).\n"
       "# TYPE tinymamba_decode_tokens_per_second gauge\ntinymamba_decode_tokens_per_second "
    << (step_seconds_ > 0 ? static_cast<double>(step_tokens_) / step_seconds_ : 0.0) << '\n';
  return o.str();
}

}  // namespace tinymamba::server
