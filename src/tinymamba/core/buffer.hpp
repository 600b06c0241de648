// Buffer<T>: a std::vector whose storage is 64-byte aligned (a cache line, two AVX2 vectors), for weights,
// activations and scratch that kernels stream through. Large buffers (the weights above all) are also placed
// on transparent huge pages where the kernel offers them (buffer.cpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace tinymamba {

// Storage for `bytes` bytes, 64-byte aligned; from kHugePageMinBytes up, 2 MiB aligned, rounded up to whole
// 2 MiB pages and advised to the kernel as huge-page memory. free_aligned takes the same byte count back.
[[nodiscard]] void* allocate_aligned(std::size_t bytes);
void free_aligned(void* p, std::size_t bytes) noexcept;

template <class T>
struct AlignedAllocator {
  using value_type = T;
  AlignedAllocator() = default;
  template <class U>
  AlignedAllocator(const AlignedAllocator<U>&) noexcept {}
  T* allocate(std::size_t n) { return static_cast<T*>(allocate_aligned(n * sizeof(T))); }
  void deallocate(T* p, std::size_t n) noexcept { free_aligned(p, n * sizeof(T)); }
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
