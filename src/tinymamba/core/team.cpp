// Team::for_chunks: the same on every threading backend (the barrier is the backend's, the slots are plain
// atomics).
//
// Schedule: thread t's share of [0, n) is [n·t/size, n·(t+1)/size); it claims `chunk` at a time from the front,
// then, its share done, `chunk` at a time from the back of the others' (OpenMP's "static stealing"). Handing out
// chunks of one shared counter instead, the chunks a thread got were scattered, every one restarted the memory
// prefetchers' stream, and chunks small enough to even out two cores of unequal speed (one of this VM's often
// streams 15–20% slower) cost more in restarts than they saved: the faster core waited at the barrier after
// in_proj for 9% of the step. Here a thread's own claims are one run of memory however small the chunk.
#include <algorithm>

#include "tinymamba/core/parallel.hpp"

namespace tinymamba {
namespace {

// A slot packs what is left of one thread's share: (tag: 8 bits | begin: 28 | end: 28). The tag is the number
// of the for_chunks call that set the slot up; a slot still holding an older call's tag is set up afresh by
// whichever thread looks at it first (every thread computes the same share). Calls are separated by barriers,
// so tags in use differ by at most one and 8 bits never wrap onto a live one.
constexpr int kBits = 28;
constexpr std::uint64_t kMask = (std::uint64_t{1} << kBits) - 1;

std::uint64_t pack(std::uint64_t tag, std::int64_t begin, std::int64_t end) {
  return tag << (2 * kBits) | static_cast<std::uint64_t>(begin) << kBits | static_cast<std::uint64_t>(end);
}

}  // namespace

void Team::for_chunks(std::int64_t n, std::int64_t chunk, FunctionRef<void(std::int64_t, std::int64_t)> fn) const {
  // Call k is tagged k + 1 (mod 256), so the zeroed slots of a new team read as stale.
  const std::uint64_t tag = static_cast<std::uint64_t>(++calls_) & 0xff;
  // Claims up to `chunk` from the front (own share) or the back (another's) of slot t; false once it is empty.
  const auto claim = [&](int t, bool front, std::int64_t& begin, std::int64_t& end) {
    std::atomic<std::uint64_t>& slot = shared_->slots[t].left;
    std::uint64_t left = slot.load(std::memory_order_relaxed);
    for (;;) {
      if (left >> (2 * kBits) != tag) {
        const std::uint64_t fresh = pack(tag, n * t / size_, n * (t + 1) / size_);
        if (slot.compare_exchange_weak(left, fresh, std::memory_order_relaxed)) left = fresh;
        continue;
      }
      const std::int64_t lo = static_cast<std::int64_t>(left >> kBits & kMask);
      const std::int64_t hi = static_cast<std::int64_t>(left & kMask);
      if (lo >= hi) return false;
      const std::int64_t len = std::min(chunk, hi - lo);
      begin = front ? lo : hi - len;
      end = begin + len;
      if (slot.compare_exchange_weak(left, front ? pack(tag, end, hi) : pack(tag, lo, begin),
                                     std::memory_order_relaxed))
        return true;
    }
  };
  std::int64_t begin = 0, end = 0;
  while (claim(thread_, true, begin, end)) fn(begin, end);
  for (int k = 1; k < size_; ++k)
    while (claim((thread_ + k) % size_, false, begin, end)) fn(begin, end);
}

}  // namespace tinymamba
