// matmul — Y = X · Wᵀ, the Linear layer of every projection in the model.
//
//   x : [m, k] float32, row-major (activations)
//   w : [n, k] stored as F32, F16 or BF16 (PyTorch Linear layout: one row per
//       output feature), used in place from the checkpoint map
//   y : [m, n] float32 (must not overlap x)
//
// Exact mode: weights are widened to float32 in registers or in a small
// per-thread tile that lives in cache, never as a copy of the matrix, and
// every product is accumulated in float32.
//
// Order of operations (batch invariance). Every y[i, j] is ONE chain of
// fused multiply-adds over p = 0 … k − 1 in order, starting from 0:
//     s ← 0;  for p = 0 … k − 1:  s ← fma(x[i, p], w[j, p], s);  y[i, j] = s
// A k block after the first starts its chain from the partial sum it left in
// y, so the blocking adds no rounding and no reordering. The result of an
// element is thus a function of its row of x, its row of w, k and the build
// (detail::fma: one rounding with FMA hardware, two without) only: never of m,
// of the row's position in x, of the form below, of the register width or of
// the thread that computed it. A row scored alone, in a batch, or after a
// reused prefix gets the same bits.
//
// Three forms, chosen by m, compute that order:
//   m < gemm_min_rows        matrix-vector: gemv_columns, w read once and
//                            transposed in registers (where the build has no
//                            register transpose, gemm_columns)
//   m ≤ GemmFew::max_rows    few rows: gemm_few_columns
//   otherwise                packed panels: gemm_columns, described here
// (under gemm_min_rows rows the work is cut into small dynamically handed-out
// tasks: the weights stream from memory once, and both cores stay busy on a
// shared machine).
// Per-thread scratch (thread_scratch, allocated on a thread's first call and
// reused): ≤ 2.25 MiB for the panels, ≤ max_rows·k·4 bytes for few rows.
//
// Loop nest of the packed form, one task (a contiguous range of output
// features j), BLIS names (blocking.hpp):
//   for each row block (mc rows of x):
//     for each k block (kc):
//       pack x rows → xp [mc][kc]                               (plain copy)
//       for each block of nc output features:
//         pack w → wp [nc/nr][kc][nr] float32, transposed       (L2; the in-cache conversion)
//         for each micro-panel of mr rows of xp:                (L1, reused nc/nr times)
//           for each micro-panel of nr features of wp:          (streams from L2)
//             micro-kernel: mr × nr chains in mr·2 registers, from y and back
//
// The micro-kernel broadcasts one x value per row and loads nr = 2·simd_width
// features of w per step p: 2·mr FMAs for 2 + mr loads. Its chains run along
// j, the contiguous axis of y, so loading and storing them is two vector ops
// per row. Each weight is converted (and transposed into the panel layout)
// once per row block; the transpose uses AVX-512 shuffles where available.
//
// Threads split the output features into contiguous ranges (one task per
// thread); each task copies its own x block, O(m·k) per task against
// O(m·k·n / threads) of arithmetic.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <utility>
#include <xsimd/xsimd.hpp>

#include "urm/core/dtype.hpp"
#include "urm/core/error.hpp"
#include "urm/core/tensor_view.hpp"
#include "urm/core/thread_pool.hpp"
#include "urm/kernels/blocking.hpp"
#include "urm/kernels/convert.hpp"
#include "urm/kernels/scratch.hpp"
#include "urm/kernels/simd.hpp"

