// The replacement of the global operator new behind support/allocation_cap.hpp.
#include "support/allocation_cap.hpp"

#include <cstdlib>
#include <new>

std::atomic<std::size_t>& urm::test::allocation_cap_bytes() {
  static std::atomic<std::size_t> cap{static_cast<std::size_t>(-1)};
  return cap;
}

void* operator new(std::size_t n) {
  if (n > urm::test::allocation_cap_bytes().load(std::memory_order_relaxed)) throw std::bad_alloc();
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}

// (GCC takes the free() below for one of memory from the built-in operator
// new, which this replacement is not.)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
#pragma GCC diagnostic pop
