// PackedBf16Weights — a weight W [n, k] converted once to bfloat16 in the
// panel layout of the fast-mode kernels (bf16_tiles.hpp): the storage of a
// PackedBf16 Linear. A float16 or float32 weight is rounded straight to
// bfloat16 (to nearest even); no float32 copy of a weight is ever made.
//
// Or, with weight_parts = 2 (float16 weights only), the float16 bits
// themselves in the same panel layout: the matmul splits each k block of a
// panel into hi + lo bfloat16 tiles when it multiplies (split_f16_to_bf16,
// exact), so exact mode gets bf16 products without rounding W and without
// storing both halves (4 bytes a weight: 32 GB for an 8B checkpoint).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "urm/core/aligned_buffer.hpp"
#include "urm/core/dtype.hpp"
#include "urm/core/error.hpp"
#include "urm/core/tensor_view.hpp"
#include "urm/core/thread_pool.hpp"
#include "urm/kernels/bf16_tiles.hpp"
#include "urm/kernels/convert.hpp"

namespace urm::kernels {

// W [n, k] in the panel layout. Owns its aligned buffer (move-only: a
// Linear shares one by pointer).
class PackedBf16Weights {
 public:
  PackedBf16Weights() = default;

  const std::string& name() const { return name_; }
  std::size_t n() const { return n_; }
  std::size_t k() const { return k_; }
  std::size_t n_panels() const { return detail::round_up(n_, detail::kPanel) / detail::kPanel; }
  std::size_t k_tiles() const { return detail::round_up(k_, detail::kTileK) / detail::kTileK; }
  std::size_t bytes() const { return 2 * n_panels() * k_tiles() * 2 * detail::kTileElems; }
  // 1: the panels hold bf16(W); 2: they hold W's float16 bits, W = hi + lo.
  std::size_t weight_parts() const { return weight_parts_; }

  // First B tile of panel j (outputs 32 j .. 32 j + 31); tile (kb, h) is at
  // panel(j) + (2 kb + h) * 512.
  const std::uint16_t* panel(std::size_t j) const { return data_.data() + j * k_tiles() * 2 * detail::kTileElems; }

 private:
  friend PackedBf16Weights pack_bf16(const TensorView& w, ThreadPool& pool, std::size_t weight_parts);
  std::string name_;
  std::size_t n_ = 0, k_ = 0;
  std::size_t weight_parts_ = 1;
  AlignedBuffer<std::uint16_t> data_;
};

// Converts a weight W [n, k] stored as F32, F16 or BF16 (round to nearest
// even; float16 goes to bfloat16 directly, never through a float32 copy);
// weight_parts = 2 keeps a float16 W's bits (see above). Parallel over panels
// of 32 rows.
inline PackedBf16Weights pack_bf16(const TensorView& w, ThreadPool& pool, std::size_t weight_parts = 1) {
  const auto [n, k] = detail::checked_weight_shape(w, "pack_bf16");
  if (weight_parts != 1 && weight_parts != 2)
    throw Error("pack_bf16: weight " + w.name + ": weight_parts = " + std::to_string(weight_parts) +
                ", expected 1 or 2");
  if (weight_parts == 2 && w.dtype != DType::F16)
    throw Error("pack_bf16: weight " + w.name + " has dtype " + std::string(dtype_name(w.dtype)) +
                "; only F16 weights are split into 2 bfloat16 parts");

  PackedBf16Weights p;
  p.name_ = w.name;
  p.n_ = n;
  p.k_ = k;
  p.weight_parts_ = weight_parts;
  const std::size_t kt = p.k_tiles(), panel_elems = kt * 2 * detail::kTileElems;
  p.data_.reserve(p.n_panels() * panel_elems);
  std::uint16_t* out = p.data_.data();

  // A panel 256 k at a time: convert its 32 rows into `rows`, then, per B
  // tile, transpose the 16 x 16 matrix of k pairs (32-bit words) so that each
  // tile row holds one pair of all 16 outputs.
  constexpr std::size_t kChunkTiles = 8;
  pool.parallel_for(p.n_panels(), [&](std::size_t j) {
    std::uint16_t rows[detail::kPanel][kChunkTiles * detail::kTileK];
    for (std::size_t kc = 0; kc < kt; kc += kChunkTiles) {
      const std::size_t tiles = std::min(kChunkTiles, kt - kc);
      const std::size_t len = std::min(k, detail::kTileK * (kc + tiles)) - detail::kTileK * kc;
      for (std::size_t o = 0; o < detail::kPanel; ++o) {
        const std::size_t r = detail::kPanel * j + o;
        std::fill(rows[o] + (r < n ? len : 0), rows[o] + tiles * detail::kTileK, std::uint16_t{0});
        if (r < n && weight_parts == 2) std::memcpy(rows[o], w.data + 2 * (r * k + detail::kTileK * kc), 2 * len);
        else if (r < n) detail::stored_to_bf16(w.data, w.dtype, r * k + detail::kTileK * kc, len, rows[o]);
      }
      for (std::size_t t = 0; t < tiles; ++t)
        for (std::size_t h = 0; h < 2; ++h) {
          std::uint16_t* tile = out + j * panel_elems + (2 * (kc + t) + h) * detail::kTileElems;
          for (std::size_t q = 0; q < detail::kTileK / 2; ++q)
            for (std::size_t c = 0; c < detail::kTileRows; ++c)
              std::memcpy(tile + q * 32 + 2 * c, &rows[detail::kTileRows * h + c][t * detail::kTileK + 2 * q], 4);
        }
    }
  });
  return p;
}

inline PackedBf16Weights pack_bf16(const TensorView& w, std::size_t weight_parts = 1) {
  ThreadPool caller_only(1);
  return pack_bf16(w, caller_only, weight_parts);
}

}  // namespace urm::kernels
