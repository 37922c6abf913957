// A cap on single allocations, to make std::bad_alloc happen in a test where
// it would happen in a process out of memory. The program that uses this
// links support/allocation_cap.cpp, which replaces the global operator new:
// while an AllocationCap lives, any `new` of more than its bytes throws.
#pragma once

#include <atomic>
#include <cstddef>

namespace urm::test {

std::atomic<std::size_t>& allocation_cap_bytes();  // SIZE_MAX: no cap

class AllocationCap {
 public:
  explicit AllocationCap(std::size_t bytes) : saved_(allocation_cap_bytes().exchange(bytes)) {}
  ~AllocationCap() { allocation_cap_bytes() = saved_; }
  AllocationCap(const AllocationCap&) = delete;
  AllocationCap& operator=(const AllocationCap&) = delete;

 private:
  std::size_t saved_;
};

}  // namespace urm::test
