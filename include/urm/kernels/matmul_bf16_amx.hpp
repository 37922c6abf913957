// The AMX block kernel of the fast-mode matmul: C[32, 32] += A[32, kc] · B[32, kc]ᵀ
// with TDPBF16PS on eight tile registers.
//
//   tmm0 tmm1 : C rows  0..15, outputs 0..15 | 16..31   (16 x 16 float32)
//   tmm2 tmm3 : C rows 16..31, outputs 0..15 | 16..31
//   tmm4 tmm5 : A rows 0..15 | 16..31, 32 k values       (16 x 32 bf16)
//   tmm6 tmm7 : B outputs 0..15 | 16..31, 16 k pairs     (16 x 16 x 2 bf16)
//
// Per 32 k: four tile loads and four TDPBF16PS (each 16·16·32·2 = 16384
// flops); 2x2 is the only blocking that fits eight registers with one load per
// multiply. With split activations (hi + lo, matmul_bf16_layout.hpp) the two
// B tiles stay in their registers for both parts: six loads for eight
// multiplies, and B, which comes from L2, is read once for twice the work. Measured on Sapphire Rapids (TDPBF16PS peak ~3.2-3.4 TFLOP/s per
// core with operands resident in tiles): ~60% of that with A, B and C all in
// L1, ~35% in the full matmul, where B streams from L2 — the tile loads, not
// the multiplies, set the pace. TDPBF16PS multiplies bf16 pairs exactly and accumulates in
// float32; it treats subnormal inputs and outputs as zero (Intel SDM vol. 2,
// "TDPBF16PS"), which at the scale of model activations never matters.
//
// Compiled with a target attribute, not -march: a portable build carries this
// code and runs it only when cpu_features() says AMX is usable.
#pragma once

#include <cstddef>
#include <cstdint>

#include "urm/kernels/matmul_bf16_layout.hpp"

#if URM_HAVE_X86_BF16_KERNELS
#include <immintrin.h>
#endif

namespace urm::detail {

#if URM_HAVE_X86_BF16_KERNELS

#define URM_TARGET_AMX __attribute__((target("amx-tile,amx-bf16,avx512f,avx512bw,avx512bf16")))

// Palette 1, tiles 0..7 all 16 rows x 64 bytes (LDTILECFG memory format,
// Intel SDM vol. 1, 3.2.1: palette, start_row, 14 reserved, 16 x colsb, 16 x rows).
struct alignas(64) AmxTileConfig {
  std::uint8_t palette = 1;
  std::uint8_t start_row = 0;
  std::uint8_t reserved[14] = {};
  std::uint16_t colsb[16] = {64, 64, 64, 64, 64, 64, 64, 64};
  std::uint8_t rows[16] = {16, 16, 16, 16, 16, 16, 16, 16};
};

// Tile configuration is per thread: every thread that runs amx_block calls
// this first, and amx_end when it is done so the OS need not save 8 KiB of
// tile state on its context switches.
URM_TARGET_AMX inline void amx_begin() {
  const AmxTileConfig config;
  // GCC 12's _tile_loadconfig tells the compiler it reads 8 bytes only; the
  // barrier makes sure the whole 64-byte struct is in memory first.
  __asm__ volatile("" : : "r"(&config) : "memory");
  _tile_loadconfig(&config);
}

URM_TARGET_AMX inline void amx_end() { _tile_release(); }

// a0, a1 : A tiles of rows 0..15 and 16..31; part p of tile kb at
//          + p * part_stride + kb * 512 (parts: 1, or 2 for hi and lo)
// b      : weight panel; tile (kb, h) at + (2 kb + h) * 512
// c      : C tiles (row block r, output half h) at c + r * c_stride + h * 256,
//          rows of 16 floats; read unless first
// out    : where the result goes: null = back into c; else (the last k block
//          of a block that lies inside y) rows of y, C[r, o] at out[r * out_stride + o]
URM_TARGET_AMX inline void amx_block(const std::uint16_t* a0, const std::uint16_t* a1, std::size_t part_stride,
                                     std::size_t parts, const std::uint16_t* b, std::size_t kb0, std::size_t kb1,
                                     float* c, std::size_t c_stride, bool first, float* out,
                                     std::size_t out_stride) {
  // The tile-load asm of GCC 12 does not declare the memory it reads.
  __asm__ volatile("" : : : "memory");
  constexpr long kStride = 64;  // bytes per tile row, A, B and C alike
  float* c1 = c + c_stride;
  if (first) {
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
    // register: it should not also wait for L2. Fetch the two B tiles two
    // steps ahead into L1 (a few per cent). Not with split activations: each
    // B tile then feeds eight multiplies, which hide its load, and the 32
    // prefetches per step only compete for fill buffers (5% slower).
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
  if (out != nullptr) {
    const long stride = static_cast<long>(4 * out_stride);
    float* out1 = out + kTileRows * out_stride;
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

#endif  // URM_HAVE_X86_BF16_KERNELS

}  // namespace urm::detail
