// parallel_for on std::thread (the ThreadSanitizer build): a thread per range, joined at the end. BLAS runs
// single-threaded here so that every thread the program has is one TSan can see.
#include <cblas.h>

#include <algorithm>
#include <thread>
#include <vector>

#include "tinymamba/core/error.hpp"
#include "tinymamba/core/parallel.hpp"

namespace tinymamba {
namespace {
int g_threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

void set_num_threads(int n) {
  TM_CHECK(n >= 1, "thread count must be at least 1, got ", n);
  g_threads = n;
  openblas_set_num_threads(1);
}

int num_threads() { return g_threads; }

void parallel_for(std::int64_t n, RangeFn body, std::int64_t grain) {
  const int nt = static_cast<int>(std::min<std::int64_t>(g_threads, (n + grain - 1) / std::max<std::int64_t>(grain, 1)));
  if (nt <= 1) {
    if (n > 0) body(0, n, 0);
    return;
  }
  std::vector<std::thread> workers;
  for (int t = 1; t < nt; ++t) workers.emplace_back([&, t] { body(n * t / nt, n * (t + 1) / nt, t); });
  body(0, n / nt, 0);
  for (auto& w : workers) w.join();
}

}  // namespace tinymamba
