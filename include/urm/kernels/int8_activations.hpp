// Int8Activations — the input of int8 matmuls, quantized once per token (row
// of x) and then multiplied by every weight that reads it, with the per-thread
// int32 accumulator areas of the matmul driver.
//
// Per row, symmetric, in `parts` int8 parts (1 or 2):
//   s₀ = max_j |x_j| / 127,     q₀_j = round(x_j / s₀)                ∈ [−127, 127]
//   s₁ = s₀ / 254,              q₁_j = round((x_j − s₀ q₀_j) / s₁)    ∈ [−127, 127]
// so x_j ≈ s₀ q₀_j (error ≤ s₀ / 2, about 8 bits of the row's largest value)
// or ≈ s₀ q₀_j + s₁ q₁_j (error ≤ s₁ / 2 = max|x| / 64516, about 16 bits).
// The second part is what makes rows with "massive activations" (a few
// channels 100-1000x the rest, as in real Llama checkpoints) usable: with one
// part every ordinary channel of such a row rounds to 0 or ±1.
// A row of zeros has scales 0; a row holding a NaN or an infinity gets scale
// NaN (all q 0), so its outputs are NaN and the forward pass reports them.
//
// Float channels F (int8_float_channels.hpp): x_j for j ∈ F is taken as 0
// here (q = 0, and max |x_j| is over the other channels, so that a massive
// channel does not set every other channel's step); the matmul adds those
// channels' products in float32 from the rows x itself, which `a` keeps a
// pointer to.
//
// Storage: the bytes q + 128 (the VNNI instructions multiply unsigned by
// signed bytes; the weights' bias128 takes the offset out), rows of k padded
// to 64 with 128 (q = 0). Row r's part p is "virtual row" r · parts + p, so a
// block of rows holds both parts of each of its rows next to each other, and
// the kernels, which see virtual rows only, multiply both by one load of the
// weights. Rows are padded to a multiple of 8 (the kernels' row tiles).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "urm/core/aligned_buffer.hpp"
#include "urm/core/error.hpp"
#include "urm/core/thread_pool.hpp"
#include "urm/kernels/int8_float_channels.hpp"
#include "urm/kernels/int8_weights.hpp"
#include "urm/kernels/scratch.hpp"
#include "urm/kernels/simd.hpp"

namespace urm::detail {

inline constexpr std::size_t kInt8RowAlign = 8;  // activation rows are padded to this

// xsimd's nearbyint and to_int inline GCC 12's unmasked AVX-512 intrinsics (simd.hpp's note).
URM_GCC_PUSH_NO_MAYBE_UNINITIALIZED

// amax = max |x[0, n)|; false if some x is NaN or infinite (then x · 0 is NaN).
inline bool abs_max(const float* x, std::size_t n, float& amax) {
  const std::size_t nv = n - n % simd_width;
  fbatch m(0.0f), nan(0.0f);
  for (std::size_t j = 0; j < nv; j += simd_width) {
    const fbatch v = fbatch::load_unaligned(x + j);
    const fbatch a = xsimd::abs(v);
    m = xsimd::select(a > m, a, m);
    nan += v * 0.0f;
  }
  float lanes[simd_width];
  m.store_unaligned(lanes);
  amax = 0.0f;
  for (float l : lanes) amax = std::max(amax, l);
  float bad = xsimd::hadd(nan);
  for (std::size_t j = nv; j < n; ++j) {
    amax = std::max(amax, std::abs(x[j]));
    bad += x[j] * 0.0f;
  }
  return bad == 0.0f;
}

// hi[j] = q₀ + 128, lo[j] = q₁ + 128 (lo null: one part), the rounding of
// int8_activations.hpp's formulas (nearest, ties to even: the same in the
// vector body and the scalar tail).
inline void quantize_row(const float* x, std::size_t n, float s0, float inv0, float inv1, std::uint8_t* hi,
                         std::uint8_t* lo) {
  using ibatch = xsimd::batch<std::int32_t>;
  const std::size_t nv = n - n % simd_width;
  const fbatch top(127.0f), bottom(-127.0f);
  const auto clamp = [&](fbatch v) { return xsimd::select(v > top, top, xsimd::select(v < bottom, bottom, v)); };
  alignas(64) std::int32_t q0[simd_width], q1[simd_width];
  for (std::size_t j = 0; j < nv; j += simd_width) {
    const fbatch v = fbatch::load_unaligned(x + j);
    const fbatch h = clamp(xsimd::nearbyint(v * fbatch(inv0)));
    (xsimd::to_int(h) + ibatch(128)).store_aligned(q0);
    for (std::size_t i = 0; i < simd_width; ++i) hi[j + i] = static_cast<std::uint8_t>(q0[i]);
    if (lo) {
      const fbatch l = clamp(xsimd::nearbyint((v - h * fbatch(s0)) * fbatch(inv1)));
      (xsimd::to_int(l) + ibatch(128)).store_aligned(q1);
      for (std::size_t i = 0; i < simd_width; ++i) lo[j + i] = static_cast<std::uint8_t>(q1[i]);
    }
  }
  for (std::size_t j = nv; j < n; ++j) {
    const float h = std::clamp(std::nearbyint(x[j] * inv0), -127.0f, 127.0f);
    hi[j] = static_cast<std::uint8_t>(static_cast<int>(h) + 128);
    if (lo) {
      const float l = std::clamp(std::nearbyint((x[j] - h * s0) * inv1), -127.0f, 127.0f);
      lo[j] = static_cast<std::uint8_t>(static_cast<int>(l) + 128);
    }
  }
}

URM_GCC_POP

}  // namespace urm::detail

