// parallel_for on OpenMP; BLAS is OpenBLAS's OpenMP build, so both share libgomp's pool.
#include <cblas.h>
#include <omp.h>

#include <algorithm>

#include "tinymamba/core/error.hpp"
#include "tinymamba/core/parallel.hpp"

namespace tinymamba {

void set_num_threads(int n) {
  TM_CHECK(n >= 1, "thread count must be at least 1, got ", n);
  omp_set_num_threads(n);
  openblas_set_num_threads(n);
}

int num_threads() { return omp_get_max_threads(); }

void parallel_for(std::int64_t n, RangeFn body, std::int64_t grain) {
  const int nt = static_cast<int>(std::min<std::int64_t>(num_threads(), (n + grain - 1) / std::max<std::int64_t>(grain, 1)));
  if (nt <= 1 || omp_in_parallel()) {
    if (n > 0) body(0, n, 0);
    return;
  }
#pragma omp parallel num_threads(nt)
  {
    const int t = omp_get_thread_num();
    const std::int64_t begin = n * t / nt, end = n * (t + 1) / nt;
    if (begin < end) body(begin, end, t);
  }
}

// An orphaned barrier: it binds to the parallel region parallel_team opened.
void Team::barrier() const {
  if (size_ > 1) {
#pragma omp barrier
  }
}

void parallel_team(int threads, FunctionRef<void(const Team&)> body) {
  const int nt = std::max(1, std::min({threads, num_threads(), kMaxTeamSize}));
  if (nt == 1 || omp_in_parallel()) {
    TeamShared shared;
    body(Team(0, 1, &shared));
    return;
  }
  TeamShared shared;
#pragma omp parallel num_threads(nt)
  body(Team(omp_get_thread_num(), omp_get_num_threads(), &shared));
}

}  // namespace tinymamba
