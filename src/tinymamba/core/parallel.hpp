// The one place threads come from. Kernels split work with parallel_for over contiguous index ranges; a chain of
// dependent steps too short for a parallel_for each (a decode step) runs as one parallel_team with barriers.
// The backend is OpenMP (sharing its pool with OpenBLAS's OpenMP build) or, for ThreadSanitizer builds,
// std::thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <type_traits>
#include <utility>

namespace tinymamba {

// Sets the number of threads used by parallel_for and by BLAS (n >= 1).
void set_num_threads(int n);
[[nodiscard]] int num_threads();

// A non-owning reference to a callable (like C++26's std::function_ref): passing a lambda to parallel_for or
// parallel_team costs no heap allocation, so kernels called once per generated token allocate nothing.
template <class Signature>
class FunctionRef;
template <class R, class... Args>
class FunctionRef<R(Args...)> {
 public:
  template <class F, class = std::enable_if_t<!std::is_same_v<std::decay_t<F>, FunctionRef>>>
  FunctionRef(F&& f) noexcept  // NOLINT: implicit on purpose, like std::function
      : obj_(const_cast<void*>(static_cast<const void*>(&f))),
        call_([](void* o, Args... a) -> R { return (*static_cast<std::remove_reference_t<F>*>(o))(a...); }) {}
  R operator()(Args... a) const { return call_(obj_, a...); }

 private:
  void* obj_;
  R (*call_)(void*, Args...);
};
using RangeFn = FunctionRef<void(std::int64_t begin, std::int64_t end, int thread)>;

// Calls body(begin, end, thread) over a partition of [0, n) into at most num_threads() contiguous ranges,
// one per thread, and waits for all of them. Ranges are split as evenly as possible; `thread` is in
// [0, num_threads()) so a body can use per-thread scratch. Runs inline when n is small or one thread is set.
// The callable must outlive the call (it does: parallel_for returns when every range is done).
// `grain` is the least work worth a thread of its own: ranges are never shorter than it (except the only one),
// so cheap elementwise loops over a single token's activations run inline instead of waking a thread.
void parallel_for(std::int64_t n, RangeFn body, std::int64_t grain = 1);

// The most threads a parallel_team runs on (more are not used): each has a slot in TeamShared.
inline constexpr int kMaxTeamSize = 64;

// What the threads of one parallel_team share: the backend's barrier and, per thread, the part of the current
// for_chunks range it has not claimed yet (Team::for_chunks, team.cpp), each slot on a cache line of its own.
struct TeamShared {
  void* barrier = nullptr;
  struct alignas(64) Slot {
    std::atomic<std::uint64_t> left{0};
  };
  Slot slots[kMaxTeamSize];
};

// One thread's view of a running parallel_team.
class Team {
 public:
  Team(int thread, int size, TeamShared* shared) : thread_(thread), size_(size), shared_(shared) {}
  [[nodiscard]] int thread() const { return thread_; }  // in [0, size())
  [[nodiscard]] int size() const { return size_; }
  // Waits until every thread of the team has arrived; what each wrote before is then visible to all.
  void barrier() const;
  // Calls fn(begin, end) for chunks [begin, end) of [0, n), at most `chunk` long, until none are left. Each
  // thread starts on its own contiguous share of [0, n) and takes chunks from its front, so what it streams is
  // one run of memory; a thread done with its share takes chunks from the back of another's: a thread that runs
  // slower (a busier core, less memory bandwidth at the moment) ends up with less. n < 2^28 (a slot packs
  // it in 28 bits, team.cpp; every model dimension is below 2^24, config.cpp).
  // Every thread of the team must call it, in the same order, with a barrier between two calls.
  void for_chunks(std::int64_t n, std::int64_t chunk, FunctionRef<void(std::int64_t, std::int64_t)> fn) const;

 private:
  int thread_, size_;
  TeamShared* shared_;
  mutable int calls_ = 0;  // this thread's for_chunks calls so far: tags the slots of the current call
};

// Runs body(team) on min(threads, num_threads(), kMaxTeamSize) threads at once and waits for all of them.
// Inside, parallel_for runs inline (a thread of a team is already one of the threads there are).
void parallel_team(int threads, FunctionRef<void(const Team&)> body);

// A grain for items that each cost `work_per_item` elementary operations: enough items that a thread gets at
// least ~16K operations (~5-10 µs), below which waking a thread costs more than it saves.
[[nodiscard]] inline std::int64_t grain_for(std::int64_t work_per_item) {
  constexpr std::int64_t kMinWorkPerThread = std::int64_t{1} << 14;
  return work_per_item >= kMinWorkPerThread ? 1 : kMinWorkPerThread / (work_per_item > 0 ? work_per_item : 1);
}

}  // namespace tinymamba
