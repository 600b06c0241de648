// The one place threads come from. Kernels split work with parallel_for over contiguous index ranges; the
// backend is OpenMP (sharing its pool with OpenBLAS's OpenMP build) or, for ThreadSanitizer builds, std::thread.
#pragma once

#include <cstdint>
#include <type_traits>
#include <utility>

namespace tinymamba {

// Sets the number of threads used by parallel_for and by BLAS (n >= 1).
void set_num_threads(int n);
[[nodiscard]] int num_threads();

// A non-owning reference to a callable (like std::function_ref): passing a lambda to parallel_for costs no
// heap allocation, so kernels called once per generated token allocate nothing.
class RangeFn {
 public:
  template <class F, class = std::enable_if_t<!std::is_same_v<std::decay_t<F>, RangeFn>>>
  RangeFn(F&& f) noexcept  // NOLINT: implicit on purpose, like std::function
      : obj_(const_cast<void*>(static_cast<const void*>(&f))),
        call_([](void* o, std::int64_t b, std::int64_t e, int t) { (*static_cast<std::remove_reference_t<F>*>(o))(b, e, t); }) {}
  void operator()(std::int64_t begin, std::int64_t end, int thread) const { call_(obj_, begin, end, thread); }

 private:
  void* obj_;
  void (*call_)(void*, std::int64_t, std::int64_t, int);
};

// Calls body(begin, end, thread) over a partition of [0, n) into at most num_threads() contiguous ranges,
// one per thread, and waits for all of them. Ranges are split as evenly as possible; `thread` is in
// [0, num_threads()) so a body can use per-thread scratch. Runs inline when n is small or one thread is set.
// The callable must outlive the call (it does: parallel_for returns when every range is done).
// `grain` is the least work worth a thread of its own: ranges are never shorter than it (except the only one),
// so cheap elementwise loops over a single token's activations run inline instead of waking a thread.
void parallel_for(std::int64_t n, RangeFn body, std::int64_t grain = 1);

// A grain for items that each cost `work_per_item` elementary operations: enough items that a thread gets at
// least ~16K operations (~5-10 µs), below which waking a thread costs more than it saves.
[[nodiscard]] inline std::int64_t grain_for(std::int64_t work_per_item) {
  constexpr std::int64_t kMinWorkPerThread = std::int64_t{1} << 14;
  return work_per_item >= kMinWorkPerThread ? 1 : kMinWorkPerThread / (work_per_item > 0 ? work_per_item : 1);
}

}  // namespace tinymamba
