// Elementwise activations and residual add (xsimd, scalar tails).
#pragma once

#include <cmath>
#include <cstddef>
#include <xsimd/xsimd.hpp>

#include "urm/kernels/load_f32.hpp"
#include "urm/kernels/vector_exp.hpp"

namespace urm::kernels {

// gate[i] = silu(gate[i]) · up[i], silu(x) = x / (1 + e^−x): the Llama MLP's
// gating, down(silu(gate(x)) * up(x)). For x → −∞, e^−x = ∞ and silu = −0.
inline void silu_mul(float* gate, const float* up, std::size_t n) {
  using detail::fbatch;
  constexpr std::size_t L = detail::simd_width;
  const fbatch one(1.0f);
  const std::size_t nv = n - n % L;
  for (std::size_t i = 0; i < nv; i += L) {
    const fbatch g = fbatch::load_unaligned(gate + i);
    (g / (one + detail::exp_f32(-g)) * fbatch::load_unaligned(up + i)).store_unaligned(gate + i);
  }
  for (std::size_t i = nv; i < n; ++i) gate[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
}

// y[i] += x[i]
inline void add_inplace(float* y, const float* x, std::size_t n) {
  using detail::fbatch;
  constexpr std::size_t L = detail::simd_width;
  const std::size_t nv = n - n % L;
  for (std::size_t i = 0; i < nv; i += L)
    (fbatch::load_unaligned(y + i) + fbatch::load_unaligned(x + i)).store_unaligned(y + i);
  for (std::size_t i = nv; i < n; ++i) y[i] += x[i];
}

// SELU with PyTorch's constants (the URM-3.1 gate network; a few hundred
// values per conversation, so scalar).
inline void selu_inplace(float* x, std::size_t n) {
  constexpr float alpha = 1.6732632423543772848170429916717f;
  constexpr float scale = 1.0507009873554804934193349852946f;
  for (std::size_t i = 0; i < n; ++i) x[i] = x[i] > 0.0f ? scale * x[i] : scale * alpha * std::expm1(x[i]);
}

}  // namespace urm::kernels
