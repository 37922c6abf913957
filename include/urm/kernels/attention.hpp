// Causal grouped-query attention, blocked flash-style with an online softmax.
//
//   q   : [n_q, n_heads, D]        queries at positions n_kv − n_q … n_kv − 1
//   k,v : [n_kv, n_kv_heads, D]    keys/values at positions 0 … n_kv − 1
//   out : [n_q, n_heads, D]
// out may be q itself: a task copies its slice of q (its rows, its heads)
// before it writes the same slice of out, and no other task reads it.
// Head h reads kv head h / (n_heads / n_kv_heads). Query t sees keys
// 0 … (n_kv − n_q + t):  out = softmax(q·kᵀ / √D) · v.
// n_kv > n_q is the prefix-reuse case: the first n_kv − n_q keys/values were
// computed earlier (a shared prompt) and only the new queries run.
//
// No n × n score matrix is formed. A task owns one kv head (and the query
// heads that read it) and a block of BQ queries, and walks the visible keys in blocks of BK, keeping per query row
// the running maximum m, the running sum ℓ and the unnormalised output o:
//     s_c = q·k_c / √D,   m' = max(m, max_c s_c),   α = e^{m − m'}
//     ℓ' = α·ℓ + Σ_c e^{s_c − m'},   o' = α·o + Σ_c e^{s_c − m'}·v_c
// and writes o / ℓ at the end. Every exponent is ≤ 0, so nothing overflows;
// the first key block always holds key 0, which every query sees, so m is
// finite from then on. Each output row belongs to exactly one task and the
// blocking depends only on the shapes, so results do not depend on the
// thread count.
//
// Scratch: the scores of one block live on the stack (16 KiB); the copies of
// q, out, k and v rows use thread_scratch, 4·(2·group·BQ + 2·BK)·⌈D⌉ bytes per
// thread (330 KiB for Llama-3-8B's group 4, D 128).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <string>
#include <xsimd/xsimd.hpp>

#include "urm/core/error.hpp"
#include "urm/core/thread_pool.hpp"
#include "urm/kernels/convert.hpp"
#include "urm/kernels/blocking.hpp"
#include "urm/kernels/scratch.hpp"
#include "urm/kernels/simd.hpp"
#include "urm/kernels/vector_exp.hpp"

