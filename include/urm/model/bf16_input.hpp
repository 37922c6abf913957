// Bf16Input — the float32 input of fast-mode projections, rounded to
// bfloat16 once and then multiplied by every weight that reads it (q, k, v
// share one input, gate and up another).
//
// Split rounding (the default): x = hi + lo with hi = bf16(x) and
// lo = bf16(x − hi) (the subtraction is exact in float32), so x keeps 16
// significant bits instead of 8, and
//     y = x · Wᵀ ≈ hi · Wᵀ + lo · Wᵀ        (twice the bf16 work, float32 sums)
// leaves as error only the weights' own rounding to bfloat16 (none for a
// bfloat16 checkpoint). Single rounding (hi only) halves the matmul work but
// rounds every activation of every layer to 8 bits: on the fixture models it
// moved scores by up to 0.03 (tests/model/test_fast_mode.cpp), more than the
// 0.02 fast mode promises, so it is only offered for measurements.
#pragma once

#include <cstddef>

#include "urm/core/thread_pool.hpp"
#include "urm/kernels/matmul_bf16.hpp"

namespace urm {

enum class Bf16Rounding {
  Split,   // x = hi + lo, two products: fast mode's accuracy (the default)
  Single,  // x ≈ hi, one product: twice the speed, ~0.03 score deviations
};

// Split rounding stores hi and lo as two parts of one workspace
// (matmul_bf16_layout.hpp): the kernels multiply both by each weight tile
// they load, so the weights stream from memory once and both products add
// into the same float32 sums.
struct Bf16Input {
  kernels::Bf16Workspace act;  // x as bf16 tiles: one part (single) or hi and lo (split)

  // x [m, k] float32.
  void set(const float* x, std::size_t rows, std::size_t k, Bf16Rounding rounding, ThreadPool& pool) {
    kernels::set_activations_bf16(act, x, rows, k, pool, rounding == Bf16Rounding::Split ? 2 : 1);
  }

  // y [m, w.n()] = x · wᵀ (split: hi · wᵀ + lo · wᵀ).
  void multiply(const kernels::PackedBf16Weights& w, float* y, ThreadPool& pool) { kernels::matmul_bf16(act, w, y, pool); }
};

}  // namespace urm
