// Bf16Workspace — the input of fast-mode matmuls, rounded once to bfloat16
// tiles (bf16_tiles.hpp) and then multiplied by every weight that reads it,
// with the per-thread accumulator areas of the matmul driver.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>

#include "urm/core/aligned_buffer.hpp"
#include "urm/core/error.hpp"
#include "urm/core/thread_pool.hpp"
#include "urm/kernels/bf16_tiles.hpp"
#include "urm/kernels/convert.hpp"

namespace urm::kernels {

// Reusable state of fast-mode matmuls: the current activations, rounded to
// bfloat16 in tile layout, whole (parts = 1) or split into `parts` parts
// (2: hi + lo), set once and multiplied by several weights (e.g. the q, k and v
// projections), and one float32 accumulator area per thread slot.
// Buffers only grow, so after the first call of a given size nothing is
// allocated. Not for concurrent use: one workspace per forward pass that can
// run at the same time as another.
struct Bf16Workspace {
  std::size_t m = 0, k = 0;           // shape of the current activations
  std::size_t parts = 1;              // 1: bf16(x); 2: hi = bf16(x), lo = bf16(x − hi); ...
  AlignedBuffer<std::uint16_t> x;     // A tiles [m32 / 16][parts][k32 / 32][16][32]
  AlignedBuffer<float> accumulators;  // per slot: C tiles of one work item
  AlignedBuffer<std::uint16_t> split_weights;  // per slot: hi and lo B tiles of one item's panels, one k
                                               //   block (float16 weights split in 2, matmul_bf16.hpp)
  AlignedBuffer<float> x_f32;         // x widened to float32, same layout (generic kernel only)
  bool x_f32_current = false;         // x_f32 holds the current activations

  std::size_t m_tiles() const { return detail::round_up(m, detail::kMBlock) / detail::kTileRows; }
  std::size_t k_tiles() const { return detail::round_up(k, detail::kTileK) / detail::kTileK; }
  // First A tile of row block mb (rows 16 mb .. 16 mb + 15); part p of tile
  // kb follows at + (p * k_tiles() + kb) * 512.
  const std::uint16_t* x_tiles(std::size_t mb) const {
    return x.data() + mb * parts * k_tiles() * detail::kTileElems;
  }
};

// Most parts x may be split into: 3 keep 24 significant bits, all of a float32.
inline constexpr std::size_t kMaxBf16Parts = 3;

// x [m, k] float32 -> ws (bfloat16, tile layout, zero padded): parts = 1
// rounds x once, more parts also store the rounded rests (see the split
// activations above). Parallel over blocks of 16 rows.
inline void set_activations_bf16(Bf16Workspace& ws, const float* x, std::size_t m, std::size_t k, ThreadPool& pool,
                                 std::size_t parts = 1) {
  if (k == 0) throw Error("set_activations_bf16: k = 0, expected k > 0");
  if (parts < 1 || parts > kMaxBf16Parts)
    throw Error("set_activations_bf16: parts = " + std::to_string(parts) + ", expected 1 to " +
                std::to_string(kMaxBf16Parts));
  ws.m = m;
  ws.k = k;
  ws.parts = parts;
  ws.x_f32_current = false;
  const std::size_t mt = ws.m_tiles(), kt = ws.k_tiles();
  ws.x.reserve(std::max<std::size_t>(1, mt * parts * kt * detail::kTileElems));
  std::uint16_t* out = ws.x.data();
  // Tile row r of part p for k tile kb: out + ((mb * parts + p) * kt + kb) * 512 + r * 32.
  pool.parallel_for(mt, [&](std::size_t mb) {
    for (std::size_t kb = 0; kb < kt; ++kb) {
      const std::size_t len = std::min(detail::kTileK, k - detail::kTileK * kb);
      for (std::size_t r = 0; r < detail::kTileRows; ++r) {
        const std::size_t row = detail::kTileRows * mb + r;
        std::uint16_t* part_rows[kMaxBf16Parts];
        for (std::size_t p = 0; p < parts; ++p)
          part_rows[p] = out + ((mb * parts + p) * kt + kb) * detail::kTileElems + r * detail::kTileK;
        const std::size_t valid = row < m ? len : 0;  // the rest of the tile row is padding
        if (valid > 0) detail::split_to_bf16(x + row * k + detail::kTileK * kb, part_rows, parts, valid);
        for (std::size_t p = 0; p < parts; ++p)
          std::fill(part_rows[p] + valid, part_rows[p] + detail::kTileK, std::uint16_t{0});
      }
    }
  });
}

}  // namespace urm::kernels