namespace urm::detail {

struct Gemm {
  static constexpr std::size_t L = simd_width;
  // mr rows x nr = 2 registers of features: 2·mr accumulators fit the
  // registers; kc: an x micro-panel mr·kc floats = 18 KiB (L1); nc: wp nc·kc
  // floats = 384 KiB (L2); mc: xp mc·kc floats = 1.5 MiB.
  static constexpr Blocking B{.mr = L >= 16 ? 12 : 6, .nr = 2 * L, .kc = 384, .mc = 1024, .nc = 256};
  static_assert(B.nc % B.nr == 0);
};

// Below this many rows matmul hands out small tasks: w streams from memory
// and dynamic hand-out keeps both cores busy on a shared machine.
inline constexpr std::size_t gemm_min_rows = 4;
static_assert(gemm_min_rows == 4, "matmul dispatches gemv_columns for 1, 2 and 3 rows");
inline constexpr std::size_t gemm_small_task = 64;  // output features per task under gemm_min_rows rows

struct GemmXpTag {};
struct GemmWpTag {};

// wp[t][p][c] = w[j0 + t·nr + c, p0 + p] as float32 for t·nr + c < cols
// (0 beyond), p < kc.
template <DType D>
inline void gemm_pack_w(const std::byte* w, std::size_t k, std::size_t j0, std::size_t cols, std::size_t p0,
                        std::size_t kc, float* wp) {
  constexpr std::size_t L = Gemm::L, NR = Gemm::B.nr, KC = Gemm::B.kc;
  for (std::size_t t = 0; t * NR < cols; ++t) {
    float* dst = wp + t * KC * NR;
    for (std::size_t h = 0; h < NR / L; ++h) {
      // Rows j0 + t·nr + h·L + r, r < valid, fill columns h·L … h·L + L − 1.
      const std::size_t first = t * NR + h * L;
      const std::size_t valid = first < cols ? std::min(L, cols - first) : 0;
      const std::size_t base = (j0 + first) * k + p0;  // element index of (row first, p = 0)
      std::size_t p = 0;
#if defined(__AVX512F__)
      if constexpr (L == 16) {
        for (; p + 16 <= kc; p += 16) {
          __m512 r[16];
          for (std::size_t q = 0; q < 16; ++q)
            r[q] = q < valid ? static_cast<__m512>(load_f32<D>(w, base + q * k + p)) : _mm512_setzero_ps();
          transpose16x16(r);
          for (std::size_t c = 0; c < 16; ++c) _mm512_store_ps(dst + (p + c) * NR + h * L, r[c]);
        }
      }
#endif
      for (; p < kc; ++p)
        for (std::size_t q = 0; q < L; ++q)
          dst[p * NR + h * L + q] = q < valid ? load_scalar_f32<D>(w, base + q * k + p) : 0.0f;
    }
  }
}

// y[r, 0 … cols) = the chains of rows r < R continued over one k block:
// s ← (first ? 0 : y[r, c]);  s ← fma(x[r, p], wp[p][c], s) for p < kc.
// x row r is at xp + r·kc_max (the packed block: a compile-time stride, so
// the R row addresses are one register plus constant offsets; a run-time
// stride needs R registers and spills the loop's state, 20% slower
// measured). Prefetches one line of pf every 4 steps of p.
template <std::size_t R>
inline void gemm_micro_kernel(const float* xp, const float* wp, std::size_t kc, float* y, const float* y_next,
                              std::size_t n, std::size_t cols, bool first, PrefetchCursor& pf) {
  constexpr std::size_t L = Gemm::L, NR = Gemm::B.nr, KC = Gemm::B.kc;
  // The next call's micro-panel (y_next: the next nr features of these rows,
  // or the first ones of the next mr rows) starts its chains from y, which a
  // later k block finds in L3 at best: fetch its lines while the FMAs below
  // run, so that its first FMAs do not wait on them. (A prefetch past the
  // end of y is wasted, never a fault.)
  if (y_next != nullptr) {
    for (std::size_t r = 0; r < R; ++r) {
      __builtin_prefetch(y_next + r * n, 1, 3);
      __builtin_prefetch(y_next + r * n + NR - 1, 1, 3);
    }
  }
  fbatch acc[R][2];
  for (std::size_t r = 0; r < R; ++r) {
    const float* yr = y + r * n;
    if (first) {
      acc[r][0] = acc[r][1] = fbatch(0.0f);
    } else if (cols == NR) {
      acc[r][0] = fbatch::load_unaligned(yr);
      acc[r][1] = fbatch::load_unaligned(yr + L);
    } else {
      alignas(64) float tmp[NR] = {};
      std::copy_n(yr, cols, tmp);
      acc[r][0] = fbatch::load_aligned(tmp);
      acc[r][1] = fbatch::load_aligned(tmp + L);
    }
  }
  for (std::size_t p = 0; p < kc; ++p) {
    if ((p & 3) == 3) pf.next();
    const fbatch b0 = fbatch::load_aligned(wp + p * NR), b1 = fbatch::load_aligned(wp + p * NR + L);
    for (std::size_t r = 0; r < R; ++r) {
      const fbatch a(xp[r * KC + p]);
      acc[r][0] = detail::fma(a, b0, acc[r][0]);
      acc[r][1] = detail::fma(a, b1, acc[r][1]);
    }
  }
  for (std::size_t r = 0; r < R; ++r) {
    float* yr = y + r * n;
    if (cols == NR) {
      acc[r][0].store_unaligned(yr);
      acc[r][1].store_unaligned(yr + L);
    } else {
      alignas(64) float tmp[NR];
      acc[r][0].store_aligned(tmp);
      acc[r][1].store_aligned(tmp + L);
      std::copy_n(tmp, cols, yr);
    }
  }
}

template <std::size_t... R>
inline void gemm_micro_kernel_rows(std::size_t rows, std::index_sequence<R...>, const float* xp, const float* wp,
                                   std::size_t kc, float* y, const float* y_next, std::size_t n, std::size_t cols,
                                   bool first, PrefetchCursor& pf) {
  // rows ∈ [1, mr]: call the instantiation for exactly that many rows.
  ((rows == R + 1 ? (gemm_micro_kernel<R + 1>(xp, wp, kc, y, y_next, n, cols, first, pf), 0) : 0), ...);
}

// Output features [j_begin, j_end) of y = x · wᵀ, all rows.
template <DType D>
inline void gemm_columns(const float* x, std::size_t m, std::size_t k, const std::byte* w, std::size_t n,
                         std::size_t j_begin, std::size_t j_end, float* y) {
  constexpr std::size_t NR = Gemm::B.nr, MR = Gemm::B.mr, KC = Gemm::B.kc, NC = Gemm::B.nc, MC = Gemm::B.mc;
  constexpr std::size_t es = dtype_size(D);
  float* xp = thread_scratch<GemmXpTag>(MC * KC);
  float* wp = thread_scratch<GemmWpTag>(NC * KC);
  for (std::size_t i0 = 0; i0 < m; i0 += MC) {
    const std::size_t mb = std::min(MC, m - i0);
    for (std::size_t p0 = 0; p0 < k; p0 += KC) {
      const std::size_t kc = std::min(KC, k - p0);
      const bool first = p0 == 0;
      for (std::size_t i = 0; i < mb; ++i) std::memcpy(xp + i * KC, x + (i0 + i) * k + p0, kc * sizeof(float));
      for (std::size_t j0 = j_begin; j0 < j_end; j0 += NC) {
        const std::size_t nc = std::min(NC, j_end - j0);
        gemm_pack_w<D>(w, k, j0, nc, p0, kc, wp);
        // The next block of w to pack (in this loop order) is fetched into
        // L2 while the micro-kernels run, so that packing it does not wait on
        // memory: its rows are short strided segments the hardware
        // prefetchers do not follow.
        std::size_t nj0 = j0 + NC, np0 = p0;
        if (nj0 >= j_end) {
          nj0 = j_begin;
          np0 = p0 + KC < k ? p0 + KC : (i0 + MC < m ? 0 : k);
        }
        PrefetchCursor pf;
        if (np0 < k) {
          pf.row = w + (nj0 * k + np0) * es;
          pf.row_stride = k * es;
          pf.seg_bytes = std::min(KC, k - np0) * es;
          pf.rows_left = std::min(NC, j_end - nj0);
        }
        for (std::size_t ir = 0; ir < mb; ir += MR) {
          const std::size_t rows = std::min(MR, mb - ir);
          for (std::size_t jr = 0; jr < nc; jr += NR) {
            float* yt = y + (i0 + ir) * n + j0 + jr;
            const float* y_next = first ? nullptr : jr + NR < nc ? yt + NR : ir + MR < mb ? yt + MR * n - jr : nullptr;
            gemm_micro_kernel_rows(rows, std::make_index_sequence<MR>{}, xp + ir * KC, wp + (jr / NR) * KC * NR, kc,
                                   yt, y_next, n, std::min(NR, nc - jr), first, pf);
          }
        }
        while (pf.rows_left > 0) pf.next();
      }
    }
  }
}

// Few rows (gemm_min_rows ≤ m ≤ GemmFew::max_rows): each weight is used by
// only m rows, so converting and transposing w into panels would cost as
// much as the FMAs. This form swaps the roles: the chains run along m (rows
// in lanes), w is broadcast from plain converted rows (no transpose) and the
// short x block is transposed instead; a micro-tile's chains are transposed
// out of y at the start of a k block and back into y at its end. The chain of
// each element is the one of gemm_columns.
//   pack x → xt [m/mr][k][mr]          (mr = 2·simd_width rows side by side)
//   for each chunk of k (KH):
//     for each tile of nr features:
//       for each k block (kc) of the chunk: pack w rows → wr [nr][kc] float32 (L1)
//         for each tile of mr rows: nr × mr chains in nr·2 registers, from y and back
// The per-thread xt holds max_rows·k floats (5.25 MiB for k = 14336).
struct GemmFew {
  static constexpr std::size_t L = simd_width;
  // mr: rows in the lanes of 2 registers; nr features: 2·nr accumulators;
  // kc: wr nr·kc floats = 24 KiB (L1); mc: the most rows this form takes.
  static constexpr Blocking B{.mr = 2 * L, .nr = L >= 16 ? 12 : 6, .kc = 512, .mc = 6 * L, .nc = 0};
  static constexpr std::size_t KH = 4096;  // k chunk: the chunk of xt ≤ mc·KH floats = 1.5 MiB stays in L2
  static constexpr std::size_t max_rows = B.mc;
};

struct GemmFewXtTag {};
struct GemmFewWrTag {};

// tile[j][r] = y[r, j] for r < rows, j < cols (0 elsewhere in the lanes a
// micro-kernel of `rows` rows reads); tile is [nr][mr].
inline void gemm_few_load(float* tile, std::size_t rows, std::size_t cols, const float* y, std::size_t n) {
  constexpr std::size_t MT = GemmFew::B.mr, NR = GemmFew::B.nr;
#if defined(__AVX512F__)
  if constexpr (GemmFew::L == 16) {
    const __mmask16 mask = static_cast<__mmask16>((1u << cols) - 1u);
    for (std::size_t v = 0; v * 16 < rows; ++v) {
      __m512 r[16];
      for (std::size_t i = 0; i < 16; ++i)
        r[i] = v * 16 + i < rows ? _mm512_maskz_loadu_ps(mask, y + (v * 16 + i) * n) : _mm512_setzero_ps();
      transpose16x16(r);  // r[j] = feature j, rows 16v … 16v + 15
      for (std::size_t j = 0; j < NR; ++j) _mm512_store_ps(tile + j * MT + v * 16, r[j]);
    }
    return;
  }
#endif
  std::fill_n(tile, NR * MT, 0.0f);
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t j = 0; j < cols; ++j) tile[j * MT + r] = y[r * n + j];
}

