// Elementwise activations and residual add (xsimd, scalar tails).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <xsimd/xsimd.hpp>

#include "urm/kernels/simd.hpp"
#include "urm/kernels/vector_exp.hpp"

namespace urm::kernels {

// gate[i] = silu(gate[i]) · up[i], silu(x) = x / (1 + e^−x): the Llama MLP's
// gating, down(silu(gate(x)) * up(x)). For x → −∞, e^−x = ∞ and silu = −0.
// Every element takes the same vector code (the tail in a padded register),
// so its value does not depend on where it stands in the array: the caller
// passes [rows, ffn] at once, and a row's result must not depend on the rows.
inline void silu_mul(float* gate, const float* up, std::size_t n) {
  using detail::fbatch;
  constexpr std::size_t L = detail::simd_width;
  const auto silu_mul_batch = [](const fbatch& g, const fbatch& u) {
    return g / (fbatch(1.0f) + detail::exp_f32(-g)) * u;
  };
  const std::size_t nv = n - n % L;
  for (std::size_t i = 0; i < nv; i += L)
    silu_mul_batch(fbatch::load_unaligned(gate + i), fbatch::load_unaligned(up + i)).store_unaligned(gate + i);
  if (nv < n) {
    alignas(64) float g[L] = {}, u[L] = {};
    std::copy(gate + nv, gate + n, g);
    std::copy(up + nv, up + n, u);
    silu_mul_batch(fbatch::load_aligned(g), fbatch::load_aligned(u)).store_aligned(g);
    std::copy(g, g + (n - nv), gate + nv);
  }
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
