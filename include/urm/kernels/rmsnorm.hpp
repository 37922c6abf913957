// rmsnorm — y = x / sqrt(mean(x²) + eps) · weight, row by row (LlamaRMSNorm).
//
//   x, y   : [rows, dim] float32 (may alias)
//   weight : [dim] F32/F16/BF16
#pragma once

#include <cmath>
#include <cstddef>

#include "urm/core/tensor_view.hpp"

namespace urm::kernels {

inline void rmsnorm(const float* x, const TensorView& weight, float eps, float* y, std::size_t rows, std::size_t dim) {
  for (std::size_t r = 0; r < rows; ++r) {
    const float* xr = x + r * dim;
    float* yr = y + r * dim;
    float ss = 0.0f;
    for (std::size_t i = 0; i < dim; ++i) ss += xr[i] * xr[i];
    const float inv = 1.0f / std::sqrt(ss / static_cast<float>(dim) + eps);
    for (std::size_t i = 0; i < dim; ++i) yr[i] = weight.get_f32(i) * (xr[i] * inv);
  }
}

}  // namespace urm::kernels
