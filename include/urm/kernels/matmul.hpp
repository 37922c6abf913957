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
// Three forms, chosen by m (the same m always takes the same form):
//   m < gemm_min_rows         matrix-vector: w streamed once, dot products
//   m ≤ GemmFew::max_rows     few rows: gemm_few_columns (below)
//   otherwise                 packed panels: gemm_columns, described here
// Per-thread scratch (thread_scratch, allocated on a thread's first call and
// reused): ≤ 2.25 MiB for the panels, ≤ max_rows·k·4 bytes for few rows.
//
// Blocking of the packed form. The k axis is
// cut into blocks of KC; within a block every y[i, j] is one chain of fused
// multiply-adds over p in order, and blocks are added to y in order:
//     y = (…((Σ_{p∈K0} x·w) + Σ_{p∈K1} x·w) + …)
// That order depends only on (m, n, k), never on which thread computed the
// element, so results are bitwise identical for any thread count.
//
// Loop nest of one task (a contiguous range of output features j):
//   for each row block (MB rows of x):
//     for each k block (KC):
//       pack x rows → xp [MB][KC]                               (plain copy)
//       for each block of MC output features:
//         pack w → wp [MC/NW][KC][NW] float32, transposed       (L2; the in-cache conversion)
//         for each micro-panel of MR rows of xp:                (L1, reused MC/NW times)
//           for each micro-panel of NW features of wp:          (streams from L2)
//             micro-kernel: MR × NW sums in MR·2 registers, added into y rows
//
// The micro-kernel broadcasts one x value per row and loads NW = 2·simd_width
// features of w per step p: 2·MR FMAs for 2 + MR loads. Its sums run along j,
// the contiguous axis of y, so adding them into y is two vector ops per row.
// Each weight is converted (and transposed into the panel layout) once per
// row block; the transpose uses AVX-512 shuffles where available.
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
#include "urm/kernels/load_f32.hpp"
#include "urm/kernels/prefetch.hpp"
#include "urm/kernels/scratch.hpp"

