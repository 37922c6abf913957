// The AVX512-BF16 block kernel of the fast-mode matmul (Bf16Block,
// bf16_tiles.hpp), for CPUs with VDPBF16PS but no AMX (Cooper Lake, Zen 4,
// Sapphire Rapids without tile permission, ...): C[32, 32] += A[32, kc] · B[32, kc]ᵀ.
//
// VDPBF16PS c, a, b computes, for each of 16 float32 lanes i,
//   c[i] += a[2i] · b[2i] + a[2i+1] · b[2i+1]
// A row of a B tile holds, for 16 outputs, the weights of one k pair: with
// the pair x[r, 2p], x[r, 2p+1] broadcast to every lane it gives 16 outputs of
// row r at once. The kernel keeps 8 rows x 32 outputs = 16 zmm accumulators
// in registers through the k block; per k pair it loads 2 weight rows and 8
// broadcasts for 16 VDPBF16PS per part.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "urm/kernels/bf16_tiles.hpp"
#include "urm/kernels/simd.hpp"

namespace urm::detail {

#if URM_HAVE_X86_KERNELS

URM_TARGET_AVX512_BF16 inline void avx512_bf16_block(const Bf16Block<std::uint16_t>& blk) {
  constexpr std::size_t kRows = 8;
  const std::uint16_t* b = blk.b;
  const std::size_t part_stride = blk.part_stride, parts = blk.parts, kb0 = blk.kb0, kb1 = blk.kb1;
  for (std::size_t r0 = 0; r0 < kMBlock; r0 += kRows) {
    const std::uint16_t* a = (r0 < kTileRows ? blk.a0 : blk.a1) + (r0 % kTileRows) * kTileK;
    float* ct = blk.c + (r0 / kTileRows) * blk.c_stride + (r0 % kTileRows) * kTileRows;
    __m512 acc[kRows][2];
    for (std::size_t r = 0; r < kRows; ++r)
      for (std::size_t h = 0; h < 2; ++h)
        acc[r][h] = blk.first ? _mm512_setzero_ps() : _mm512_load_ps(ct + r * kTileRows + h * 256);
    for (std::size_t kb = kb0; kb < kb1; ++kb) {
      const std::uint16_t* bt = b + 2 * kb * kTileElems;
      for (std::size_t p = 0; p < kTileK / 2; ++p) {
        const __m512bh w0 = (__m512bh)_mm512_load_si512(bt + p * 32);
        const __m512bh w1 = (__m512bh)_mm512_load_si512(bt + kTileElems + p * 32);
        for (std::size_t part = 0; part < parts; ++part) {  // every part on the same weights
          const std::uint16_t* at = a + part * part_stride + kb * kTileElems;
          for (std::size_t r = 0; r < kRows; ++r) {
            std::int32_t pair;
            std::memcpy(&pair, at + r * kTileK + 2 * p, 4);
            const __m512bh x = (__m512bh)_mm512_set1_epi32(pair);
            acc[r][0] = _mm512_dpbf16_ps(acc[r][0], x, w0);
            acc[r][1] = _mm512_dpbf16_ps(acc[r][1], x, w1);
          }
        }
      }
    }
    for (std::size_t r = 0; r < kRows; ++r)
      for (std::size_t h = 0; h < 2; ++h) {
        if (blk.out != nullptr) _mm512_storeu_ps(blk.out + (r0 + r) * blk.out_stride + h * kTileRows, acc[r][h]);
        else _mm512_store_ps(ct + r * kTileRows + h * 256, acc[r][h]);
      }
  }
}

#endif  // URM_HAVE_X86_KERNELS

}  // namespace urm::detail
