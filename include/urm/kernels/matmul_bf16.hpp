// matmul_bf16 — the fast-mode matmul of a PackedBf16 Linear: Y = X · Wᵀ with
// X and W rounded to bfloat16, products exact, sums in float32.
//
//   x : [m, k] float32, rounded once per input (set_activations_bf16,
//       bf16_workspace.hpp) into a reusable workspace, so several weights
//       can share one conversion
//   w : [n, k] packed once at load (pack_bf16, bf16_weights.hpp)
//   y : [m, n] float32
//
// Three block kernels compute the same 32 x 32 blocks (Bf16Block,
// bf16_tiles.hpp) on the same layouts, chosen at run time (cpu_features()):
//   amx          TDPBF16PS on tile registers       (Sapphire Rapids and later)
//   avx512_bf16  VDPBF16PS on zmm registers        (Cooper Lake, Zen 4, ...)
//   generic      xsimd float32 FMA, any instruction set
// They differ only in the order of float32 additions.
//
// Blocking (blocking.hpp's names): micro-tiles of mr = 32 rows x nr = 32
// outputs (one block kernel call), work items of mc = 512 rows x nc = 256
// outputs, k blocks of kc = 256 k values over all parts together (128 per
// part with two parts, so that A[32, k block] is 16 KiB either way):
//   for each k block:                         B[nc outputs, k block] stays in L2
//     for each block of 32 rows:              A[32, k block] stays in L1
//       for each panel of 32 outputs:         C[32, 32] accumulates in tiles
// while the next row block's activations and the next k block's weights are
// prefetched toward L2 (and, inside the AMX kernel with one activation part,
// B two k steps ahead into L1). C of a whole item lives in a per-thread
// accumulator area in tile layout (contiguous 1 KiB tiles: no cache-set
// conflicts from a power-of-two row stride of y) and is copied into y when
// the item's k loop is done. The sizes were tuned on Sapphire Rapids (48 KiB
// L1, 2 MiB L2; benchmarks/RESULTS.md, "Kernel design measurements").
//
// Float16 weights split in two (w.weight_parts() = 2, exact mode on AMX):
// the panels hold float16 bits, and per work item and k block the driver
// splits the item's panels into hi + lo bfloat16 tiles in a per-slot area
// (split_f16_to_bf16: W = hi + lo exactly), which then serve every row
// block. Each block is two kernel calls on the same C: Σ_p A_p · hiᵀ over
// all parts, then Σ_{p < parts−1} A_p · loᵀ. The product left out, the last
// part times lo, is below 2⁻¹⁶ · 2⁻⁹ of x · w, under float32's rounding
// (with 3 parts: 5 tile products per weight instead of 3, and no rounding
// of W). The split costs about 0.2 ns a weight per item (its AVX-512 form,
// measured on a Xeon), against about 5 ns of tile products for the item's
// 512 rows at 1 TFLOP/s.
//
// Any thread that runs the AMX kernel must have AMX permission; calling
// cpu_features() (done here before any kernel runs) requests it.
//
// Order of operations (batch invariance): each output y[i, j] is computed by
// exactly one item, by a sequence of operations that depends only on k, the
// number of parts, the weight parts and the kernel: its k blocks in order,
// within one the k tiles in order and for each tile every part in order (hi
// before lo for split weights), on the same
// kernel instructions whatever the row's position, the number of rows or the
// thread. So a row gives the same bits alone, in any batch and for any
// number of threads.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "urm/core/cpu_features.hpp"
#include "urm/core/error.hpp"
#include "urm/core/thread_pool.hpp"
#include "urm/kernels/bf16_tiles.hpp"
#include "urm/kernels/bf16_weights.hpp"
#include "urm/kernels/bf16_workspace.hpp"
#include "urm/kernels/blocking.hpp"
#include "urm/kernels/convert.hpp"
#include "urm/kernels/matmul_bf16_amx.hpp"
#include "urm/kernels/matmul_bf16_avx512.hpp"
#include "urm/kernels/matmul_bf16_generic.hpp"
#include "urm/kernels/simd.hpp"