namespace urm::detail {

struct Gemm {
  static constexpr std::size_t L = simd_width;
  static constexpr std::size_t NW = 2 * L;             // output features per micro-panel (2 registers)
  static constexpr std::size_t MR = L >= 16 ? 12 : 6;  // rows per micro-panel: 2·MR accumulators fit the registers
  static constexpr std::size_t KC = 384;               // k block: an x micro-panel MR·KC floats = 18 KiB (L1)
  static constexpr std::size_t MC = 256;               // feature block: wp MC·KC floats = 384 KiB (L2)
  static constexpr std::size_t MB = 1024;              // row block: xp MB·KC floats = 1.5 MiB
  static_assert(MC % NW == 0);
};

// Below this many rows the packed GEMM wastes most of its micro-tile; the
// matrix-vector path streams w once and is memory-bound anyway.
inline constexpr std::size_t gemm_min_rows = 4;

struct GemmXpTag {};
struct GemmWpTag {};

#if defined(__AVX512F__)
// In-register transpose of a 16 × 16 float block: r[i][c] → r[c][i].
// Three rounds of in-lane unpacks, then two rounds of 128-bit lane shuffles.
// The zero-masking forms with an all-ones mask are the plain instructions;
// GCC 12 warns falsely (-Wmaybe-uninitialized, bug 105593) on the unmasked
// intrinsics.
inline void transpose16x16(__m512 r[16]) {
  constexpr __mmask16 all = 0xffff;
  constexpr __mmask8 all8 = 0xff;
  __m512 t[16];
  for (int i = 0; i < 8; ++i) {
    t[2 * i] = _mm512_maskz_unpacklo_ps(all, r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_maskz_unpackhi_ps(all, r[2 * i], r[2 * i + 1]);
  }
  // u[4g + c], 128-bit lane l = rows 4g … 4g+3 of column 4l + c.
  __m512 u[16];
  for (int g = 0; g < 4; ++g) {
    const __m512d a = _mm512_castps_pd(t[4 * g]), b = _mm512_castps_pd(t[4 * g + 1]);
    const __m512d c = _mm512_castps_pd(t[4 * g + 2]), d = _mm512_castps_pd(t[4 * g + 3]);
    u[4 * g + 0] = _mm512_castpd_ps(_mm512_maskz_unpacklo_pd(all8, a, c));
    u[4 * g + 1] = _mm512_castpd_ps(_mm512_maskz_unpackhi_pd(all8, a, c));
    u[4 * g + 2] = _mm512_castpd_ps(_mm512_maskz_unpacklo_pd(all8, b, d));
    u[4 * g + 3] = _mm512_castpd_ps(_mm512_maskz_unpackhi_pd(all8, b, d));
  }
  // Gather lane l of u[c], u[4+c], u[8+c], u[12+c] into column 4l + c.
  for (int c = 0; c < 4; ++c) {
    const __m512 s0 = _mm512_maskz_shuffle_f32x4(all, u[c], u[4 + c], 0x88),
                 s1 = _mm512_maskz_shuffle_f32x4(all, u[c], u[4 + c], 0xdd);
    const __m512 s2 = _mm512_maskz_shuffle_f32x4(all, u[8 + c], u[12 + c], 0x88),
                 s3 = _mm512_maskz_shuffle_f32x4(all, u[8 + c], u[12 + c], 0xdd);
    r[c] = _mm512_maskz_shuffle_f32x4(all, s0, s2, 0x88);
    r[8 + c] = _mm512_maskz_shuffle_f32x4(all, s0, s2, 0xdd);
    r[4 + c] = _mm512_maskz_shuffle_f32x4(all, s1, s3, 0x88);
    r[12 + c] = _mm512_maskz_shuffle_f32x4(all, s1, s3, 0xdd);
  }
}
#endif

// wp[t][p][c] = w[j0 + t·NW + c, p0 + p] as float32 for t·NW + c < cols
// (0 beyond), p < kc.
template <DType D>
inline void gemm_pack_w(const std::byte* w, std::size_t k, std::size_t j0, std::size_t cols, std::size_t p0,
                        std::size_t kc, float* wp) {
  constexpr std::size_t L = Gemm::L, NW = Gemm::NW, KC = Gemm::KC;
  for (std::size_t t = 0; t * NW < cols; ++t) {
    float* dst = wp + t * KC * NW;
    for (std::size_t h = 0; h < NW / L; ++h) {
      // Rows j0 + t·NW + h·L + r, r < valid, fill columns h·L … h·L + L − 1.
      const std::size_t first = t * NW + h * L;
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
          for (std::size_t c = 0; c < 16; ++c) _mm512_store_ps(dst + (p + c) * NW + h * L, r[c]);
        }
      }
#endif
      for (; p < kc; ++p)
        for (std::size_t q = 0; q < L; ++q)
          dst[p * NW + h * L + q] = q < valid ? load_scalar_f32<D>(w, base + q * k + p) : 0.0f;
    }
  }
}

// y[r, 0 … cols) (+)= Σ_p xp[r][p] · wp[p][·] for r < R: one FMA chain per
// element. `first` stores instead of adding (the first k block). Prefetches
// one line of pf every 4 steps of p.
template <std::size_t R>
inline void gemm_micro_kernel(const float* xp, const float* wp, std::size_t kc, float* y, std::size_t n,
                              std::size_t cols, bool first, PrefetchCursor& pf) {
  constexpr std::size_t L = Gemm::L, NW = Gemm::NW, KC = Gemm::KC;
  // y is visited once per k block and is usually out of L2 by then: start
  // fetching its rows now, while the FMAs below run.
  for (std::size_t r = 0; r < R; ++r) {
    __builtin_prefetch(y + r * n, 1, 3);
    __builtin_prefetch(y + r * n + NW - 1, 1, 3);
  }
  fbatch acc[R][2];
  for (std::size_t r = 0; r < R; ++r) acc[r][0] = acc[r][1] = fbatch(0.0f);
  for (std::size_t p = 0; p < kc; ++p) {
    if ((p & 3) == 3) pf.next();
    const fbatch b0 = fbatch::load_aligned(wp + p * NW), b1 = fbatch::load_aligned(wp + p * NW + L);
    for (std::size_t r = 0; r < R; ++r) {
      const fbatch a(xp[r * KC + p]);
      acc[r][0] = xsimd::fma(a, b0, acc[r][0]);
      acc[r][1] = xsimd::fma(a, b1, acc[r][1]);
    }
  }
  for (std::size_t r = 0; r < R; ++r) {
    float* yr = y + r * n;
    if (cols == NW) {
      if (!first) {
        acc[r][0] += fbatch::load_unaligned(yr);
        acc[r][1] += fbatch::load_unaligned(yr + L);
      }
      acc[r][0].store_unaligned(yr);
      acc[r][1].store_unaligned(yr + L);
    } else {
      alignas(64) float tmp[NW];
      acc[r][0].store_aligned(tmp);
      acc[r][1].store_aligned(tmp + L);
      for (std::size_t c = 0; c < cols; ++c) yr[c] = first ? tmp[c] : yr[c] + tmp[c];
    }
  }
}

