// std::vector storage aligned to a cache line. Activation rows of BERT's sizes (H = 384, 768,
// 1024 floats) are whole cache lines, so with 64-byte aligned buffers every row starts on a line and
// a 512-bit load or store touches one line instead of two; malloc gives 16-byte alignment, and a
// large buffer (mmap'd by glibc) starts 16 bytes into its page, which made the LayerNorm kernels
// about 1.5x slower (docs/performance-kernels.md).
#pragma once

#include <cstddef>
#include <new>
#include <vector>

namespace bertrt::core {

inline constexpr std::size_t kCacheLine = 64;

template <class T>
struct CacheAlignedAllocator {
  using value_type = T;
  CacheAlignedAllocator() noexcept = default;
  template <class U>
  CacheAlignedAllocator(const CacheAlignedAllocator<U>&) noexcept {}
  T* allocate(std::size_t n) {
    return static_cast<T*>(::operator new(n * sizeof(T), std::align_val_t(kCacheLine)));
  }
  void deallocate(T* p, std::size_t) noexcept { ::operator delete(p, std::align_val_t(kCacheLine)); }
  template <class U>
  bool operator==(const CacheAlignedAllocator<U>&) const noexcept {
    return true;
  }
};

template <class T>
using AlignedVector = std::vector<T, CacheAlignedAllocator<T>>;

}  // namespace bertrt::core
