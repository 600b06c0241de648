// Buffer storage. A decode step streams every weight once per token (516 MB for mamba-130m): on 4 KiB pages
// that is 126,000 page translations per token, each TLB miss a page walk — two-dimensional under a hypervisor,
// and its page-table lines are evicted by the very weights being streamed. On 2 MiB pages the weights need
// 250 translations. Linux hands out transparent huge pages to a range only when asked (madvise) on systems set
// to "madvise", Debian's default; the advice is a hint, so where huge pages are off nothing changes.
#include "tinymamba/core/buffer.hpp"

#include <sys/mman.h>

#include <new>

namespace tinymamba {
namespace {

constexpr std::size_t kCacheLine = 64;
constexpr std::size_t kHugePage = std::size_t{2} << 20;
// From here up a buffer goes on huge pages: rounding up to whole 2 MiB pages then wastes at most 1/8 of it.
constexpr std::size_t kHugePageMinBytes = std::size_t{16} << 20;

std::size_t huge_page_bytes(std::size_t bytes) { return (bytes + kHugePage - 1) / kHugePage * kHugePage; }

}  // namespace

void* allocate_aligned(std::size_t bytes) {
  if (bytes < kHugePageMinBytes) return ::operator new(bytes, std::align_val_t{kCacheLine});
  const std::size_t whole = huge_page_bytes(bytes);
  void* p = ::operator new(whole, std::align_val_t{kHugePage});
  madvise(p, whole, MADV_HUGEPAGE);  // a hint: failure (no THP support) leaves ordinary pages, nothing else
  return p;
}

void free_aligned(void* p, std::size_t bytes) noexcept {
  if (bytes < kHugePageMinBytes)
    ::operator delete(p, std::align_val_t{kCacheLine});
  else
    ::operator delete(p, std::align_val_t{kHugePage});
}

}  // namespace tinymamba
