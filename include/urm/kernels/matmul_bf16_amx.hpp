// The AMX block kernel of the fast-mode matmul (Bf16Block, bf16_tiles.hpp):
// C[32, 32] += A[32, kc] · B[32, kc]ᵀ with TDPBF16PS on eight tile registers.
//
//   tmm0 tmm1 : C rows  0..15, outputs 0..15 | 16..31   (16 x 16 float32)
//   tmm2 tmm3 : C rows 16..31, outputs 0..15 | 16..31
//   tmm4 tmm5 : A rows 0..15 | 16..31, 32 k values       (16 x 32 bf16)
//   tmm6 tmm7 : B outputs 0..15 | 16..31, 16 k pairs     (16 x 16 x 2 bf16)
//
// Per 32 k: four tile loads and four TDPBF16PS (each 16·16·32·2 = 16384
// flops); 2x2 is the only blocking that fits eight registers with one load per
// multiply. With split activations (parts > 1) the two B tiles stay in their
// registers for every part: 4 + 2·(parts − 1) loads for 4·parts multiplies,
// and B, which comes from L2, is read once for all of them. The tile loads,
// not the multiplies, set the pace (benchmarks/RESULTS.md, "Kernel design
// measurements"). TDPBF16PS multiplies bf16 pairs exactly and accumulates in
// float32; it treats subnormal inputs and outputs as zero (Intel SDM vol. 2,
// "TDPBF16PS"), which at the scale of model activations never matters.
//
// Compiled with a target attribute, not -march (simd.hpp): a portable build
// carries this code and runs it only when cpu_features() says AMX is usable,
// on threads that called amx_begin().
#pragma once

#include <cstddef>
#include <cstdint>

#include "urm/kernels/bf16_tiles.hpp"
#include "urm/kernels/simd.hpp"

namespace urm::detail {

#if URM_HAVE_X86_KERNELS

URM_TARGET_AMX inline void amx_block(const Bf16Block<std::uint16_t>& blk) {
  const std::uint16_t *a0 = blk.a0, *a1 = blk.a1, *b = blk.b;
  const std::size_t part_stride = blk.part_stride, parts = blk.parts, kb0 = blk.kb0, kb1 = blk.kb1;
  float* c = blk.c;
  // The tile loads below read memory the compiler is not told about (simd.hpp).
  URM_ASM_MEMORY_BARRIER();
  constexpr long kStride = 64;  // bytes per tile row, A, B and C alike
  float* c1 = c + blk.c_stride;
  if (blk.first) {
    _tile_zero(0);
    _tile_zero(1);
    _tile_zero(2);
    _tile_zero(3);
  } else {
    _tile_loadd(0, c, kStride);
    _tile_loadd(1, c + 256, kStride);
    _tile_loadd(2, c1, kStride);
    _tile_loadd(3, c1 + 256, kStride);
  }
  for (std::size_t kb = kb0; kb < kb1; ++kb) {
    const std::uint16_t* bt = b + 2 * kb * kTileElems;
    // B comes from L2 (the driver keeps A in L1). A tile register is not
    // renamed, so a load waits for the multiplies still reading the
    // register: it should not also wait for L2. With one part, fetch the two
    // B tiles two steps ahead into L1. Not with split activations: each B
    // tile then feeds 4·parts multiplies, which hide its load, and the 32
    // prefetches per step only compete for fill buffers.
    if (parts == 1 && kb + 2 < kb1) {
      const char* next = reinterpret_cast<const char*>(b + 2 * (kb + 2) * kTileElems);
      for (int line = 0; line < 32; ++line) _mm_prefetch(next + 64 * line, _MM_HINT_T0);
    }
    _tile_loadd(4, a0 + kb * kTileElems, kStride);
    _tile_loadd(6, bt, kStride);
    _tile_dpbf16ps(0, 4, 6);
    _tile_loadd(7, bt + kTileElems, kStride);
    _tile_dpbf16ps(1, 4, 7);
    _tile_loadd(5, a1 + kb * kTileElems, kStride);
    _tile_dpbf16ps(2, 5, 6);
    _tile_dpbf16ps(3, 5, 7);
    for (std::size_t p = 1; p < parts; ++p) {  // the other parts · Bᵀ with the B tiles still in tmm6, tmm7
      _tile_loadd(4, a0 + p * part_stride + kb * kTileElems, kStride);
      _tile_dpbf16ps(0, 4, 6);
      _tile_dpbf16ps(1, 4, 7);
      _tile_loadd(5, a1 + p * part_stride + kb * kTileElems, kStride);
      _tile_dpbf16ps(2, 5, 6);
      _tile_dpbf16ps(3, 5, 7);
    }
  }
  if (blk.out != nullptr) {
    const long stride = static_cast<long>(4 * blk.out_stride);
    float* out = blk.out;
    float* out1 = out + kTileRows * blk.out_stride;
    _tile_stored(0, out, stride);
    _tile_stored(1, out + kTileRows, stride);
    _tile_stored(2, out1, stride);
    _tile_stored(3, out1 + kTileRows, stride);
  } else {
    _tile_stored(0, c, kStride);
    _tile_stored(1, c + 256, kStride);
    _tile_stored(2, c1, kStride);
    _tile_stored(3, c1 + 256, kStride);
  }
}

#endif  // URM_HAVE_X86_KERNELS

}  // namespace urm::detail
