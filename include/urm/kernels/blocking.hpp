// blocking — the words both matmul families (float32 in matmul.hpp, bfloat16
// in matmul_bf16.hpp) use for their cache blocking and software prefetch.
//
// A matmul y[m, n] = x[m, k] · w[n, k]ᵀ is cut as in BLIS (Goto and van de
// Geijn, "Anatomy of high-performance matrix multiplication"):
//   mr × nr  the micro-tile: rows × outputs whose sums live in registers
//            (or AMX tiles) through a k block
//   kc       the k block: the slice of k one pass of micro-tiles covers
//   mc       rows per block: the rows of x reused from cache across outputs
//   nc       outputs per block: the rows of w packed or streamed once per
//            row block, reused by every micro-tile row
//
// Prefetch: kernels fetch the operands of the next block into L2 while the
// current one computes, a few lines per step (a burst would stall on the few
// line-fill buffers): a strided block of short row segments (rows of w, the
// keys of one kv head) with a PrefetchCursor, a contiguous range in slices
// with prefetch_lines.
#pragma once

#include <algorithm>
#include <cstddef>

namespace urm::detail {

struct Blocking {
  std::size_t mr = 0, nr = 0;  // micro-tile: rows x outputs
  std::size_t kc = 0;          // k block
  std::size_t mc = 0;          // rows per block
  std::size_t nc = 0;          // outputs per block
};

// Walks a strided block, one line per next(): the hardware prefetchers do
// not follow short segments far apart, and reading them cold stalls.
struct PrefetchCursor {
  const std::byte* row = nullptr;  // start of the current row segment
  std::size_t row_stride = 0;      // bytes between segments
  std::size_t seg_bytes = 0;       // bytes per segment (≥ 1 when rows_left > 0)
  std::size_t rows_left = 0;
  std::size_t off = 0;

  // Prefetch (PREFETCHT1: into L2) the next line; nothing once the block is done.
  void next() {
    if (rows_left == 0) return;
    __builtin_prefetch(row + std::min(off, seg_bytes - 1), 0, 2);
    off += 64;
    if (off >= seg_bytes + 64) {  // one more than the segment's lines: it may straddle
      off = 0;
      row += row_stride;
      --rows_left;
    }
  }
};

// Prefetch (PREFETCHT2: L2 or L3) slice `part` of `parts` of the cache lines
// of [p, p + bytes): the bf16 kernels' next blocks, a slice per block-kernel
// call (T2 measured faster than T1 there: benchmarks/RESULTS.md, "Kernel
// design measurements").
inline void prefetch_lines(const void* p, std::size_t bytes, std::size_t part, std::size_t parts) {
  const std::size_t lines = bytes / 64, per_part = (lines + parts - 1) / parts;
  const char* base = static_cast<const char*>(p);
  for (std::size_t l = part * per_part; l < std::min(lines, (part + 1) * per_part); ++l)
    __builtin_prefetch(base + 64 * l, 0, 1);
}

}  // namespace urm::detail
