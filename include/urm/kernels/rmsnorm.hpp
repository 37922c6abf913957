// rmsnorm — y = x / sqrt(mean(x²) + eps) · weight, row by row (LlamaRMSNorm).
//
//   x, y   : [rows, dim] float32 (may alias)
//   weight : [dim] F32/F16/BF16, widened in registers
//
// As transformers computes it in float32: variance = mean(x²), then
// x · rsqrt(variance + eps), then weight · that. The sum of squares runs in
// simd_width float lanes (then the lanes, then the tail), a fixed order.
#pragma once

#include <cmath>
#include <cstddef>
#include <string>
#include <xsimd/xsimd.hpp>

#include "urm/core/error.hpp"
#include "urm/core/tensor_view.hpp"
#include "urm/kernels/convert.hpp"
#include "urm/kernels/simd.hpp"

namespace urm::kernels {

inline void rmsnorm(const float* x, const TensorView& weight, float eps, float* y, std::size_t rows, std::size_t dim) {
  using detail::fbatch;
  if (weight.rank() != 1 || static_cast<std::size_t>(weight.dim(0)) != dim)
    throw Error("rmsnorm: weight " + weight.name + " has shape " + shape_string(weight.shape) + ", expected [" +
                std::to_string(dim) + "]");
  detail::require_float_dtype(weight, "rmsnorm: weight ");
  constexpr std::size_t L = detail::simd_width;
  const std::size_t dv = dim - dim % L;
  detail::dispatch_float_dtype(weight.dtype, [&](auto d) {
    constexpr DType D = decltype(d)::value;
    for (std::size_t r = 0; r < rows; ++r) {
      const float* xr = x + r * dim;
      float* yr = y + r * dim;
      fbatch acc(0.0f);
      for (std::size_t i = 0; i < dv; i += L) {
        const fbatch v = fbatch::load_unaligned(xr + i);
        acc = detail::fma(v, v, acc);
      }
      float ss = xsimd::hadd(acc);
      for (std::size_t i = dv; i < dim; ++i) ss += xr[i] * xr[i];
      const float inv = 1.0f / std::sqrt(ss / static_cast<float>(dim) + eps);
      const fbatch invv(inv);
      for (std::size_t i = 0; i < dv; i += L)
        (detail::load_f32<D>(weight.data, i) * (fbatch::load_unaligned(xr + i) * invv)).store_unaligned(yr + i);
      for (std::size_t i = dv; i < dim; ++i) yr[i] = detail::load_scalar_f32<D>(weight.data, i) * (xr[i] * inv);
    }
  });
}

}  // namespace urm::kernels
