// parallel_for on std::thread (the ThreadSanitizer build): a thread per range, joined at the end. BLAS runs
// single-threaded here so that every thread the program has is one TSan can see.
#include <cblas.h>

#include <algorithm>
#include <barrier>
#include <thread>
#include <vector>

#include "tinymamba/core/error.hpp"
#include "tinymamba/core/parallel.hpp"

namespace tinymamba {
namespace {
int g_threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
thread_local bool t_in_team = false;  // this thread runs a parallel_team's body
}

void set_num_threads(int n) {
  TM_CHECK(n >= 1, "thread count must be at least 1, got ", n);
  g_threads = n;
  openblas_set_num_threads(1);
}

int num_threads() { return g_threads; }

void parallel_for(std::int64_t n, RangeFn body, std::int64_t grain) {
  const int nt = static_cast<int>(std::min<std::int64_t>(g_threads, (n + grain - 1) / std::max<std::int64_t>(grain, 1)));
  if (nt <= 1 || t_in_team) {
    if (n > 0) body(0, n, 0);
    return;
  }
  std::vector<std::thread> workers;
  for (int t = 1; t < nt; ++t) workers.emplace_back([&, t] { body(n * t / nt, n * (t + 1) / nt, t); });
  body(0, n / nt, 0);
  for (auto& w : workers) w.join();
}

void Team::barrier() const {
  if (size_ > 1) static_cast<std::barrier<>*>(shared_->barrier)->arrive_and_wait();
}

void parallel_team(int threads, FunctionRef<void(const Team&)> body) {
  const int nt = std::max(1, std::min({threads, g_threads, kMaxTeamSize}));
  if (nt == 1 || t_in_team) {
    TeamShared shared;
    body(Team(0, 1, &shared));
    return;
  }
  std::barrier<> sync(nt);
  TeamShared shared;
  shared.barrier = &sync;
  const auto member = [&](int t) {
    t_in_team = true;
    body(Team(t, nt, &shared));
    t_in_team = false;
  };
  std::vector<std::thread> workers;
  for (int t = 1; t < nt; ++t) workers.emplace_back(member, t);
  member(0);
  for (auto& w : workers) w.join();
}

}  // namespace tinymamba
