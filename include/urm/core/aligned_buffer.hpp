// AlignedBuffer — an array that owns its memory, 64-byte aligned (cache
// lines, SIMD and tile loads), and 2 MiB aligned on transparent huge pages
// when it is that large. It grows only when asked for more, and growing does
// not keep the contents: it holds working data (packed weights, rounded
// activations, per-thread scratch tiles) that is rewritten after every grow.
// Elements are not initialised.
#pragma once

#include <cstddef>
#include <memory>
#include <new>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace urm {

template <class T>
class AlignedBuffer {
 public:
  AlignedBuffer() = default;
  explicit AlignedBuffer(std::size_t n) { reserve(n); }

  // At least n elements from now on; a larger buffer than before is a new one.
  void reserve(std::size_t n) {
    if (n <= capacity_) return;
    const std::size_t bytes = n * sizeof(T);
    const std::size_t align = bytes >= kHugePage ? kHugePage : 64;
    data_ = std::unique_ptr<T, Free>(static_cast<T*>(::operator new[](bytes, std::align_val_t{align})), Free{align});
    capacity_ = n;
#if defined(__linux__)
    // Large buffers (packed weights, activations) on huge pages where the
    // system allows it: 512x fewer page faults when they are first written
    // (packing a weight took half the time) and fewer TLB misses when the
    // kernels stride through them. A hint only; failure does not matter.
    if (align == kHugePage) ::madvise(data_.get(), bytes, MADV_HUGEPAGE);
#endif
  }
  T* data() { return data_.get(); }
  const T* data() const { return data_.get(); }
  std::size_t capacity() const { return capacity_; }

 private:
  static constexpr std::size_t kHugePage = std::size_t{2} << 20;
  struct Free {
    std::size_t align = 64;
    void operator()(T* p) const { ::operator delete[](p, std::align_val_t{align}); }
  };
  std::unique_ptr<T, Free> data_;
  std::size_t capacity_ = 0;
};

}  // namespace urm