namespace urm::kernels {

inline constexpr std::size_t kMaxInt8Parts = 2;

// Reusable: buffers only grow. Not for concurrent use (one per forward pass).
struct Int8Activations {
  std::size_t m = 0, k = 0;  // shape of the current activations
  std::size_t parts = 1;
  const float* x = nullptr;                  // [m, k]: the rows quantized (read for the float channels)
  std::vector<std::uint32_t> float_channels;  // F, ascending: quantized as 0
  AlignedBuffer<std::uint8_t> q;         // [m_padded · parts][k_padded], q + 128
  AlignedBuffer<float> scales;           // [m_padded · parts]: s_p of row r at r · parts + p
  AlignedBuffer<std::int32_t> accumulators;  // per thread slot: C of one work item

  std::size_t k_padded() const { return detail::round_up(k, detail::kInt8KAlign); }
  std::size_t m_padded() const { return detail::round_up(m, detail::kInt8RowAlign); }
  const std::uint8_t* row(std::size_t virtual_row) const { return q.data() + virtual_row * k_padded(); }
};

// x [m, k] float32 -> a (see the top of this file), the channels
// float_channels (strictly ascending, < k) as 0. x must stay valid while a
// is multiplied. Parallel over rows.
inline void quantize_activations(Int8Activations& a, const float* x, std::size_t m, std::size_t k, ThreadPool& pool,
                                 std::size_t parts, std::span<const std::uint32_t> float_channels = {}) {
  if (k == 0) throw Error("quantize_activations: k = 0, expected k > 0");
  if (parts < 1 || parts > kMaxInt8Parts)
    throw Error("quantize_activations: parts = " + std::to_string(parts) + ", expected 1 to " +
                std::to_string(kMaxInt8Parts));
  check_float_channels(float_channels, k, "quantize_activations");
  a.m = m;
  a.k = k;
  a.parts = parts;
  a.x = x;
  a.float_channels = std::vector<std::uint32_t>(float_channels.begin(), float_channels.end());  // (may alias)
  const std::vector<std::uint32_t>& f = a.float_channels;
  const std::size_t kp = a.k_padded(), rows = a.m_padded();
  a.q.reserve(std::max<std::size_t>(1, rows * parts * kp));
  a.scales.reserve(std::max<std::size_t>(1, rows * parts));
  std::uint8_t* q = a.q.data();
  float* scales = a.scales.data();
  pool.parallel_for(rows / detail::kInt8RowAlign, [&](std::size_t block) {
    // A row with F zeroed, in this thread's buffer (no allocation per block).
    float* const masked = f.empty() ? nullptr : detail::thread_scratch<struct MaskedRowScratch>(k);
    for (std::size_t r = block * detail::kInt8RowAlign; r < (block + 1) * detail::kInt8RowAlign; ++r) {
      std::uint8_t* hi = q + r * parts * kp;
      std::uint8_t* lo = hi + kp;
      std::fill(hi + (r < m ? k : 0), hi + parts * kp, std::uint8_t{128});  // padding: q = 0
      if (r >= m) {
        for (std::size_t p = 0; p < parts; ++p) scales[r * parts + p] = 0.0f;
        continue;
      }
      const float* xr = x + r * k;
      if (!f.empty()) {
        std::copy_n(xr, k, masked);
        for (std::uint32_t c : f) masked[c] = 0.0f;
        xr = masked;
      }
      float amax = 0.0f;
      const bool finite = detail::abs_max(xr, k, amax);
      if (!finite || amax == 0.0f) {
        std::fill(hi, hi + k, std::uint8_t{128});
        if (parts > 1) std::fill(lo, lo + k, std::uint8_t{128});
        const float s = finite ? 0.0f : std::numeric_limits<float>::quiet_NaN();
        for (std::size_t p = 0; p < parts; ++p) scales[r * parts + p] = s;
        continue;
      }
      const float s0 = amax / 127.0f, inv0 = 127.0f / amax;
      const float s1 = s0 / 254.0f, inv1 = 254.0f / s0;
      scales[r * parts] = s0;
      if (parts > 1) scales[r * parts + 1] = s1;
      detail::quantize_row(xr, k, s0, inv0, inv1, hi, parts > 1 ? lo : nullptr);
    }
  });
}

}  // namespace urm::kernels
