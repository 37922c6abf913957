// The block kernels of the int8 matmul (matmul_int8.hpp): int32 sums
//   C[v, 16 p + o] (+)= Σ_{g ∈ [g0, g1)} Σ_{i<4} (A[v, 4g + i] − 128) · W_p[g, 4o + i]
// for the virtual rows v of a block (int8_activations.hpp: q + 128 bytes) and
// up to 4 panels p of 16 outputs (int8_weights.hpp). Integer sums are exact,
// so every kernel gives the same C after the last k block, bit for bit,
// whatever order it adds in; only how they get there differs:
//
//   avx512_vnni  VPDPBUSD zmm (u8 · s8, 4 products per int32 lane), 8 rows x
//                32 outputs = 16 accumulators, per k group 2 weight loads and
//                8 broadcasts for 16 VPDPBUSD (1024 multiply-adds)
//   avx_vnni     VPDPBUSD ymm (Alder Lake, Zen 5, ...), 4 rows x 16 outputs
//   avx2         no dot-product instruction: VPMADDUBSW + VPMADDWD. VPMADDUBSW
//                adds two u8 · s8 products into a saturating int16, and with
//                x + 128 ∈ [1, 255] and |w| ≤ 127 a pair can reach 64770:
//                it would saturate. So this kernel uses the sign trick
//                instead: |w| (unsigned) times x · sign(w) (signed, x = q ∈
//                [−127, 127] after XOR 0x80), whose pairs are at most
//                2 · 127 · 127 = 32258 < 32767; VPMADDWD by ones then adds
//                pairs into int32 (exact). 4 instructions per 32
//                multiply-adds where VNNI needs 1.
//   generic      plain C++ (any CPU), the reference of the others
//   amx_int8     TDPBUSD on AMX tiles, 16 rows x 16 outputs x 64 k values
//                per instruction: its own header, matmul_int8_amx.hpp
//
// The VNNI and AMX kernels start C at the weights' bias128 (−128 Σ w) in the first k
// block to take out the +128 of the activations; the others compute with
// x − 128 directly. Rows are a multiple of 8 (Int8Activations pads them).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "urm/kernels/int8_weights.hpp"
#include "urm/kernels/simd.hpp"

