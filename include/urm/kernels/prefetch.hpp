// PrefetchCursor — software prefetch of a strided block, a line at a time.
//
// Kernels read blocks made of short row segments far apart (a block of
// weight rows, the keys of one kv head): the hardware prefetchers do not
// follow them, and reading them cold stalls. A cursor walks the next block's
// lines so that the current block's arithmetic can issue one prefetch every
// few steps; a burst of prefetches would stall on the few line-fill buffers.
#pragma once

#include <algorithm>
#include <cstddef>

namespace urm::detail {

struct PrefetchCursor {
  const std::byte* row = nullptr;  // start of the current row segment
  std::size_t row_stride = 0;      // bytes between segments
  std::size_t seg_bytes = 0;       // bytes per segment (≥ 1 when rows_left > 0)
  std::size_t rows_left = 0;
  std::size_t off = 0;

  // Prefetch (into L2) the next line; nothing once the block is done.
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

}  // namespace urm::detail
