// The portable block kernel of the fast-mode matmul (Bf16Block,
// bf16_tiles.hpp; xsimd float32 FMA, any instruction set xsimd compiles for):
// C[32, 32] += A[32, kc] · B[32, kc]ᵀ on the same bfloat16 tile layouts as
// the AMX and AVX512-BF16 kernels.
//
// A bfloat16 is the high half of a float32, so a 32-bit lane of a B tile row
// (the weights w[o, 2p] | w[o, 2p+1] << 16 of output o) widens with one
// integer op per weight:
//   w[o, 2p]   = bits(lane << 16)          w[o, 2p+1] = bits(lane & 0xffff0000)
// Products of two bfloat16 are exact in float32, so the only difference to
// the other kernels is the order of float32 additions.
//
// The activations are read as float32 (the workspace's bfloat16 tiles
// widened once per set of activations, same layout with 4-byte elements): a
// broadcast from memory costs no arithmetic, whereas widening a broadcast
// bf16 pair per row took two integer ops per four FMAs, which on AVX-512
// share the FMA ports (benchmarks/RESULTS.md, "Kernel design measurements").
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include <xsimd/xsimd.hpp>

#include "urm/kernels/bf16_tiles.hpp"
#include "urm/kernels/simd.hpp"

namespace urm::detail {

// xsimd's shift inlines GCC 12's _mm512_slli_epi32 here (simd.hpp's note).
URM_GCC_PUSH_NO_MAYBE_UNINITIALIZED

// The A tiles hold float32: part p of tile kb at a0 + p * part_stride + kb * 512,
// row r at + r * 32.
inline void generic_bf16_block(const Bf16Block<float>& blk) {
  const float *a0 = blk.a0, *a1 = blk.a1;
  const std::uint16_t* b = blk.b;
  const std::size_t part_stride = blk.part_stride, parts = blk.parts, kb0 = blk.kb0, kb1 = blk.kb1;
  float* const c = blk.c;
  const std::size_t c_stride = blk.c_stride;
  const bool first = blk.first;
  float* const out = blk.out;
  const std::size_t out_stride = blk.out_stride;
  using F = xsimd::batch<float>;
  using H = xsimd::batch<std::uint16_t>;
  using U = xsimd::batch<std::uint32_t>;
  constexpr std::size_t kW = F::size;
  static_assert(kTileRows % kW == 0, "a float batch must divide a 16-output tile row");
  // Outputs per pass: both B tiles (32) when batches are wide (32 zmm
  // registers), else one; rows so that 16 (wide) or 8 accumulators live in
  // registers.
  constexpr std::size_t kOutputs = kW >= 16 ? kPanel : kTileRows;
  constexpr std::size_t kB = kOutputs / kW;                                       // batches per row
  constexpr std::size_t kRows = std::max<std::size_t>(1, (kW >= 16 ? 16 : 8) / kB);
  const U high_half(0xffff0000u);

  for (std::size_t o0 = 0; o0 < kPanel; o0 += kOutputs) {
    for (std::size_t r0 = 0; r0 < kMBlock; r0 += kRows) {
      const float* a = (r0 < kTileRows ? a0 : a1) + (r0 % kTileRows) * kTileK;
      float* ct = c + (r0 / kTileRows) * c_stride + (r0 % kTileRows) * kTileRows;
      // Output o of the panel is lane o % 16 of C tile / B tile o / 16.
      const auto c_at = [&](std::size_t r, std::size_t q) {
        const std::size_t o = o0 + q * kW;
        return ct + (o / kTileRows) * 256 + r * kTileRows + o % kTileRows;
      };
      F acc[kRows][kB];
      for (std::size_t r = 0; r < kRows; ++r)
        for (std::size_t q = 0; q < kB; ++q) acc[r][q] = first ? F(0.0f) : F::load_aligned(c_at(r, q));
      for (std::size_t kb = kb0; kb < kb1; ++kb) {
        const std::uint16_t* bt = b + 2 * kb * kTileElems;
        for (std::size_t p = 0; p < kTileK / 2; ++p) {
          F w_even[kB], w_odd[kB];
          for (std::size_t q = 0; q < kB; ++q) {
            const std::size_t o = o0 + q * kW;
            const U lanes =
                xsimd::bitwise_cast<U>(H::load_aligned(bt + (o / kTileRows) * kTileElems + p * 32 + 2 * (o % kTileRows)));
            w_even[q] = xsimd::bitwise_cast<F>(lanes << 16);
            w_odd[q] = xsimd::bitwise_cast<F>(lanes & high_half);
          }
          for (std::size_t part = 0; part < parts; ++part) {  // every part on the same weights
            const float* at = a + part * part_stride + kb * kTileElems;
            for (std::size_t r = 0; r < kRows; ++r) {
              const F x0(at[r * kTileK + 2 * p]), x1(at[r * kTileK + 2 * p + 1]);
              for (std::size_t q = 0; q < kB; ++q)
                acc[r][q] = detail::fma(x1, w_odd[q], detail::fma(x0, w_even[q], acc[r][q]));
            }
          }
        }
      }
      for (std::size_t r = 0; r < kRows; ++r)
        for (std::size_t q = 0; q < kB; ++q) {
          if (out != nullptr) acc[r][q].store_unaligned(out + (r0 + r) * out_stride + o0 + q * kW);
          else acc[r][q].store_aligned(c_at(r, q));
        }
    }
  }
}

URM_GCC_POP

}  // namespace urm::detail