// y[r, j] = tile[j][r] for r < rows, j < cols; tile is [nr][mr].
inline void gemm_few_store(const float* tile, std::size_t rows, std::size_t cols, float* y, std::size_t n) {
  constexpr std::size_t MT = GemmFew::B.mr;
#if defined(__AVX512F__)
  if constexpr (GemmFew::L == 16) {
    const __mmask16 mask = static_cast<__mmask16>((1u << cols) - 1u);
    for (std::size_t v = 0; v * 16 < rows; ++v) {
      __m512 r[16];
      for (std::size_t j = 0; j < 16; ++j)
        r[j] = j < cols ? _mm512_load_ps(tile + j * MT + v * 16) : _mm512_setzero_ps();
      transpose16x16(r);  // r[i] = row 16v + i, features 0 … 15
      for (std::size_t i = 0; i < 16 && v * 16 + i < rows; ++i) _mm512_mask_storeu_ps(y + (v * 16 + i) * n, mask, r[i]);
    }
    return;
  }
#endif
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t j = 0; j < cols; ++j) y[r * n + j] = tile[j * MT + r];
}

// The chains tile[j][r] (from 0 if first) continued over one k block:
// s ← fma(xt[p][r], wr[j][p], s) for p < kc, j < nr, r < V·L.
template <std::size_t V>
inline void gemm_few_micro_kernel(const float* xt, const float* wr, std::size_t kc, float* tile, bool first) {
  constexpr std::size_t L = GemmFew::L, MT = GemmFew::B.mr, NR = GemmFew::B.nr, KC = GemmFew::B.kc;
  fbatch acc[NR][V];
  for (std::size_t j = 0; j < NR; ++j)
    for (std::size_t v = 0; v < V; ++v) acc[j][v] = first ? fbatch(0.0f) : fbatch::load_aligned(tile + j * MT + v * L);
  for (std::size_t p = 0; p < kc; ++p) {
    fbatch a[V];
    for (std::size_t v = 0; v < V; ++v) a[v] = fbatch::load_aligned(xt + p * MT + v * L);
    for (std::size_t j = 0; j < NR; ++j) {
      const fbatch b(wr[j * KC + p]);
      for (std::size_t v = 0; v < V; ++v) acc[j][v] = detail::fma(a[v], b, acc[j][v]);
    }
  }
  for (std::size_t j = 0; j < NR; ++j)
    for (std::size_t v = 0; v < V; ++v) acc[j][v].store_aligned(tile + j * MT + v * L);
}