namespace urm::detail {

struct AttentionScratchTag {};

struct Attention {
  static constexpr std::size_t L = simd_width;
  static constexpr std::size_t BQ = 64;      // query rows per task
  static constexpr std::size_t BK = 64;      // keys per block: scores BQ·BK floats = 16 KiB
  static constexpr std::size_t QT = 4;       // score tile: QT queries × KT keys, one register each,
  static constexpr std::size_t KT = L / QT;  // so that lane_sums reduces the whole tile at once
  static_assert(L % QT == 0 && BK % L == 0);
};

// s[r][c] = scale · q_r · k_c for r < rows, c < cols (rows ≤ QT, cols ≤ KT).
// Lanes of D are summed in registers and the tile's QT·KT registers are then
// reduced together (lane_sums); the D % L tail is added in scalar.
inline void attention_score_tile(const float* const* qr, const float* const* kc, std::size_t head_dim, float scale,
                                 std::size_t rows, std::size_t cols, float* s, std::size_t s_stride) {
  constexpr std::size_t L = Attention::L, QT = Attention::QT, KT = Attention::KT;
  const std::size_t dv = head_dim - head_dim % L;
  alignas(64) float dots[L];
  if (dv > 0) {
    fbatch acc[QT * KT];
    for (auto& a : acc) a = fbatch(0.0f);
    for (std::size_t d = 0; d < dv; d += L) {
      fbatch kv[KT];
      for (std::size_t c = 0; c < KT; ++c) kv[c] = fbatch::load_unaligned(kc[c] + d);
      for (std::size_t r = 0; r < QT; ++r) {
        const fbatch qv = fbatch::load_unaligned(qr[r] + d);
        for (std::size_t c = 0; c < KT; ++c) acc[r * KT + c] = detail::fma(qv, kv[c], acc[r * KT + c]);
      }
    }
    lane_sums(acc, dots);
  } else {
    std::fill(dots, dots + L, 0.0f);
  }
  // The tails with explicit fused multiply-adds: left to -ffp-contract, how
  // a product and a sum fuse could differ between the code paths the
  // compiler makes for different trip counts, and with it the bits.
  for (std::size_t r = 0; r < rows; ++r) {
    for (std::size_t c = 0; c < cols; ++c) {
      float d = dots[r * KT + c];
      for (std::size_t i = dv; i < head_dim; ++i) d = std::fma(qr[r][i], kc[c][i], d);
      s[r * s_stride + c] = d * scale;
    }
  }
}

// o_r = α_r·o_r + Σ_{c < len_r} p[r][c]·v_c for the `rows` (≤ 4) output rows
// o_r, along D in chunks of up to 4 registers.
inline void attention_accumulate_pv(float* const* o, const float* p, std::size_t p_stride, const float* alpha,
                                    const std::size_t* len, std::size_t rows, const float* v, std::size_t v_stride,
                                    std::size_t head_dim) {
  constexpr std::size_t L = Attention::L, RT = 4, DT = 4;
  const std::size_t dv = head_dim - head_dim % L;
  const std::size_t max_len = *std::max_element(len, len + rows);
  for (std::size_t d0 = 0; d0 < dv; d0 += DT * L) {
    const std::size_t nd = std::min(DT, (dv - d0) / L);
    fbatch acc[RT][DT];
    for (std::size_t r = 0; r < RT; ++r)
      for (std::size_t i = 0; i < DT; ++i)
        acc[r][i] = r < rows && i < nd ? fbatch::load_unaligned(o[r] + d0 + i * L) * fbatch(alpha[r]) : fbatch(0.0f);
    // p[r][c] is 0 for c ≥ len_r, so all rows can run to the longest length.
    for (std::size_t c = 0; c < max_len; ++c) {
      const float* vc = v + c * v_stride + d0;
      fbatch vv[DT];
      for (std::size_t i = 0; i < DT; ++i) vv[i] = i < nd ? fbatch::load_unaligned(vc + i * L) : fbatch(0.0f);
      for (std::size_t r = 0; r < RT; ++r) {
        const fbatch pr(p[r * p_stride + c]);
        for (std::size_t i = 0; i < DT; ++i) acc[r][i] = detail::fma(pr, vv[i], acc[r][i]);
      }
    }
    for (std::size_t r = 0; r < rows; ++r)
      for (std::size_t i = 0; i < nd; ++i) acc[r][i].store_unaligned(o[r] + d0 + i * L);
  }
  // (Explicit fused multiply-adds, as in attention_score_tile: a row's result
  // must not depend on max_len, the longest row of its group.)
  for (std::size_t r = 0; r < rows; ++r) {
    for (std::size_t i = dv; i < head_dim; ++i) {
      float a = o[r][i] * alpha[r];
      for (std::size_t c = 0; c < max_len; ++c) a = std::fma(p[r * p_stride + c], v[c * v_stride + i], a);
      o[r][i] = a;
    }
  }
}

}  // namespace urm::detail

