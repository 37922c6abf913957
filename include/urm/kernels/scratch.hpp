// thread_scratch — per-thread reusable float buffers for kernels.
//
// Kernels need small working tiles (a packed panel of weights converted to
// float32, a transposed block of activations). Allocating them per call would
// put malloc on the hot path, so each thread keeps one 64-byte-aligned buffer
// per Tag for its whole life: it grows to the largest size ever asked for
// and is then reused. Every caller asks for a size bounded by compile-time
// blocking constants (or by the model's head_dim), so the memory is bounded.
#pragma once

#include <cstddef>
#include <vector>
#include <xsimd/xsimd.hpp>

namespace urm::detail {

template <class Tag>
inline float* thread_scratch(std::size_t n_floats) {
  thread_local std::vector<float, xsimd::aligned_allocator<float, 64>> buffer;
  if (buffer.size() < n_floats) buffer.resize(n_floats);
  return buffer.data();
}

}  // namespace urm::detail
