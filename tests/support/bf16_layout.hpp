// Element access to the bfloat16 tile layouts of the fast-mode kernels
// (urm/kernels/bf16_tiles.hpp), for tests that check what was packed or
// rounded where.
#pragma once

#include <cstddef>
#include <cstdint>

#include "urm/kernels/bf16_weights.hpp"
#include "urm/kernels/bf16_workspace.hpp"

namespace urm::test {

// Weight [row, col] as stored in the panel layout.
inline std::uint16_t packed_at(const urm::kernels::PackedBf16Weights& w, std::size_t row, std::size_t col) {
  using namespace urm::detail;
  const std::size_t kb = col / kTileK, c = col % kTileK;
  const std::size_t h = (row % kPanel) / kTileRows;
  return w.panel(row / kPanel)[(2 * kb + h) * kTileElems + (c / 2) * 32 + (row % kTileRows) * 2 + (c & 1)];
}

// Activation [row, col] of part `part` as stored in the workspace (bfloat16 bits).
inline std::uint16_t activation_at(const urm::kernels::Bf16Workspace& ws, std::size_t row, std::size_t col,
                                   std::size_t part = 0) {
  using namespace urm::detail;
  return ws.x_tiles(row / kTileRows)[(part * ws.k_tiles() + col / kTileK) * kTileElems + (row % kTileRows) * kTileK +
                                     col % kTileK];
}

}  // namespace urm::test
