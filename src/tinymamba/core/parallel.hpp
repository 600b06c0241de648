// The one place threads come from. Kernels split work with parallel_for over contiguous index ranges; the
// backend is OpenMP (sharing its pool with OpenBLAS's OpenMP build) or, for ThreadSanitizer builds, std::thread.
#pragma once

#include <cstdint>
#include <functional>

namespace tinymamba {

// Sets the number of threads used by parallel_for and by BLAS (n >= 1).
void set_num_threads(int n);
[[nodiscard]] int num_threads();

// Calls body(begin, end, thread) over a partition of [0, n) into at most num_threads() contiguous ranges,
// one per thread, and waits for all of them. Ranges are split as evenly as possible; `thread` is in
// [0, num_threads()) so a body can use per-thread scratch. Runs inline when n is small or one thread is set.
void parallel_for(std::int64_t n, const std::function<void(std::int64_t begin, std::int64_t end, int thread)>& body);

}  // namespace tinymamba
