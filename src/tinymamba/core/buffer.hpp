// Buffer<T>: a std::vector whose storage is 64-byte aligned (a cache line, two AVX2 vectors), for weights,
// activations and scratch that kernels stream through.
#pragma once

#include <cstddef>
#include <cstdint>
#include <new>
#include <vector>

namespace tinymamba {

template <class T>
struct AlignedAllocator {
  using value_type = T;
  static constexpr std::align_val_t kAlign{64};
  AlignedAllocator() = default;
  template <class U>
  AlignedAllocator(const AlignedAllocator<U>&) noexcept {}
  T* allocate(std::size_t n) { return static_cast<T*>(::operator new(n * sizeof(T), kAlign)); }
  void deallocate(T* p, std::size_t) noexcept { ::operator delete(p, kAlign); }
  template <class U>
  bool operator==(const AlignedAllocator<U>&) const noexcept { return true; }
};

template <class T>
using Buffer = std::vector<T, AlignedAllocator<T>>;

// Gives b exactly n elements (zeroed) unless it already has n: activation buffers are sized on the first call
// and then reused untouched, so a repeated forward or decode step allocates nothing.
template <class T>
void ensure_size(Buffer<T>& b, std::int64_t n) {
  if (b.size() != static_cast<std::size_t>(n)) b.assign(static_cast<std::size_t>(n), T(0));
}

}  // namespace tinymamba
