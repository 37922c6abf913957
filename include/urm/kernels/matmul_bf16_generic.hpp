// The portable block kernel of the fast-mode matmul (xsimd, float32 FMA, any
// instruction set xsimd compiles for): C[32, 32] += A[32, kc] · B[32, kc]ᵀ on
// the same bfloat16 tile layouts as the AMX and AVX512-BF16 kernels.
//
// A bfloat16 is the high half of a float32, so a 32-bit lane of a B tile row
// (the weights w[o, 2p] | w[o, 2p+1] << 16 of output o) widens with one
// integer op per weight:
//   w[o, 2p]   = bits(lane << 16)          w[o, 2p+1] = bits(lane & 0xffff0000)
// Products of two bfloat16 are exact in float32, so the only difference to
// the other kernels is the order of float32 additions.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include <xsimd/xsimd.hpp>

#include "urm/core/dtype.hpp"
#include "urm/kernels/matmul_bf16_layout.hpp"

namespace urm::detail {

// GCC 12 warns inside its own _mm512_slli_epi32 (_mm512_undefined_epi32 is
// a self-initialised variable) when xsimd's shift inlines here.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

// Same contract as amx_block (see matmul_bf16_amx.hpp).
inline void generic_bf16_block(const std::uint16_t* a0, const std::uint16_t* a1, const std::uint16_t* b,
                               std::size_t kb0, std::size_t kb1, float* c, std::size_t c_stride, bool first) {
  using F = xsimd::batch<float>;
  using H = xsimd::batch<std::uint16_t>;
  using U = xsimd::batch<std::uint32_t>;
  constexpr std::size_t kW = F::size;
  static_assert(kTileRows % kW == 0, "a float batch must divide a 16-output tile row");
  constexpr std::size_t kB = kTileRows / kW;                        // batches per 16 outputs
  constexpr std::size_t kRows = std::max<std::size_t>(1, 8 / kB);  // 8 accumulators in registers
  const U high_half(0xffff0000u);

  for (std::size_t h = 0; h < 2; ++h) {
    for (std::size_t r0 = 0; r0 < kMBlock; r0 += kRows) {
      const std::uint16_t* a = (r0 < kTileRows ? a0 : a1) + (r0 % kTileRows) * kTileK;
      float* ct = c + (r0 / kTileRows) * c_stride + h * 256 + (r0 % kTileRows) * kTileRows;
      F acc[kRows][kB];
      for (std::size_t r = 0; r < kRows; ++r)
        for (std::size_t q = 0; q < kB; ++q)
          acc[r][q] = first ? F(0.0f) : F::load_aligned(ct + r * kTileRows + q * kW);
      for (std::size_t kb = kb0; kb < kb1; ++kb) {
        const std::uint16_t* bt = b + (2 * kb + h) * kTileElems;
        const std::uint16_t* at = a + kb * kTileElems;
        for (std::size_t p = 0; p < kTileK / 2; ++p) {
          F w_even[kB], w_odd[kB];
          for (std::size_t q = 0; q < kB; ++q) {
            const U lanes = xsimd::bitwise_cast<U>(H::load_aligned(bt + p * 32 + q * 2 * kW));
            w_even[q] = xsimd::bitwise_cast<F>(lanes << 16);
            w_odd[q] = xsimd::bitwise_cast<F>(lanes & high_half);
          }
          for (std::size_t r = 0; r < kRows; ++r) {
            const F x0(bf16_to_f32(at[r * kTileK + 2 * p]));
            const F x1(bf16_to_f32(at[r * kTileK + 2 * p + 1]));
            for (std::size_t q = 0; q < kB; ++q) acc[r][q] = xsimd::fma(x1, w_odd[q], xsimd::fma(x0, w_even[q], acc[r][q]));
          }
        }
      }
      for (std::size_t r = 0; r < kRows; ++r)
        for (std::size_t q = 0; q < kB; ++q) acc[r][q].store_aligned(ct + r * kTileRows + q * kW);
    }
  }
}

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

}  // namespace urm::detail