namespace urm::detail {

inline constexpr std::size_t kInt8BlockPanels = 4;                              // panels per block, at most
inline constexpr std::size_t kInt8COutputs = kInt8BlockPanels * kInt8Panel;    // int32 per row of C

struct Int8Block {
  const std::uint8_t* a = nullptr;  // virtual row v at a + v · a_stride (k padded, q + 128)
  std::size_t a_stride = 0;
  std::size_t rows = 0;             // virtual rows, a multiple of kInt8RowAlign (8)
  const std::int8_t* b = nullptr;   // first panel; panel p at b + p · b_stride
  std::size_t b_stride = 0;
  std::size_t panels = 0;           // 1 … kInt8BlockPanels
  const std::int32_t* bias = nullptr;  // bias128 of the first panel's outputs (VNNI kernels)
  std::size_t g0 = 0, g1 = 0;       // k groups (4 k values) of this block
  std::int32_t* c = nullptr;        // C[v][16 p + o] at c + v · kInt8COutputs + 16 p + o; read unless first
  bool first = true;
};

inline std::int32_t load_i32(const std::uint8_t* p) {
  std::int32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

inline void generic_int8_block(const Int8Block& blk) {
  for (std::size_t v = 0; v < blk.rows; ++v) {
    const std::uint8_t* a = blk.a + v * blk.a_stride;
    for (std::size_t p = 0; p < blk.panels; ++p) {
      const std::int8_t* b = blk.b + p * blk.b_stride;
      std::int32_t* c = blk.c + v * kInt8COutputs + p * kInt8Panel;
      for (std::size_t o = 0; o < kInt8Panel; ++o) {
        std::int32_t s = blk.first ? 0 : c[o];
        for (std::size_t g = blk.g0; g < blk.g1; ++g)
          for (std::size_t i = 0; i < 4; ++i)
            s += (static_cast<std::int32_t>(a[4 * g + i]) - 128) * b[g * kInt8GroupBytes + 4 * o + i];
        c[o] = s;
      }
    }
  }
}

#if URM_HAVE_X86_KERNELS

URM_TARGET_AVX2 inline void avx2_int8_block(const Int8Block& blk) {
  constexpr std::size_t kRows = 4;
  const __m256i flip = _mm256_set1_epi8(static_cast<char>(0x80)), ones = _mm256_set1_epi16(1);
  for (std::size_t p = 0; p < blk.panels; ++p) {
    const std::int8_t* b = blk.b + p * blk.b_stride;
    for (std::size_t r0 = 0; r0 < blk.rows; r0 += kRows) {
      std::int32_t* c = blk.c + r0 * kInt8COutputs + p * kInt8Panel;
      __m256i acc[kRows][2];
      for (std::size_t r = 0; r < kRows; ++r)
        for (std::size_t h = 0; h < 2; ++h)
          acc[r][h] = blk.first ? _mm256_setzero_si256()
                                : _mm256_loadu_si256(reinterpret_cast<const __m256i*>(c + r * kInt8COutputs + 8 * h));
      for (std::size_t g = blk.g0; g < blk.g1; ++g) {
        const __m256i w0 = _mm256_load_si256(reinterpret_cast<const __m256i*>(b + g * kInt8GroupBytes));
        const __m256i w1 = _mm256_load_si256(reinterpret_cast<const __m256i*>(b + g * kInt8GroupBytes + 32));
        const __m256i aw0 = _mm256_abs_epi8(w0), aw1 = _mm256_abs_epi8(w1);
        for (std::size_t r = 0; r < kRows; ++r) {
          const __m256i x =
              _mm256_xor_si256(_mm256_set1_epi32(load_i32(blk.a + (r0 + r) * blk.a_stride + 4 * g)), flip);
          const __m256i t0 = _mm256_maddubs_epi16(aw0, _mm256_sign_epi8(x, w0));
          const __m256i t1 = _mm256_maddubs_epi16(aw1, _mm256_sign_epi8(x, w1));
          acc[r][0] = _mm256_add_epi32(acc[r][0], _mm256_madd_epi16(t0, ones));
          acc[r][1] = _mm256_add_epi32(acc[r][1], _mm256_madd_epi16(t1, ones));
        }
      }
      for (std::size_t r = 0; r < kRows; ++r)
        for (std::size_t h = 0; h < 2; ++h)
          _mm256_storeu_si256(reinterpret_cast<__m256i*>(c + r * kInt8COutputs + 8 * h), acc[r][h]);
    }
  }
}

URM_TARGET_AVX_VNNI inline void avx_vnni_int8_block(const Int8Block& blk) {
  constexpr std::size_t kRows = 4;
  for (std::size_t p = 0; p < blk.panels; ++p) {
    const std::int8_t* b = blk.b + p * blk.b_stride;
    const std::int32_t* bias = blk.bias + p * kInt8Panel;
    for (std::size_t r0 = 0; r0 < blk.rows; r0 += kRows) {
      std::int32_t* c = blk.c + r0 * kInt8COutputs + p * kInt8Panel;
      __m256i acc[kRows][2];
      for (std::size_t r = 0; r < kRows; ++r)
        for (std::size_t h = 0; h < 2; ++h)
          acc[r][h] = _mm256_loadu_si256(
              reinterpret_cast<const __m256i*>(blk.first ? bias + 8 * h : c + r * kInt8COutputs + 8 * h));
      for (std::size_t g = blk.g0; g < blk.g1; ++g) {
        const __m256i w0 = _mm256_load_si256(reinterpret_cast<const __m256i*>(b + g * kInt8GroupBytes));
        const __m256i w1 = _mm256_load_si256(reinterpret_cast<const __m256i*>(b + g * kInt8GroupBytes + 32));
        for (std::size_t r = 0; r < kRows; ++r) {
          const __m256i x = _mm256_set1_epi32(load_i32(blk.a + (r0 + r) * blk.a_stride + 4 * g));
          acc[r][0] = _mm256_dpbusd_avx_epi32(acc[r][0], x, w0);
          acc[r][1] = _mm256_dpbusd_avx_epi32(acc[r][1], x, w1);
        }
      }
      for (std::size_t r = 0; r < kRows; ++r)
        for (std::size_t h = 0; h < 2; ++h)
          _mm256_storeu_si256(reinterpret_cast<__m256i*>(c + r * kInt8COutputs + 8 * h), acc[r][h]);
    }
  }
}

// 8 rows x P panels (P = 1 or 2) of one block.
template <std::size_t P>
URM_TARGET_AVX512_VNNI inline void avx512_vnni_int8_tile(const Int8Block& blk, std::size_t p0, std::size_t r0) {
  constexpr std::size_t kRows = 8;
  std::int32_t* c = blk.c + r0 * kInt8COutputs + p0 * kInt8Panel;
  __m512i acc[kRows][P];
  for (std::size_t r = 0; r < kRows; ++r)
    for (std::size_t h = 0; h < P; ++h)
      acc[r][h] = _mm512_loadu_si512(blk.first ? blk.bias + (p0 + h) * kInt8Panel : c + r * kInt8COutputs + h * kInt8Panel);
  const std::int8_t* b = blk.b + p0 * blk.b_stride;
  for (std::size_t g = blk.g0; g < blk.g1; ++g) {
    __m512i w[P];
    for (std::size_t h = 0; h < P; ++h) w[h] = _mm512_load_si512(b + h * blk.b_stride + g * kInt8GroupBytes);
    for (std::size_t r = 0; r < kRows; ++r) {
      const __m512i x = _mm512_set1_epi32(load_i32(blk.a + (r0 + r) * blk.a_stride + 4 * g));
      for (std::size_t h = 0; h < P; ++h) acc[r][h] = _mm512_dpbusd_epi32(acc[r][h], x, w[h]);
    }
  }
  for (std::size_t r = 0; r < kRows; ++r)
    for (std::size_t h = 0; h < P; ++h) _mm512_storeu_si512(c + r * kInt8COutputs + h * kInt8Panel, acc[r][h]);
}

URM_TARGET_AVX512_VNNI inline void avx512_vnni_int8_block(const Int8Block& blk) {
  for (std::size_t p0 = 0; p0 < blk.panels; p0 += 2)
    for (std::size_t r0 = 0; r0 < blk.rows; r0 += 8) {
      if (p0 + 1 < blk.panels) avx512_vnni_int8_tile<2>(blk, p0, r0);
      else avx512_vnni_int8_tile<1>(blk, p0, r0);
    }
}

#endif  // URM_HAVE_X86_KERNELS

}  // namespace urm::detail