namespace urm::kernels {

inline void causal_attention(const float* q, const float* k, const float* v, float* out, std::size_t n_q,
                             std::size_t n_kv, std::size_t n_heads, std::size_t n_kv_heads, std::size_t head_dim,
                             ThreadPool& pool) {
  using A = detail::Attention;
  using detail::fbatch;
  constexpr std::size_t L = A::L, BQ = A::BQ, BK = A::BK, QT = A::QT, KT = A::KT;
  if (n_kv_heads == 0 || n_heads % n_kv_heads != 0)
    throw Error("causal_attention: n_heads " + std::to_string(n_heads) + " is not a multiple of n_kv_heads " +
                std::to_string(n_kv_heads));
  if (n_q > n_kv)
    throw Error("causal_attention: " + std::to_string(n_q) + " queries but only " + std::to_string(n_kv) +
                " keys; expected n_q <= n_kv");
  if (head_dim == 0) throw Error("causal_attention: head_dim is 0");
  if (n_q == 0 || n_heads == 0) return;

  const std::size_t group = n_heads / n_kv_heads;
  // As transformers: scaling = head_dim ** -0.5 in double, used as float32.
  const float scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(head_dim)));
  const std::size_t past = n_kv - n_q;
  const std::size_t q_stride = n_heads * head_dim, kv_stride = n_kv_heads * head_dim;
  const std::size_t n_blocks = (n_q + BQ - 1) / BQ;

  // A task is one query block of one kv head, with all the query heads that
  // share it: each key/value block is copied once for the whole group.
  // Later query blocks see more keys: hand them out first.
  pool.parallel_for(n_blocks * n_kv_heads, [&](std::size_t task) {
    const std::size_t qb = n_blocks - 1 - task / n_kv_heads, kh = task % n_kv_heads;
    const std::size_t t0 = qb * BQ, bq = std::min(BQ, n_q - t0);
    // Rows of q, k, v and out are n_heads·D or n_kv_heads·D floats apart
    // (4–16 KiB for Llama shapes): walked directly, they fall into a few L1
    // sets and evict each other. So the task works on contiguous copies:
    //   qp, op [group][BQ][ds] for its queries, kp, vp [BK][ds] per key block,
    //   and keeps per query row: m, ℓ [group][BQ].
    const std::size_t ds = (head_dim + L - 1) / L * L;
    float* qp = detail::thread_scratch<detail::AttentionScratchTag>(2 * group * BQ * ds + 2 * BK * ds + 2 * group * BQ);
    float* op = qp + group * BQ * ds;
    float* kp = op + group * BQ * ds;
    float* vp = kp + BK * ds;
    float* row_max = vp + BK * ds;
    float* row_sum = row_max + group * BQ;
    for (std::size_t g = 0; g < group; ++g) {
      const std::size_t h = kh * group + g;
      for (std::size_t r = 0; r < bq; ++r) {
        std::copy_n(q + (t0 + r) * q_stride + h * head_dim, head_dim, qp + (g * BQ + r) * ds);
        std::fill_n(op + (g * BQ + r) * ds, head_dim, 0.0f);
        row_max[g * BQ + r] = -std::numeric_limits<float>::infinity();
        row_sum[g * BQ + r] = 0.0f;
      }
    }

    alignas(64) float s[BQ * BK];  // scores, then probabilities, of one key block
    float alpha[BQ];
    std::size_t len[BQ];
    const std::size_t keys = past + t0 + bq;  // keys visible to the last row of the block
    for (std::size_t c0 = 0; c0 < keys; c0 += BK) {
      const std::size_t bk = std::min(BK, keys - c0);
      for (std::size_t c = 0; c < bk; ++c) {
        std::copy_n(k + (c0 + c) * kv_stride + kh * head_dim, head_dim, kp + c * ds);
        std::copy_n(v + (c0 + c) * kv_stride + kh * head_dim, head_dim, vp + c * ds);
      }
      // The next block's keys and values, prefetched one line per score tile.
      detail::PrefetchCursor kpf, vpf;
      if (c0 + BK < keys) {
        kpf.row = reinterpret_cast<const std::byte*>(k + (c0 + BK) * kv_stride + kh * head_dim);
        vpf.row = reinterpret_cast<const std::byte*>(v + (c0 + BK) * kv_stride + kh * head_dim);
        kpf.row_stride = vpf.row_stride = kv_stride * sizeof(float);
        kpf.seg_bytes = vpf.seg_bytes = head_dim * sizeof(float);
        kpf.rows_left = vpf.rows_left = std::min(BK, keys - c0 - BK);
      }
      // Row r sees keys c0 … past + t0 + r of this block.
      for (std::size_t r = 0; r < bq; ++r) {
        const std::size_t last = past + t0 + r;
        len[r] = last < c0 ? 0 : std::min(bk, last - c0 + 1);
      }

      for (std::size_t g = 0; g < group; ++g) {
        const float* qg = qp + g * BQ * ds;
        float* og = op + g * BQ * ds;
        float* mg = row_max + g * BQ;
        float* lg = row_sum + g * BQ;

        // s = q·kᵀ·scale over the visible part, tile by tile.
        for (std::size_t r0 = 0; r0 < bq; r0 += QT) {
          const std::size_t rows = std::min(QT, bq - r0);
          const std::size_t cols_needed = len[r0 + rows - 1];
          const float* qr[QT];
          for (std::size_t r = 0; r < QT; ++r) qr[r] = qg + (r0 + std::min(r, rows - 1)) * ds;
          for (std::size_t cc = 0; cc < cols_needed; cc += KT) {
            const std::size_t cols = std::min(KT, cols_needed - cc);
            const float* kc[KT];
            for (std::size_t c = 0; c < KT; ++c) kc[c] = kp + (cc + std::min(c, cols - 1)) * ds;
            detail::attention_score_tile(qr, kc, head_dim, scale, rows, cols, s + r0 * BK + cc, BK);
            kpf.next();
            vpf.next();
          }
        }

        // Online softmax update; p = e^{s − m'} over the visible keys, 0 after
        // (and 0 on the padding rows up to a multiple of 4, read below).
        for (std::size_t r = 0; r < (bq + 3) / 4 * 4; ++r) {
          float* sr = s + r * BK;
          const std::size_t n = r < bq ? len[r] : 0;
          if (n == 0) {
            std::fill(sr, sr + BK, 0.0f);
            alpha[r] = 1.0f;
            continue;
          }
          for (std::size_t c = n; c < BK; ++c) sr[c] = -std::numeric_limits<float>::infinity();
          fbatch mxv(mg[r]);
          for (std::size_t c = 0; c < BK; c += L) {
            const fbatch sv = fbatch::load_aligned(sr + c);
            mxv = xsimd::select(sv > mxv, sv, mxv);  // (xsimd::max trips GCC 12's false warning)
          }
          alignas(64) float lanes[L];
          mxv.store_aligned(lanes);
          float mx = lanes[0];
          for (std::size_t l = 1; l < L; ++l) mx = std::max(mx, lanes[l]);
          const fbatch mv(mx);
          fbatch sum(0.0f);
          for (std::size_t c = 0; c < BK; c += L) {
            const fbatch e = detail::exp_f32(fbatch::load_aligned(sr + c) - mv);  // e^{−∞} = 0
            e.store_aligned(sr + c);
            sum += e;
          }
          alpha[r] = std::exp(mg[r] - mx);  // 0 on the first block (m = −∞)
          lg[r] = lg[r] * alpha[r] + xsimd::hadd(sum);
          mg[r] = mx;
        }

        // o = α·o + p·v, four rows at a time.
        for (std::size_t r0 = 0; r0 < bq; r0 += 4) {
          const std::size_t rows = std::min<std::size_t>(4, bq - r0);
          float* o[4];
          for (std::size_t r = 0; r < 4; ++r) o[r] = og + (r0 + std::min(r, rows - 1)) * ds;
          detail::attention_accumulate_pv(o, s + r0 * BK, BK, alpha + r0, len + r0, rows, vp, ds, head_dim);
        }
      }
    }

    for (std::size_t g = 0; g < group; ++g) {
      for (std::size_t r = 0; r < bq; ++r) {
        float* o = out + (t0 + r) * q_stride + (kh * group + g) * head_dim;
        const float* og = op + (g * BQ + r) * ds;
        const float inv = 1.0f / row_sum[g * BQ + r];
        for (std::size_t i = 0; i < head_dim; ++i) o[i] = og[i] * inv;
      }
    }
  });
}

}  // namespace urm::kernels