template <DType D>
inline void gemm_few_columns(const float* x, std::size_t m, std::size_t k, const std::byte* w, std::size_t n,
                             std::size_t j_begin, std::size_t j_end, float* y) {
  constexpr std::size_t L = GemmFew::L, MT = GemmFew::B.mr, NR = GemmFew::B.nr, KC = GemmFew::B.kc;
  const std::size_t tiles = (m + MT - 1) / MT;
  float* xt = thread_scratch<GemmFewXtTag>(tiles * k * MT);
  float* wr = thread_scratch<GemmFewWrTag>(NR * KC + NR * MT);
  float* tile = wr + NR * KC;
  // xt[t][p][r] = x[t·MT + r, p], rows past m are 0.
  for (std::size_t t = 0; t < tiles; ++t) {
    float* dst = xt + t * k * MT;
    for (std::size_t r = 0; r < MT; ++r) {
      const std::size_t i = t * MT + r;
      for (std::size_t p = 0; p < k; ++p) dst[p * MT + r] = i < m ? x[i * k + p] : 0.0f;
    }
  }
  // k in chunks of KH so that the chunk of xt (≤ max_rows·KH floats) stays in
  // L2 while every tile of w streams past it.
  for (std::size_t h0 = 0; h0 < k; h0 += GemmFew::KH) {
    const std::size_t h1 = std::min(k, h0 + GemmFew::KH);
    for (std::size_t j0 = j_begin; j0 < j_end; j0 += NR) {
      const std::size_t nj = std::min(NR, j_end - j0);
      // k blocks innermost: each row of w is read front to back (KH at a
      // time), nr streams the hardware prefetchers follow.
      for (std::size_t p0 = h0; p0 < h1; p0 += KC) {
        const std::size_t kc = std::min(KC, h1 - p0);
        const bool first = p0 == 0;
        for (std::size_t j = 0; j < nj; ++j) convert_f32<D>(w, (j0 + j) * k + p0, kc, wr + j * KC);
        for (std::size_t j = nj; j < NR; ++j) std::fill_n(wr + j * KC, kc, 0.0f);
        for (std::size_t t = 0; t < tiles; ++t) {
          const std::size_t rows = std::min(MT, m - t * MT);
          float* yt = y + t * MT * n + j0;
          if (!first) gemm_few_load(tile, rows, nj, yt, n);
          if (rows <= L) {
            gemm_few_micro_kernel<1>(xt + (t * k + p0) * MT, wr, kc, tile, first);
          } else {
            gemm_few_micro_kernel<2>(xt + (t * k + p0) * MT, wr, kc, tile, first);
          }
          gemm_few_store(tile, rows, nj, yt, n);
        }
      }
    }
  }
}

