// The AMX-INT8 block kernel of the int8 matmul (Int8Block,
// matmul_int8_blocks.hpp): the same exact int32 sums
//   C[v, 16 p + o] (+)= Σ_{g ∈ [g0, g1)} Σ_{i<4} (A[v, 4g + i] − 128) · W_p[g, 4o + i]
// with TDPBUSD (u8 · s8 → int32) on eight tile registers, each 16 rows x 64
// bytes (amx_begin's configuration, simd.hpp):
//
//   tmm0 tmm1 : C rows r … r+15,    panels p | p+1        (16 x 16 int32)
//   tmm2 tmm3 : C rows r+16 … r+31, panels p | p+1
//   tmm4 tmm5 : A rows r … r+15 | r+16 … r+31, groups g … g+15  (16 x 64 u8)
//   tmm6 tmm7 : B panels p | p+1, groups g … g+15         (16 x 64 s8)
//
// TDPBUSD C, A, B adds, for tile row m and int32 column n,
//   C[m, n] += Σ_{t<16} Σ_{i<4} u8(A[m, 4t + i]) · s8(B[t, 4n + i])   (exact in int32)
// so the layouts need no repacking:
//   - A row m is the 64 activation bytes of virtual row r + m at k values
//     4g … 4g + 63 (int8_activations.hpp), tile stride a_stride;
//   - B row t is group g + t of a panel, whose 64 bytes hold output n's k
//     values 4(g + t) … 4(g + t) + 3 at bytes 4n … 4n + 3 (int8_weights.hpp):
//     a B tile is 16 consecutive groups, 1 KiB of the panel, stride 64;
//   - C tile row m is 16 int32 of C row r + m, stride kInt8COutputs · 4 bytes.
// The activations are q + 128: as in the VNNI kernels, C starts at the
// weights' bias128 = −128 Σ w in the first k block (written into the C area
// before the first tile load), so it ends at Σ q · w.
//
// Per 16 groups (64 k values) of a 32-row x 2-panel step: four tile loads and
// four TDPBUSD (each 16 · 16 · 64 = 16384 multiply-adds), the 2x2 blocking of
// matmul_bf16_amx.hpp: the only one that fits eight registers with one load
// per multiply. Edges take the 1-row-tile and 1-panel forms.
//
// What the tiles do not cover goes to avx512_vnni_int8_block, which gives the
// same exact sums (can_amx_int8 requires AVX512-VNNI):
//   - rows: tiles take 16 virtual rows, blocks come in multiples of 8
//     (Int8Activations pads rows to 8), so a block may end in 8 rows (one
//     part and m_padded = 8 mod 16; with two parts virtual rows come in 16s);
//   - k groups beyond the last whole 16: never in matmul_int8's blocks (k is
//     padded to 64 = 16 groups and its k blocks are 128 groups, both
//     static_asserted), but any Int8Block gets its exact sums.
//
// Tile configuration is per thread, and matmul_int8's driver, shared by every
// int8 kernel, sets none up: each call loads it (amx_begin) and releases the
// tiles when done (amx_end), so the kernel is self-contained and no thread
// keeps 8 KiB of tile state for the OS to save. A full block of the driver
// (64 virtual rows x 4 panels x 128 groups) is 16 C tiles x 8 steps = 128
// TDPBUSD for that one LDTILECFG and TILERELEASE.
//
// Compiled with a target attribute, not -march (simd.hpp): a portable build
// carries this code and runs it only when cpu_features() says AMX-INT8 is
// usable. The tile loads and stores are asm statements that do not declare
// the memory they read or write: URM_ASM_MEMORY_BARRIER() before the first
// load and after the last store orders them with the C++ code around them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "urm/kernels/int8_weights.hpp"
#include "urm/kernels/matmul_int8_blocks.hpp"
#include "urm/kernels/simd.hpp"