template <std::size_t... R>
inline void gemm_micro_kernel_rows(std::size_t rows, std::index_sequence<R...>, const float* xp, const float* wp,
                                   std::size_t kc, float* y, std::size_t n, std::size_t cols, bool first,
                                   PrefetchCursor& pf) {
  // rows ∈ [1, MR]: call the instantiation for exactly that many rows.
  ((rows == R + 1 ? (gemm_micro_kernel<R + 1>(xp, wp, kc, y, n, cols, first, pf), 0) : 0), ...);
}

// Output features [j_begin, j_end) of y = x · wᵀ, all rows.
template <DType D>
inline void gemm_columns(const float* x, std::size_t m, std::size_t k, const std::byte* w, std::size_t n,
                         std::size_t j_begin, std::size_t j_end, float* y) {
  constexpr std::size_t NW = Gemm::NW, MR = Gemm::MR, KC = Gemm::KC, MC = Gemm::MC, MB = Gemm::MB;
  constexpr std::size_t es = dtype_size(D);
  float* xp = thread_scratch<GemmXpTag>(MB * KC);
  float* wp = thread_scratch<GemmWpTag>(MC * KC);
  for (std::size_t i0 = 0; i0 < m; i0 += MB) {
    const std::size_t mb = std::min(MB, m - i0);
    for (std::size_t p0 = 0; p0 < k; p0 += KC) {
      const std::size_t kc = std::min(KC, k - p0);
      const bool first = p0 == 0;
      for (std::size_t i = 0; i < mb; ++i) std::memcpy(xp + i * KC, x + (i0 + i) * k + p0, kc * sizeof(float));
      for (std::size_t j0 = j_begin; j0 < j_end; j0 += MC) {
        const std::size_t mc = std::min(MC, j_end - j0);
        gemm_pack_w<D>(w, k, j0, mc, p0, kc, wp);
        // The next block of w to pack (in this loop order) is fetched into
        // L2 while the micro-kernels run, so that packing it does not wait on
        // memory: its rows are short strided segments the hardware
        // prefetchers do not follow.
        std::size_t nj0 = j0 + MC, np0 = p0;
        if (nj0 >= j_end) {
          nj0 = j_begin;
          np0 = p0 + KC < k ? p0 + KC : (i0 + MB < m ? 0 : k);
        }
        PrefetchCursor pf;
        if (np0 < k) {
          pf.row = w + (nj0 * k + np0) * es;
          pf.row_stride = k * es;
          pf.seg_bytes = std::min(KC, k - np0) * es;
          pf.rows_left = std::min(MC, j_end - nj0);
        }
        for (std::size_t ir = 0; ir < mb; ir += MR) {
          const std::size_t rows = std::min(MR, mb - ir);
          for (std::size_t jr = 0; jr < mc; jr += NW) {
            gemm_micro_kernel_rows(rows, std::make_index_sequence<MR>{}, xp + ir * KC, wp + (jr / NW) * KC * NW, kc,
                                   y + (i0 + ir) * n + j0 + jr, n, std::min(NW, mc - jr), first, pf);
          }
        }
        while (pf.rows_left > 0) pf.next();
      }
    }
  }
}

