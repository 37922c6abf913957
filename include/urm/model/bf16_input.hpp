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

#include <algorithm>
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

// Split rounding multiplies hi and lo in ONE matmul: they are stacked as
// rows of one activation matrix, in chunks of 256 input rows,
//     rows [512 c, 512 c + mc)          hi of input rows 256 c …
//     rows [512 c + mc, 512 c + 2 mc)   lo of the same rows   (mc <= 256)
// so each of matmul_bf16's 512-row work items holds the hi and lo of the same
// rows and reads every weight once per 256 input rows: for inputs up to 256
// rows (a response after a shared prompt) the weights stream from memory once,
// not twice, and the AMX tiles see twice as many rows.
struct Bf16Input {
  static constexpr std::size_t kChunk = 256;  // input rows per stacked chunk (half a work item)

  kernels::Bf16Workspace act;   // bf16 rows: x (single) or the stacked hi / lo chunks (split)
  std::vector<float> stacked;   // split: [2m, k] the float32 rows act is rounded from
  std::vector<float> product;   // split: [2m, n] the stacked product, summed into y
  std::size_t m = 0;            // input rows
  bool split = false;

  // x [m, k] float32.
  void set(const float* x, std::size_t rows, std::size_t k, Bf16Rounding rounding, ThreadPool& pool) {
    m = rows;
    split = rounding == Bf16Rounding::Split;
    if (!split) return kernels::set_activations_bf16(act, x, m, k, pool);
    if (stacked.size() < 2 * m * k) stacked.resize(2 * m * k);
    for (std::size_t r0 = 0; r0 < m; r0 += kChunk) {
      const std::size_t mc = std::min(kChunk, m - r0), n = mc * k;
      const float* src = x + r0 * k;
      float* hi = stacked.data() + 2 * r0 * k;  // rounded to bf16(x) by set_activations_bf16
      float* lo = hi + n;
      std::memcpy(hi, src, n * sizeof(float));
      // x − bf16(x), with the round-to-nearest-even of set_activations_bf16.
      for (std::size_t i = 0; i < n; ++i) {
        std::uint32_t u;
        std::memcpy(&u, src + i, 4);
        const std::uint32_t r = (u + 0x7fffu + ((u >> 16) & 1u)) & 0xffff0000u;
        float h;
        std::memcpy(&h, &r, 4);
        lo[i] = src[i] - h;
      }
    }
    kernels::set_activations_bf16(act, stacked.data(), 2 * m, k, pool);
  }

  // y [m, w.n()] = x · wᵀ (split: hi · wᵀ + lo · wᵀ).
  void multiply(const kernels::PackedBf16Weights& w, float* y, ThreadPool& pool) {
    if (!split) return kernels::matmul_bf16(act, w, y, pool);
    const std::size_t n = w.n();
    if (product.size() < 2 * m * n) product.resize(2 * m * n);
    kernels::matmul_bf16(act, w, product.data(), pool);
    for (std::size_t r0 = 0; r0 < m; r0 += kChunk) {
      const std::size_t len = std::min(kChunk, m - r0) * n;
      const float* hi = product.data() + 2 * r0 * n;
      std::memcpy(y + r0 * n, hi, len * sizeof(float));
      kernels::add_inplace(y + r0 * n, hi + len, len);
    }
  }
};

}  // namespace urm
