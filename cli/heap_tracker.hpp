// Heap accounting for `tinymamba bench`: this binary replaces the global operator new/delete (heap_tracker.cpp)
// with versions that count the bytes held (malloc_usable_size of each block) and the peak, so a benchmark can
// report what a call really allocated: reset_peak() before it, peak_bytes() − the bytes held before, after it.
// Only C++ allocations are seen (operator new: std::vector, Buffer, ...); malloc inside libraries (OpenMP's
// runtime, OpenBLAS) is not. The library does not depend on this: it is linked into the CLI only. In a
// ThreadSanitizer build (whose runtime owns operator new) nothing is counted and every figure is 0.
#pragma once

#include <cstdint>

namespace tinymamba::cli::heap {

[[nodiscard]] std::int64_t current_bytes();
[[nodiscard]] std::int64_t peak_bytes();
// Starts a new peak measurement: peak = current.
void reset_peak();

}  // namespace tinymamba::cli::heap