namespace urm::detail {

inline constexpr std::size_t kAmxInt8Rows = 16;    // virtual rows per A and C tile
inline constexpr std::size_t kAmxInt8Groups = 16;  // k groups per A and B tile (64 bytes a row)
static_assert(kInt8KAlign % (4 * kAmxInt8Groups) == 0, "a weight's k groups come in whole B tiles");

#if URM_HAVE_X86_KERNELS

// C rows [r0, r0 + 16 R) x panels [p0, p0 + P) += groups [g0, g_end) (g_end − g0 a
// multiple of 16), with the tiles configured. R, P ∈ {1, 2}. Tile numbers
// are immediates of the instructions, hence the spelled-out cases.
template <std::size_t R, std::size_t P>
URM_TARGET_AMX_INT8 inline void amx_int8_tiles(const Int8Block& blk, std::size_t r0, std::size_t p0,
                                               std::size_t g_end) {
  static_assert((R == 1 || R == 2) && (P == 1 || P == 2));
  constexpr long kCStride = 4 * kInt8COutputs, kBStride = kInt8GroupBytes;
  const long a_stride = static_cast<long>(blk.a_stride);
  std::int32_t* c0 = blk.c + r0 * kInt8COutputs + p0 * kInt8Panel;
  std::int32_t* c1 = c0 + kAmxInt8Rows * kInt8COutputs;
  const std::uint8_t* a0 = blk.a + r0 * blk.a_stride;
  const std::uint8_t* a1 = a0 + kAmxInt8Rows * blk.a_stride;
  const std::int8_t* b0 = blk.b + p0 * blk.b_stride;
  const std::int8_t* b1 = b0 + blk.b_stride;
  _tile_loadd(0, c0, kCStride);
  if constexpr (P == 2) _tile_loadd(1, c0 + kInt8Panel, kCStride);
  if constexpr (R == 2) _tile_loadd(2, c1, kCStride);
  if constexpr (R == 2 && P == 2) _tile_loadd(3, c1 + kInt8Panel, kCStride);
  for (std::size_t g = blk.g0; g < g_end; g += kAmxInt8Groups) {
    _tile_loadd(4, a0 + 4 * g, a_stride);
    _tile_loadd(6, b0 + g * kInt8GroupBytes, kBStride);
    _tile_dpbusd(0, 4, 6);
    if constexpr (P == 2) {
      _tile_loadd(7, b1 + g * kInt8GroupBytes, kBStride);
      _tile_dpbusd(1, 4, 7);
    }
    if constexpr (R == 2) {
      _tile_loadd(5, a1 + 4 * g, a_stride);
      _tile_dpbusd(2, 5, 6);
    }
    if constexpr (R == 2 && P == 2) _tile_dpbusd(3, 5, 7);
  }
  _tile_stored(0, c0, kCStride);
  if constexpr (P == 2) _tile_stored(1, c0 + kInt8Panel, kCStride);
  if constexpr (R == 2) _tile_stored(2, c1, kCStride);
  if constexpr (R == 2 && P == 2) _tile_stored(3, c1 + kInt8Panel, kCStride);
}

URM_TARGET_AMX_INT8 inline void amx_int8_block(const Int8Block& blk) {
  const std::size_t tile_rows = blk.rows / kAmxInt8Rows * kAmxInt8Rows;                   // rows the tiles take
  const std::size_t g_end = blk.g0 + (blk.g1 - blk.g0) / kAmxInt8Groups * kAmxInt8Groups;  // groups they take
  const bool tiles = tile_rows > 0 && g_end > blk.g0;
  if (tiles) {
    if (blk.first)
      for (std::size_t v = 0; v < tile_rows; ++v)
        std::memcpy(blk.c + v * kInt8COutputs, blk.bias, 4 * kInt8Panel * blk.panels);
    URM_ASM_MEMORY_BARRIER();
    amx_begin();
    for (std::size_t p0 = 0; p0 < blk.panels; p0 += 2)
      for (std::size_t r0 = 0; r0 < tile_rows; r0 += 2 * kAmxInt8Rows) {
        const bool two_rows = r0 + 2 * kAmxInt8Rows <= tile_rows, two_panels = p0 + 2 <= blk.panels;
        if (two_rows && two_panels) amx_int8_tiles<2, 2>(blk, r0, p0, g_end);
        else if (two_rows) amx_int8_tiles<2, 1>(blk, r0, p0, g_end);
        else if (two_panels) amx_int8_tiles<1, 2>(blk, r0, p0, g_end);
        else amx_int8_tiles<1, 1>(blk, r0, p0, g_end);
      }
    amx_end();
    URM_ASM_MEMORY_BARRIER();
  }
  if (tile_rows > 0 && g_end < blk.g1) {  // the groups after the last whole 16, for the tiles' rows
    Int8Block rest = blk;
    rest.rows = tile_rows;
    rest.g0 = g_end;
    rest.first = blk.first && !tiles;
    avx512_vnni_int8_block(rest);
  }
  if (tile_rows < blk.rows) {  // an 8-row remainder, all groups
    Int8Block rest = blk;
    rest.a = blk.a + tile_rows * blk.a_stride;
    rest.rows = blk.rows - tile_rows;
    rest.c = blk.c + tile_rows * kInt8COutputs;
    avx512_vnni_int8_block(rest);
  }
}

#endif  // URM_HAVE_X86_KERNELS

}  // namespace urm::detail
