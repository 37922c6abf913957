// Bf16Input — the float32 input of fast-mode projections, rounded to
// bfloat16 once and then multiplied by every weight that reads it (q, k, v
// share one input, gate and up another).
//
// Split rounding (the default): x = hi + lo with hi = bf16(x) and
// lo = bf16(x − hi) (the subtraction is exact in float32), so x keeps 16
// significant bits instead of 8, and
//     y = x · Wᵀ ≈ hi · Wᵀ + lo · Wᵀ        (two bf16 matmuls, float32 sums)
// leaves as error only the weights' own rounding to bfloat16 (none for a
// bfloat16 checkpoint). Single rounding (hi only) halves the matmul work but
// rounds every activation of every layer to 8 bits: on the fixture models it
// moved scores by up to 0.03 (tests/model/test_fast_mode.cpp), more than the
// 0.02 fast mode promises, so it is only offered for measurements.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "urm/core/thread_pool.hpp"
#include "urm/kernels/activation.hpp"
#include "urm/kernels/matmul_bf16.hpp"

namespace urm {

enum class Bf16Rounding {
  Split,   // x = hi + lo, two products: fast mode's accuracy (the default)
  Single,  // x ≈ hi, one product: twice the speed, ~0.03 score deviations
};

struct Bf16Input {
  kernels::Bf16Workspace hi, lo;  // bf16(x) and bf16(x − bf16(x)), tile layout
  std::vector<float> rest;        // [m, k] x − bf16(x); then [m, n] the lo product
  bool split = false;

  // x [m, k] float32.
  void set(const float* x, std::size_t m, std::size_t k, Bf16Rounding rounding, ThreadPool& pool) {
    split = rounding == Bf16Rounding::Split;
    kernels::set_activations_bf16(hi, x, m, k, pool);
    if (!split) return;
    if (rest.size() < m * k) rest.resize(m * k);
    // x − bf16(x): the same round-to-nearest-even as set_activations_bf16.
    for (std::size_t i = 0; i < m * k; ++i) {
      std::uint32_t u;
      std::memcpy(&u, x + i, 4);
      const std::uint32_t r = (u + 0x7fffu + ((u >> 16) & 1u)) & 0xffff0000u;
      float h;
      std::memcpy(&h, &r, 4);
      rest[i] = x[i] - h;
    }
    kernels::set_activations_bf16(lo, rest.data(), m, k, pool);
  }

  // y [m, w.n()] = x · wᵀ.
  void multiply(const kernels::PackedBf16Weights& w, float* y, ThreadPool& pool) {
    kernels::matmul_bf16(hi, w, y, pool);
    if (!split) return;
    const std::size_t n = hi.m * w.n();
    if (rest.size() < n) rest.resize(n);
    kernels::matmul_bf16(lo, w, rest.data(), pool);
    kernels::add_inplace(y, rest.data(), n);
  }
};

}  // namespace urm
