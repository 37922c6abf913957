// The bfloat16 tile layouts shared by the fast-mode matmul kernels (AMX,
// AVX512-BF16 and the portable xsimd path), and the contract of their block
// kernels. The buffers that hold them: bf16_weights.hpp (weights, packed once
// at load) and bf16_workspace.hpp (activations, rounded once per input).
//
// Both operands are cut into tiles of 16 rows x 64 bytes = 512 bfloat16, the
// shape of one AMX tile register, each tile contiguous (1 KiB):
//
//   activations X [m, k]  ->  tiles A[m16][part][k32]   A tile: 16 rows x 32 k
//       A[mb][0][kb][r][c]  = bf16(X[16 mb + r, 32 kb + c])
//       A[mb][p][kb][r][c]  = bf16(X − Σ_{q<p} A[mb][q])   (split activations, p < parts)
//
//   weights W [n, k]      ->  panels of 32 outputs, each two B tiles per k32:
//       B[nj][kb][h][p][c][e] = bf16(W[32 nj + 16 h + c, 32 kb + 2 p + e])
//       (p: k pair 0..15, c: output 0..15, e: 0/1 within the pair)
//
// B is the "VNNI" pair layout TDPBF16PS and VDPBF16PS both want: one 64-byte
// row holds, for 16 outputs, the two weights that meet one pair of x values,
// so a B tile row is exactly one zmm of VDPBF16PS operands too. A panel's
// tiles follow each other in k order, so streaming a panel through k reads
// memory sequentially.
//
// m is padded to 32, n to 32 and k to 32 with zeros: padded products are 0·0
// and padded outputs are never copied out, so kernels only see whole tiles.
//
// Split activations (parts > 1) keep about 8 more significant bits of x per
// part: with 2 parts, X = hi + lo exactly up to lo's own rounding (X − hi is
// exact in float32), 16 bits instead of 8, and the kernels accumulate
// hi · Wᵀ + lo · Wᵀ into the same float32 sums, each B tile loaded once for all
// parts. The part tiles of a row block are kt tiles apart, so a kernel reads
// part p of tile kb at + (p kt + kb) · 512.
#pragma once

#include <cstddef>
#include <cstdint>

namespace urm::detail {

inline constexpr std::size_t kTileRows = 16;    // rows of an A tile, outputs of a B tile
inline constexpr std::size_t kTileK = 32;       // k values per tile (64 bytes of bf16)
inline constexpr std::size_t kTileElems = 512;  // bf16 per tile
inline constexpr std::size_t kPanel = 32;       // outputs per weight panel (two B tiles): the micro-tile's nr
inline constexpr std::size_t kMBlock = 32;      // activation rows per block kernel (two A tiles): its mr

constexpr std::size_t round_up(std::size_t x, std::size_t to) { return (x + to - 1) / to * to; }

// What a block kernel computes: C[32, 32] (+)= Σ_parts A_part[32, k block] ·
// B[32, k block]ᵀ for the k tiles [kb0, kb1), A of element type AElem
// (bfloat16 bits, or float32 for the generic kernel). Every kernel (AMX,
// AVX512-BF16, generic) takes exactly this.
template <class AElem>
struct Bf16Block {
  const AElem* a0 = nullptr;  // A tiles of rows 0..15: part p of tile kb at a0 + p·part_stride + kb·512
  const AElem* a1 = nullptr;  // ... of rows 16..31
  std::size_t part_stride = 0;
  std::size_t parts = 1;               // activation parts (1, or more for split activations)
  const std::uint16_t* b = nullptr;    // weight panel; tile (kb, h) at b + (2 kb + h)·512
  std::size_t kb0 = 0, kb1 = 0;        // k tiles of this block
  float* c = nullptr;                  // C tiles (row half r, output half h) at c + r·c_stride + h·256,
  std::size_t c_stride = 0;            //   rows of 16 floats; read unless first
  bool first = true;                   // start C from 0 (the first k block)
  float* out = nullptr;                // null: C goes back to c; else (the last k block of a block
  std::size_t out_stride = 0;          //   inside y) C[r, o] goes to out[r·out_stride + o]
};

}  // namespace urm::detail
