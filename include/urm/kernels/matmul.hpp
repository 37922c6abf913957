// matmul — Y = X · Wᵀ, the Linear layer of every projection in the model.
//
//   x : [m, k] float32, row-major (activations)
//   w : [n, k] stored as F32, F16 or BF16 (PyTorch Linear layout: one row per
//       output feature), used in place from the checkpoint map
//   y : [m, n] float32
//
// Each y[i, j] is one dot product accumulated in float32 by one task, so the
// result does not depend on the number of threads.
//
// NOTE: this is the scalar baseline; the blocked xsimd kernel replaces it
// behind the same signature.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "urm/core/dtype.hpp"
#include "urm/core/error.hpp"
#include "urm/core/tensor_view.hpp"
#include "urm/core/thread_pool.hpp"

namespace urm::kernels {

inline void matmul(const float* x, std::size_t m, std::size_t k, const TensorView& w, float* y, ThreadPool& pool) {
  if (w.rank() != 2 || static_cast<std::size_t>(w.dim(1)) != k)
    throw Error("matmul: weight " + w.name + " has shape " + shape_string(w.shape) + ", expected [n, " +
                std::to_string(k) + "]");
  const std::size_t n = static_cast<std::size_t>(w.dim(0));
  pool.parallel_for(n, [&](std::size_t j) {
    for (std::size_t i = 0; i < m; ++i) {
      float acc = 0.0f;
      for (std::size_t p = 0; p < k; ++p) acc += x[i * k + p] * w.get_f32(j * k + p);
      y[i * n + j] = acc;
    }
  });
}

}  // namespace urm::kernels