// Few rows (gemm_min_rows ≤ m ≤ GemmFew::max_rows): each weight is used by
// only m rows, so converting and transposing w into panels would cost as
// much as the FMAs. This form swaps the roles: the sums run along m, w is
// broadcast from plain converted rows (no transpose) and the short x block
// is transposed instead; each micro-tile's sums are transposed once per k
// block when they are added into y. Same per-element order as gemm_columns:
// one FMA chain per k block, blocks added in order.
//   pack x → xt [m/MT][k][MT]          (MT = 2·simd_width rows side by side)
//   for each chunk of k (KH):
//     for each tile of NR features:
//       for each k block (KC) of the chunk: pack w rows → wr [NR][KC] float32 (L1)
//         for each tile of MT rows: NR × MT sums in NR·2 registers → y
// The per-thread xt holds max_rows·k floats (5.25 MiB for k = 14336).
struct GemmFew {
  static constexpr std::size_t L = simd_width;
  static constexpr std::size_t MT = 2 * L;
  static constexpr std::size_t NR = L >= 16 ? 12 : 6;
  static constexpr std::size_t KC = 512;   // wr: NR·KC floats = 24 KiB (L1)
  static constexpr std::size_t KH = 4096;  // k chunk: xt chunk ≤ max_rows·KH floats = 1.5 MiB (L2)
  static constexpr std::size_t max_rows = 3 * MT;
};

struct GemmFewXtTag {};
struct GemmFewWrTag {};

// y[r, j] (+)= tile[j][r] for r < rows, j < cols; tile is [NR][MT].
inline void gemm_few_store(const float* tile, std::size_t rows, std::size_t cols, bool first, float* y, std::size_t n) {
  constexpr std::size_t MT = GemmFew::MT;
#if defined(__AVX512F__)
  if constexpr (GemmFew::L == 16) {
    const __mmask16 mask = static_cast<__mmask16>((1u << cols) - 1u);
    for (std::size_t v = 0; v * 16 < rows; ++v) {
      __m512 r[16];
      for (std::size_t j = 0; j < 16; ++j)
        r[j] = j < cols ? _mm512_load_ps(tile + j * MT + v * 16) : _mm512_setzero_ps();
      transpose16x16(r);  // r[i] = row 16v + i, features 0 … 15
      for (std::size_t i = 0; i < 16 && v * 16 + i < rows; ++i) {
        float* yr = y + (v * 16 + i) * n;
        const __m512 sum = first ? r[i] : _mm512_add_ps(_mm512_maskz_loadu_ps(mask, yr), r[i]);
        _mm512_mask_storeu_ps(yr, mask, sum);
      }
    }
    return;
  }
#endif
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t j = 0; j < cols; ++j) y[r * n + j] = first ? tile[j * MT + r] : y[r * n + j] + tile[j * MT + r];
}

// tile[j][r] = Σ_p xt[p][r] · wr[j][p] for j < NR, r < V·L.
template <std::size_t V>
inline void gemm_few_micro_kernel(const float* xt, const float* wr, std::size_t kc, float* tile) {
  constexpr std::size_t L = GemmFew::L, MT = GemmFew::MT, NR = GemmFew::NR, KC = GemmFew::KC;
  fbatch acc[NR][V];
  for (std::size_t j = 0; j < NR; ++j)
    for (std::size_t v = 0; v < V; ++v) acc[j][v] = fbatch(0.0f);
  for (std::size_t p = 0; p < kc; ++p) {
    fbatch a[V];
    for (std::size_t v = 0; v < V; ++v) a[v] = fbatch::load_aligned(xt + p * MT + v * L);
    for (std::size_t j = 0; j < NR; ++j) {
      const fbatch b(wr[j * KC + p]);
      for (std::size_t v = 0; v < V; ++v) acc[j][v] = xsimd::fma(a[v], b, acc[j][v]);
    }
  }
  for (std::size_t j = 0; j < NR; ++j)
    for (std::size_t v = 0; v < V; ++v) acc[j][v].store_aligned(tile + j * MT + v * L);
}