// Matrix-vector form for m < gemm_min_rows: each weight is used by at most 3
// rows, so it is read once and never stored again. simd_width output
// features at a time: their rows are loaded simd_width k values at a time,
// transposed in registers (transpose_lanes) so that register c holds
// w[j … j + L − 1, p + c], and then every row's chain takes its FMAs in p
// order, the lanes being the outputs. The same chains as the other forms.
// M (the rows) and the step count are compile-time constants so that the
// registers are never indexed at run time (which would spill them). Each
// step costs a transpose (64 shuffles per 256 weights with AVX-512), the
// price of the canonical order for one row (benchmarks/RESULTS.md, "Batch
// invariance"); m = 1 runs only in the last layer and the value head.
template <DType D, std::size_t M>
inline void gemv_columns(const float* x, std::size_t k, const std::byte* w, std::size_t n, std::size_t j_begin,
                         std::size_t j_end, float* y) {
  constexpr std::size_t L = simd_width;
  const std::size_t kv = k - k % L;
  for (std::size_t j0 = j_begin; j0 < j_end; j0 += L) {
    const std::size_t valid = std::min(L, j_end - j0);
    fbatch acc[M];
    for (auto& a : acc) a = fbatch(0.0f);
    fbatch r[L];
    for (std::size_t p0 = 0; p0 < kv; p0 += L) {
#pragma GCC unroll 16
      for (std::size_t q = 0; q < L; ++q) r[q] = q < valid ? load_f32<D>(w, (j0 + q) * k + p0) : fbatch(0.0f);
      transpose_lanes(r);  // r[c] = w[j0 …, p0 + c]
#pragma GCC unroll 16
      for (std::size_t c = 0; c < L; ++c)
        for (std::size_t i = 0; i < M; ++i) acc[i] = detail::fma(fbatch(x[i * k + p0 + c]), r[c], acc[i]);
    }
    if (kv < k) {  // the last k % L values, zero padded; only their steps run
      for (std::size_t q = 0; q < L; ++q) {
        alignas(64) float tmp[L] = {};
        if (q < valid) convert_f32<D>(w, (j0 + q) * k + kv, k - kv, tmp);
        r[q] = fbatch::load_aligned(tmp);
      }
      transpose_lanes(r);
      for (std::size_t c = 0; c < k - kv; ++c)
        for (std::size_t i = 0; i < M; ++i) acc[i] = detail::fma(fbatch(x[i * k + kv + c]), r[c], acc[i]);
    }
    for (std::size_t i = 0; i < M; ++i) {
      alignas(64) float out[L];
      acc[i].store_aligned(out);
      std::copy_n(out, valid, y + i * n + j0);
    }
  }
}

