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
  if (nt <= 1) {
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

}  // namespace tinymamba