namespace urm::kernels {

enum class Bf16Kernel : std::uint8_t { Generic, Avx512Bf16, Amx };

inline constexpr Bf16Kernel kBf16Kernels[] = {Bf16Kernel::Amx, Bf16Kernel::Avx512Bf16,
                                              Bf16Kernel::Generic};  // fastest first

constexpr std::string_view bf16_kernel_name(Bf16Kernel kernel) {
  switch (kernel) {
    case Bf16Kernel::Generic: return "generic";
    case Bf16Kernel::Avx512Bf16: return "avx512_bf16";
    case Bf16Kernel::Amx: return "amx";
  }
  return "?";
}

// Whether this build carries the kernel and the CPU and OS let it run.
inline bool bf16_kernel_available(Bf16Kernel kernel, const CpuFeatures& f) {
  switch (kernel) {
    case Bf16Kernel::Generic: return true;
    case Bf16Kernel::Avx512Bf16: return URM_HAVE_X86_KERNELS && f.can_avx512_bf16();
    case Bf16Kernel::Amx: return URM_HAVE_X86_KERNELS && f.can_amx_bf16();
  }
  return false;
}

inline Bf16Kernel best_bf16_kernel(const CpuFeatures& f = cpu_features()) {
  for (Bf16Kernel k : kBf16Kernels)
    if (bf16_kernel_available(k, f)) return k;
  return Bf16Kernel::Generic;
}

}  // namespace urm::kernels

