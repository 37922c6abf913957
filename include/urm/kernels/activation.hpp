// Elementwise activations and residual add.
#pragma once

#include <cmath>
#include <cstddef>

namespace urm::kernels {

// gate[i] = silu(gate[i]) · up[i], silu(x) = x / (1 + e^−x): the Llama MLP's
// gating, down(silu(gate(x)) * up(x)).
inline void silu_mul(float* gate, const float* up, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) gate[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
}

// y[i] += x[i]
inline void add_inplace(float* y, const float* x, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) y[i] += x[i];
}

// SELU with PyTorch's constants (the URM-3.1 gate network).
inline void selu_inplace(float* x, std::size_t n) {
  constexpr float alpha = 1.6732632423543772848170429916717f;
  constexpr float scale = 1.0507009873554804934193349852946f;
  for (std::size_t i = 0; i < n; ++i) x[i] = x[i] > 0.0f ? scale * x[i] : scale * alpha * std::expm1(x[i]);
}

}  // namespace urm::kernels