// Runs f(j_begin, j_end) on one contiguous range of output features per
// thread, ranges cut at multiples of `unit` (the micro-tile width).
template <class F>
inline void split_columns(ThreadPool& pool, std::size_t n, std::size_t unit, F&& f) {
  const std::size_t units = (n + unit - 1) / unit;
  const std::size_t tasks = std::min(units, pool.size());
  pool.parallel_for(tasks,
                    [&](std::size_t t) { f(units * t / tasks * unit, std::min(n, units * (t + 1) / tasks * unit)); });
}

}  // namespace urm::detail

namespace urm::kernels {

// y[m, n] = x[m, k] · wᵀ with w[n, k] stored as `dtype` (F32, F16 or BF16) at
// `w` (any alignment). The lower-level form of matmul(…, TensorView, …).
inline void matmul(const float* x, std::size_t m, std::size_t k, const std::byte* w, DType dtype, std::size_t n,
                   float* y, ThreadPool& pool) {
  if (!kFloatDTypes.contains(dtype)) throw Error(dtype_mismatch("matmul: weight", dtype, kFloatDTypes));
  if (m == 0 || n == 0) return;
  if (k == 0) {
    std::fill(y, y + m * n, 0.0f);
    return;
  }
  detail::dispatch_float_dtype(dtype, [&](auto d) {
    constexpr DType D = decltype(d)::value;
    if (m < detail::gemm_min_rows) {
      constexpr std::size_t chunk = detail::gemm_small_task;
      pool.parallel_for((n + chunk - 1) / chunk, [&](std::size_t t) {
        const std::size_t j_begin = t * chunk, j_end = std::min(n, (t + 1) * chunk);
        if constexpr (detail::kHaveTransposeLanes) {
          if (m == 1) detail::gemv_columns<D, 1>(x, k, w, n, j_begin, j_end, y);
          if (m == 2) detail::gemv_columns<D, 2>(x, k, w, n, j_begin, j_end, y);
          if (m == 3) detail::gemv_columns<D, 3>(x, k, w, n, j_begin, j_end, y);
        } else {
          detail::gemm_columns<D>(x, m, k, w, n, j_begin, j_end, y);
        }
      });
    } else if (m <= detail::GemmFew::max_rows) {
      detail::split_columns(pool, n, detail::GemmFew::B.nr, [&](std::size_t j_begin, std::size_t j_end) {
        detail::gemm_few_columns<D>(x, m, k, w, n, j_begin, j_end, y);
      });
    } else {
      detail::split_columns(pool, n, detail::Gemm::B.nr, [&](std::size_t j_begin, std::size_t j_end) {
        detail::gemm_columns<D>(x, m, k, w, n, j_begin, j_end, y);
      });
    }
  });
}

inline void matmul(const float* x, std::size_t m, std::size_t k, const TensorView& w, float* y, ThreadPool& pool) {
  if (w.rank() != 2 || static_cast<std::size_t>(w.dim(1)) != k)
    throw Error("matmul: weight " + w.name + " has shape " + shape_string(w.shape) + ", expected [n, " +
                std::to_string(k) + "]");
  detail::require_float_dtype(w, "matmul: weight ");
  if (w.nbytes < static_cast<std::size_t>(w.numel()) * dtype_size(w.dtype))
    throw Error("matmul: weight " + w.name + " has " + std::to_string(w.nbytes) + " bytes, expected " +
                std::to_string(static_cast<std::size_t>(w.numel()) * dtype_size(w.dtype)));
  matmul(x, m, k, w.data, w.dtype, static_cast<std::size_t>(w.dim(0)), y, pool);
}

}  // namespace urm::kernels