namespace urm::detail {

// Work items of mc rows x nc outputs (mc a multiple of 32, nc of 32), k
// blocks of kc k values over all parts together (see the blocking comment
// above); micro-tiles are always 32 x 32.
inline constexpr Blocking kBf16Blocking{.mr = kMBlock, .nr = kPanel, .kc = 256, .mc = 512, .nc = 256};

// A block kernel (Bf16Block), A tiles of element type AElem.
template <class AElem>
using Bf16BlockFn = void (*)(const Bf16Block<AElem>&);

// How float16 panels become hi + lo tiles (split_f16_to_bf16 or its AVX-512 form).
using SplitF16Fn = void (*)(const std::uint16_t*, std::uint16_t*, std::uint16_t*, std::size_t);

// The item loop of matmul_bf16_blocked for one kernel; a_tiles: A tiles of
// the workspace's activations ([m32 / 16][parts][k tiles][512] elements).

template <class AElem>
void run_bf16_items(const AElem* a_tiles, kernels::Bf16Workspace& ws, const kernels::PackedBf16Weights& w,
                    float* y, ThreadPool& pool, Bf16BlockFn<AElem> block, bool amx, const Blocking& blocking,
                    SplitF16Fn split_f16 = &split_f16_to_bf16) {
  const std::size_t m = ws.m, n = w.n(), kt = w.k_tiles(), parts = ws.parts;
  const std::size_t part_stride = kt * kTileElems;  // elements from a tile of one part to the next part's
  const std::size_t k_block = std::max<std::size_t>(1, blocking.kc / kTileK / parts);  // k tiles per k block
  const std::size_t item_panels = std::max<std::size_t>(1, blocking.nc / kPanel);
  const std::size_t m_padded = round_up(m, kMBlock);
  const std::size_t item_rows = std::min(std::max(kMBlock, blocking.mc / kMBlock * kMBlock), m_padded);
  const std::size_t m_items = (m_padded + item_rows - 1) / item_rows;
  const std::size_t n_items = (w.n_panels() + item_panels - 1) / item_panels;
  const std::size_t items = m_items * n_items;
  const std::size_t slots = std::min(pool.size(), items);
  const std::size_t slot_floats = item_rows * item_panels * kPanel;
  ws.accumulators.reserve(slots * slot_floats);
  // Float16 weights: per slot, hi then lo tiles of item_panels panels, one k block.
  const bool split = w.weight_parts() == 2;
  const std::size_t split_panel_elems = 2 * k_block * kTileElems;  // B tiles of a panel in a k block
  const std::size_t split_slot_elems = 2 * item_panels * split_panel_elems;
  if (split) ws.split_weights.reserve(slots * split_slot_elems);
  const auto x_tiles = [&](std::size_t mb) { return a_tiles + mb * parts * part_stride; };
  // Slice `part` of `of` of the A tiles of row block mb, k tiles [kb, kb + bytes / tile bytes), all parts.
  const auto prefetch_a = [&](std::size_t mb, std::size_t kb, std::size_t bytes, std::size_t part, std::size_t of) {
    for (std::size_t p = 0; p < parts; ++p)
      prefetch_lines(x_tiles(mb) + p * part_stride + kb * kTileElems, bytes, part, of);
  };
  std::atomic<std::size_t> next_item{0};

  // A slot is one parallel_for task: it runs on one thread from start to end,
  // so it owns its accumulator area and its tile configuration, and takes
  // items until none are left (dynamic balancing on a busy machine).
  pool.parallel_for(slots, [&](std::size_t slot) {
    float* acc = ws.accumulators.data() + slot * slot_floats;
    std::uint16_t* const hi = split ? ws.split_weights.data() + slot * split_slot_elems : nullptr;
    std::uint16_t* const lo = split ? hi + item_panels * split_panel_elems : nullptr;
#if URM_HAVE_X86_KERNELS
    if (amx) amx_begin();
#endif
    for (std::size_t item; (item = next_item.fetch_add(1, std::memory_order_relaxed)) < items;) {
      const std::size_t row0 = (item % m_items) * item_rows;
      const std::size_t rows = std::min(item_rows, m_padded - row0);
      const std::size_t panel0 = (item / m_items) * item_panels;
      const std::size_t panels = std::min(item_panels, w.n_panels() - panel0);
      const std::size_t c_stride = 2 * panels * 256;  // floats per row of C tiles
      const std::size_t row_blocks = rows / kMBlock;
      for (std::size_t kb0 = 0; kb0 < kt; kb0 += k_block) {
        const std::size_t kb1 = std::min(kt, kb0 + k_block);
        const std::size_t kb2 = std::min(kt, kb1 + k_block);  // end of the next k block
        const std::size_t a_bytes = sizeof(AElem) * (kb1 - kb0) * kTileElems;      // one A tile row, this k block
        const std::size_t a_next_bytes = sizeof(AElem) * (kb2 - kb1) * kTileElems;  // ... the next k block
        const std::size_t b_next_bytes = 2 * 2 * (kb2 - kb1) * kTileElems;          // one panel, next k block
        if (split)  // W = hi + lo for this k block of the item's panels, for all its row blocks
          for (std::size_t j = 0; j < panels; ++j)
            split_f16(w.panel(panel0 + j) + 2 * kb0 * kTileElems, hi + j * split_panel_elems,
                      lo + j * split_panel_elems, 2 * (kb1 - kb0) * kTileElems);
        for (std::size_t i = 0; i < row_blocks; ++i) {
          const std::size_t mb = (row0 + i * kMBlock) / kTileRows;
          for (std::size_t j = 0; j < panels; ++j) {
            // The last k block of a block inside y writes y directly, so the
            // stores overlap the multiplies of the next blocks.
            const std::size_t row = row0 + i * kMBlock, col = (panel0 + j) * kPanel;
            float* out = kb1 == kt && row + kMBlock <= m && col + kPanel <= n ? y + row * n + col : nullptr;
            Bf16Block<AElem> blk{.a0 = x_tiles(mb),
                                 .a1 = x_tiles(mb + 1),
                                 .part_stride = part_stride,
                                 .parts = parts,
                                 .b = w.panel(panel0 + j),
                                 .kb0 = kb0,
                                 .kb1 = kb1,
                                 .c = acc + 2 * i * c_stride + 2 * j * 256,
                                 .c_stride = c_stride,
                                 .first = kb0 == 0,
                                 .out = out,
                                 .out_stride = n};
            if (!split) {
              block(blk);
            } else {
              // The split tiles hold this k block only: count k tiles from kb0.
              blk.a0 += kb0 * kTileElems;
              blk.a1 += kb0 * kTileElems;
              blk.kb0 = 0;
              blk.kb1 = kb1 - kb0;
              blk.b = hi + j * split_panel_elems;  // Σ_p A_p · hiᵀ
              blk.out = nullptr;
              block(blk);
              blk.b = lo + j * split_panel_elems;  // + Σ_{p < parts−1} A_p · loᵀ
              blk.parts = parts - 1;
              blk.first = false;
              blk.out = out;
              block(blk);
            }
            // While A[32 rows, k block] is reused from L1 across the panels,
            // fetch into L2 what comes from memory or L3 next, a slice per
            // call: the next row block's activations, or the first row
            // block's of the next k block, and all panels' weights of the
            // next k block.
            if (i + 1 < row_blocks) {
              prefetch_a(mb + 2, kb0, a_bytes, j, panels);
              prefetch_a(mb + 3, kb0, a_bytes, j, panels);
            } else if (kb1 < kt) {
              prefetch_a(row0 / kTileRows, kb1, a_next_bytes, j, panels);
              prefetch_a(row0 / kTileRows + 1, kb1, a_next_bytes, j, panels);
            }
            if (kb1 < kt)
              for (std::size_t jj = 0; jj < panels; ++jj)
                prefetch_lines(w.panel(panel0 + jj) + 2 * kb1 * kTileElems, b_next_bytes, i * panels + j,
                               row_blocks * panels);
          }
        }
      }
      // Blocks on the edge of y: C tiles -> y rows, only real rows and
      // outputs (the padding stays behind).
      const bool ragged_rows = row0 + rows > m, ragged_cols = (panel0 + panels) * kPanel > n;
      if (ragged_rows || ragged_cols)
        for (std::size_t r = 0; r < rows && row0 + r < m; ++r) {
          const float* c_row = acc + (r / kTileRows) * c_stride + (r % kTileRows) * kTileRows;
          const bool row_block_inside = row0 + (r / kMBlock + 1) * kMBlock <= m;
          for (std::size_t t = 0; t < 2 * panels; ++t) {
            const std::size_t col = panel0 * kPanel + t * kTileRows;
            if (col >= n) break;
            if (row_block_inside && (panel0 + t / 2 + 1) * kPanel <= n) continue;  // written directly
            std::memcpy(y + (row0 + r) * n + col, c_row + t * 256, 4 * std::min(kTileRows, n - col));
          }
        }
    }
#if URM_HAVE_X86_KERNELS
    if (amx) amx_end();
#endif
  });
}

inline void matmul_bf16_blocked(kernels::Bf16Workspace& ws, const kernels::PackedBf16Weights& w, float* y,
                                ThreadPool& pool, kernels::Bf16Kernel kernel, const Blocking& blocking) {
  if (ws.k != w.k())
    throw Error("matmul_bf16: activations have k = " + std::to_string(ws.k) + " but weight " + w.name() +
                " was packed with k = " + std::to_string(w.k()));
  if (w.weight_parts() == 2 && ws.parts < 2)
    throw Error("matmul_bf16: weight " + w.name() +
                " is split into 2 bfloat16 parts (float16), which needs activations in 2 or more parts, not " +
                std::to_string(ws.parts));
  if (!kernels::bf16_kernel_available(kernel, cpu_features()))
    throw Error("matmul_bf16: kernel " + std::string(kernels::bf16_kernel_name(kernel)) +
                " is not available on this machine (" + cpu_features().brand + ")");
  if (ws.m == 0) return;

#if URM_HAVE_X86_KERNELS
  if (kernel == kernels::Bf16Kernel::Amx)
    return run_bf16_items<std::uint16_t>(ws.x.data(), ws, w, y, pool, &amx_block, true, blocking,
                                         &split_f16_to_bf16_avx512);
  if (kernel == kernels::Bf16Kernel::Avx512Bf16)
    return run_bf16_items<std::uint16_t>(ws.x.data(), ws, w, y, pool, &avx512_bf16_block, false, blocking,
                                         &split_f16_to_bf16_avx512);
#endif
  // Generic: widen the activations to float32 once per set_activations_bf16.
  if (!ws.x_f32_current) {
    const std::size_t tile_rows = ws.m_tiles(), per_tile_row = ws.parts * ws.k_tiles() * kTileElems;
    ws.x_f32.reserve(tile_rows * per_tile_row);
    pool.parallel_for(tile_rows, [&](std::size_t mb) {
      widen_bf16(ws.x.data() + mb * per_tile_row, ws.x_f32.data() + mb * per_tile_row, per_tile_row);
    });
    ws.x_f32_current = true;
  }
  run_bf16_items<float>(ws.x_f32.data(), ws, w, y, pool, &generic_bf16_block, false, blocking);
}

}  // namespace urm::detail

namespace urm::kernels {

// y [ws.m, w.n()] = activations of ws · wᵀ, with the given kernel (default:
// the best this machine runs). Throws if the kernel cannot run here or k
// differs.
inline void matmul_bf16(Bf16Workspace& ws, const PackedBf16Weights& w, float* y, ThreadPool& pool,
                        Bf16Kernel kernel = best_bf16_kernel()) {
  detail::matmul_bf16_blocked(ws, w, y, pool, kernel, detail::kBf16Blocking);
}

// One-shot form: rounds x [m, k] into ws, then multiplies.
inline void matmul_bf16(const float* x, std::size_t m, std::size_t k, const PackedBf16Weights& w, float* y,
                        ThreadPool& pool, Bf16Workspace& ws, Bf16Kernel kernel = best_bf16_kernel()) {
  set_activations_bf16(ws, x, m, k, pool);
  matmul_bf16(ws, w, y, pool, kernel);
}

}  // namespace urm::kernels