template <DType D>
inline void gemm_few_columns(const float* x, std::size_t m, std::size_t k, const std::byte* w, std::size_t n,
                             std::size_t j_begin, std::size_t j_end, float* y) {
  constexpr std::size_t L = GemmFew::L, MT = GemmFew::MT, NR = GemmFew::NR, KC = GemmFew::KC;
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
      // time), NR streams the hardware prefetchers follow.
      for (std::size_t p0 = h0; p0 < h1; p0 += KC) {
        const std::size_t kc = std::min(KC, h1 - p0);
        for (std::size_t j = 0; j < nj; ++j) convert_f32<D>(w, (j0 + j) * k + p0, kc, wr + j * KC);
        for (std::size_t j = nj; j < NR; ++j) std::fill_n(wr + j * KC, kc, 0.0f);
        for (std::size_t t = 0; t < tiles; ++t) {
          const std::size_t rows = std::min(MT, m - t * MT);
          if (rows <= L) {
            gemm_few_micro_kernel<1>(xt + (t * k + p0) * MT, wr, kc, tile);
          } else {
            gemm_few_micro_kernel<2>(xt + (t * k + p0) * MT, wr, kc, tile);
          }
          gemm_few_store(tile, rows, nj, p0 == 0, y + t * MT * n + j0, n);
        }
      }
    }
  }
}

// Matrix-vector form for few rows: y[i, j] = Σ_p x[i, p] · w[j, p], summed in
// simd_width lanes in p order, then the lanes, then the scalar tail.
template <DType D>
inline void gemv_columns(const float* x, std::size_t m, std::size_t k, const std::byte* w, std::size_t n,
                         std::size_t j_begin, std::size_t j_end, float* y) {
  constexpr std::size_t L = simd_width, R = 4;
  const std::size_t kv = k - k % L;
  std::size_t j = j_begin;
  for (; j + R <= j_end; j += R) {
    for (std::size_t i = 0; i < m; ++i) {
      const float* xi = x + i * k;
      fbatch acc[R];
      for (auto& a : acc) a = fbatch(0.0f);
      for (std::size_t p = 0; p < kv; p += L) {
        const fbatch xv = fbatch::load_unaligned(xi + p);
        for (std::size_t r = 0; r < R; ++r) acc[r] = xsimd::fma(xv, load_f32<D>(w, (j + r) * k + p), acc[r]);
      }
      for (std::size_t r = 0; r < R; ++r) {
        float s = xsimd::hadd(acc[r]);
        for (std::size_t p = kv; p < k; ++p) s += xi[p] * load_scalar_f32<D>(w, (j + r) * k + p);
        y[i * n + j + r] = s;
      }
    }
  }
  for (; j < j_end; ++j) {
    for (std::size_t i = 0; i < m; ++i) {
      const float* xi = x + i * k;
      fbatch acc(0.0f);
      for (std::size_t p = 0; p < kv; p += L)
        acc = xsimd::fma(fbatch::load_unaligned(xi + p), load_f32<D>(w, j * k + p), acc);
      float s = xsimd::hadd(acc);
      for (std::size_t p = kv; p < k; ++p) s += xi[p] * load_scalar_f32<D>(w, j * k + p);
      y[i * n + j] = s;
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
      // Many small tasks: w streams from memory, and dynamic hand-out keeps
      // both cores busy on a shared machine.
      constexpr std::size_t chunk = 64;
      pool.parallel_for((n + chunk - 1) / chunk, [&](std::size_t t) {
        detail::gemv_columns<D>(x, m, k, w, n, t * chunk, std::min(n, (t + 1) * chunk), y);
      });
      return;
    }
    if (m <= detail::GemmFew::max_rows) {
      detail::split_columns(pool, n, detail::GemmFew::NR, [&](std::size_t j_begin, std::size_t j_end) {
        detail::gemm_few_columns<D>(x, m, k, w, n, j_begin, j_end, y);
      });
    } else {
      detail::split_columns(pool, n, detail::Gemm::NW, [&](std::size_t j_begin, std::size_t j_end) {
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
