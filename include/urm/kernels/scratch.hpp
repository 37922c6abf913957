// thread_scratch — per-thread reusable float buffers for kernels.
//
// Kernels need small working tiles (a packed panel of weights converted to
// float32, a transposed block of activations). Allocating them per call would
// put malloc on the hot path, so each thread keeps one aligned buffer
// (AlignedBuffer: 64-byte aligned, huge pages when large) per Tag for its
// whole life: it grows to the largest size ever asked for and is then
// reused. Its contents are not kept from one call to the next. Every caller
// asks for a size bounded by compile-time blocking constants (or by a
// model dimension: head_dim, one activation row), so the memory is bounded.
#pragma once

#include <cstddef>

#include "urm/core/aligned_buffer.hpp"

namespace urm::detail {

template <class Tag>
inline float* thread_scratch(std::size_t n_floats) {
  thread_local AlignedBuffer<float> buffer;
  buffer.reserve(n_floats);
  return buffer.data();
}

}  // namespace urm::detail
