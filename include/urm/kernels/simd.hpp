// simd — the one home of the kernels' SIMD vocabulary: the float register of
// the build, the x86 intrinsics, the target attributes of kernels chosen at
// run time, the register primitives several kernels share (transpose, lane
// sums, AMX tile configuration), and every workaround the intrinsics need
// with GCC 12.
//
// Compile time vs run time. Most kernels are xsimd code compiled for the
// build's -march (fbatch: 16 float lanes with AVX-512, 8 with AVX2). The
// fast-mode bf16 kernels (AMX, AVX512-BF16) and the int8 block kernels
// (AMX-INT8, AVX512-VNNI, AVX-VNNI, AVX2) are compiled with target
// attributes instead, so a portable build carries them and runs them only
// where cpu_features() says the CPU and OS allow it.
//
// GCC 12 workarounds, all of them here or pointing here:
//   * -Wmaybe-uninitialized false positives (GCC bug 105593) on unmasked
//     AVX-512 intrinsics whose "undefined" source is a self-initialised
//     variable (_mm512_unpacklo_ps, _mm512_slli_epi32, _mm512_cvtepu16_epi32,
//     _mm512_cvtph_ps, ...): use the zero-masking form with an all-ones mask
//     (kAll16, kAll8), which is the same instruction. Inside xsimd's own
//     inlined code (its shifts, xsimd::max, xsimd::exp) that cannot be done:
//     either avoid the call (vector_exp.hpp, xsimd::select for max) or wrap
//     the code in URM_GCC_PUSH_NO_MAYBE_UNINITIALIZED / URM_GCC_POP.
//   * The AMX tile-load and tile-config intrinsics are asm statements that
//     do not declare the memory they read: URM_ASM_MEMORY_BARRIER() before
//     them makes the compiler store what they read first.
#pragma once

#include <cstddef>
#include <cstdint>
#include <xsimd/xsimd.hpp>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

// Whether this compiler can build the x86 kernels (AMX, AVX512-BF16, the
// int8 kernels' AVX2, AVX-VNNI and AVX512-VNNI) with
// target attributes, whatever -march the program itself is compiled for.
#if defined(__x86_64__) && (defined(__clang__) ? __clang_major__ >= 12 : (defined(__GNUC__) && __GNUC__ >= 11))
#define URM_HAVE_X86_KERNELS 1
#else
#define URM_HAVE_X86_KERNELS 0
#endif

#if URM_HAVE_X86_KERNELS
#define URM_TARGET_AVX512 __attribute__((target("avx512f,avx512bw")))
#define URM_TARGET_AVX512_BF16 __attribute__((target("avx512f,avx512bw,avx512bf16")))
#define URM_TARGET_AMX __attribute__((target("amx-tile,amx-bf16,avx512f,avx512bw,avx512bf16")))
// The int8 kernels (matmul_int8_blocks.hpp).
#define URM_TARGET_AVX2 __attribute__((target("avx2")))
#define URM_TARGET_AVX_VNNI __attribute__((target("avx2,avxvnni")))
#define URM_TARGET_AVX512_VNNI __attribute__((target("avx512f,avx512bw,avx512vnni")))
#define URM_TARGET_AMX_INT8 __attribute__((target("amx-tile,amx-int8,avx512f,avx512bw,avx512vnni")))
#endif

#if defined(__GNUC__) && !defined(__clang__)
#define URM_GCC_PUSH_NO_MAYBE_UNINITIALIZED \
  _Pragma("GCC diagnostic push") _Pragma("GCC diagnostic ignored \"-Wmaybe-uninitialized\"")
#define URM_GCC_POP _Pragma("GCC diagnostic pop")
#else
#define URM_GCC_PUSH_NO_MAYBE_UNINITIALIZED
#define URM_GCC_POP
#endif

#define URM_ASM_MEMORY_BARRIER() __asm__ volatile("" : : : "memory")

namespace urm::detail {

using fbatch = xsimd::batch<float>;
inline constexpr std::size_t simd_width = fbatch::size;  // float lanes per register

// a · b + c with one rounding where the build has FMA (AVX2 builds: xsimd's
// fma3 kernel). Kernels call this, never xsimd::fma: xsimd 8.1 has no AVX-512
// fma kernel, and its generic fallback computes a * b + c, which rounds once
// only if the compiler contracts it. GCC's default -ffp-contract=fast does in
// an optimised build; -fsanitize=address or -ffp-contract=off builds do not,
// and then exact mode rounds twice per product (test_matmul.cpp's FMA-chain
// check found it under ASan). Always qualified (detail::fma), so argument-
// dependent lookup never meets xsimd::fma.
inline fbatch fma(const fbatch& a, const fbatch& b, const fbatch& c) {
#if defined(__AVX512F__)
  static_assert(simd_width == 16);
  return fbatch(_mm512_fmadd_ps(a, b, c));
#else
  return xsimd::fma(a, b, c);
#endif
}

#if defined(__AVX512F__)
inline constexpr __mmask16 kAll16 = 0xffff;  // all-ones masks: see the GCC 12 note above
inline constexpr __mmask8 kAll8 = 0xff;

// In-register transpose of a 16 × 16 float block: r[i][c] → r[c][i].
// Three rounds of in-lane unpacks, then two rounds of 128-bit lane shuffles.
inline void transpose16x16(__m512 r[16]) {
  __m512 t[16];
  for (int i = 0; i < 8; ++i) {
    t[2 * i] = _mm512_maskz_unpacklo_ps(kAll16, r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_maskz_unpackhi_ps(kAll16, r[2 * i], r[2 * i + 1]);
  }
  // u[4g + c], 128-bit lane l = rows 4g … 4g+3 of column 4l + c.
  __m512 u[16];
  for (int g = 0; g < 4; ++g) {
    const __m512d a = _mm512_castps_pd(t[4 * g]), b = _mm512_castps_pd(t[4 * g + 1]);
    const __m512d c = _mm512_castps_pd(t[4 * g + 2]), d = _mm512_castps_pd(t[4 * g + 3]);
    u[4 * g + 0] = _mm512_castpd_ps(_mm512_maskz_unpacklo_pd(kAll8, a, c));
    u[4 * g + 1] = _mm512_castpd_ps(_mm512_maskz_unpackhi_pd(kAll8, a, c));
    u[4 * g + 2] = _mm512_castpd_ps(_mm512_maskz_unpacklo_pd(kAll8, b, d));
    u[4 * g + 3] = _mm512_castpd_ps(_mm512_maskz_unpackhi_pd(kAll8, b, d));
  }
  // Gather lane l of u[c], u[4+c], u[8+c], u[12+c] into column 4l + c.
  for (int c = 0; c < 4; ++c) {
    const __m512 s0 = _mm512_maskz_shuffle_f32x4(kAll16, u[c], u[4 + c], 0x88),
                 s1 = _mm512_maskz_shuffle_f32x4(kAll16, u[c], u[4 + c], 0xdd);
    const __m512 s2 = _mm512_maskz_shuffle_f32x4(kAll16, u[8 + c], u[12 + c], 0x88),
                 s3 = _mm512_maskz_shuffle_f32x4(kAll16, u[8 + c], u[12 + c], 0xdd);
    r[c] = _mm512_maskz_shuffle_f32x4(kAll16, s0, s2, 0x88);
    r[8 + c] = _mm512_maskz_shuffle_f32x4(kAll16, s0, s2, 0xdd);
    r[4 + c] = _mm512_maskz_shuffle_f32x4(kAll16, s1, s3, 0x88);
    r[12 + c] = _mm512_maskz_shuffle_f32x4(kAll16, s1, s3, 0xdd);
  }
}
#endif

#if defined(__AVX__)
// In-register transpose of an 8 × 8 float block: r[i][c] → r[c][i] (unpacks
// within 128-bit lanes, then 128-bit lane permutes).
inline void transpose8x8(__m256 r[8]) {
  __m256 t[8], u[8];
  for (int i = 0; i < 4; ++i) {
    t[2 * i] = _mm256_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm256_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  for (int g = 0; g < 2; ++g) {
    u[4 * g + 0] = _mm256_shuffle_ps(t[4 * g], t[4 * g + 2], 0x44);
    u[4 * g + 1] = _mm256_shuffle_ps(t[4 * g], t[4 * g + 2], 0xee);
    u[4 * g + 2] = _mm256_shuffle_ps(t[4 * g + 1], t[4 * g + 3], 0x44);
    u[4 * g + 3] = _mm256_shuffle_ps(t[4 * g + 1], t[4 * g + 3], 0xee);
  }
  for (int c = 0; c < 4; ++c) {
    r[c] = _mm256_permute2f128_ps(u[c], u[4 + c], 0x20);
    r[4 + c] = _mm256_permute2f128_ps(u[c], u[4 + c], 0x31);
  }
}
#endif

// Whether transpose_lanes runs in registers for this build's fbatch (16
// lanes with AVX-512, 8 with AVX).
#if defined(__AVX512F__)
inline constexpr bool kHaveTransposeLanes = simd_width == 16;
#elif defined(__AVX__)
inline constexpr bool kHaveTransposeLanes = simd_width == 8;
#else
inline constexpr bool kHaveTransposeLanes = false;
#endif

// r[i][c] → r[c][i] for a simd_width × simd_width block of registers (a
// no-op unless kHaveTransposeLanes: callers check it).
inline void transpose_lanes([[maybe_unused]] fbatch r[simd_width]) {
  if constexpr (kHaveTransposeLanes) {
#if defined(__AVX512F__)
    __m512 v[16];
    for (std::size_t i = 0; i < 16; ++i) v[i] = r[i];
    transpose16x16(v);
    for (std::size_t i = 0; i < 16; ++i) r[i] = v[i];
#elif defined(__AVX__)
    __m256 v[8];
    for (std::size_t i = 0; i < 8; ++i) v[i] = r[i];
    transpose8x8(v);
    for (std::size_t i = 0; i < 8; ++i) r[i] = v[i];
#endif
  }
}

// out[i] = Σ_lanes in[i] for i < simd_width: the horizontal sums of a
// register's worth of registers. (xsimd 8.1's haddp is not used: on AVX-512 it
// returns the sums in a permuted order.) The AVX-512 tree halves the number
// of registers at each of four levels, 2 shuffles and 1 add per pair. Each
// output is summed by the same tree of its own lanes, whatever its index.
inline void lane_sums(const fbatch* in, float* out) {
#if defined(__AVX512F__)
  if constexpr (simd_width == 16) {
    // Input order is transposed (4 × 4) so that the tree's output lane 4l + e,
    // which sums input 4e + l, is the sum of in[4l + e].
    __m512 r[8];
    for (int i = 0; i < 8; ++i) {
      const int j0 = 2 * i, j1 = 2 * i + 1;  // tree inputs → in[] index (4 × 4 transpose)
      const __m512 a = in[(j0 % 4) * 4 + j0 / 4], b = in[(j1 % 4) * 4 + j1 / 4];
      // [a0+a2, a1+a3 | b0+b2, b1+b3] in 128-bit lanes: a's partials, then b's.
      r[i] = _mm512_add_ps(_mm512_maskz_shuffle_f32x4(kAll16, a, b, 0x44),
                           _mm512_maskz_shuffle_f32x4(kAll16, a, b, 0xee));
    }
    __m512 s[4];  // 128-bit lane l holds 4 partials of tree input 4j + l
    for (int j = 0; j < 4; ++j)
      s[j] = _mm512_add_ps(_mm512_maskz_shuffle_f32x4(kAll16, r[2 * j], r[2 * j + 1], 0x88),
                           _mm512_maskz_shuffle_f32x4(kAll16, r[2 * j], r[2 * j + 1], 0xdd));
    __m512 u[2];  // lane l: [x0+x2, y0+y2, x1+x3, y1+y3] for x = input 8k + l, y = 8k + 4 + l
    for (int k = 0; k < 2; ++k)
      u[k] = _mm512_add_ps(_mm512_maskz_unpacklo_ps(kAll16, s[2 * k], s[2 * k + 1]),
                           _mm512_maskz_unpackhi_ps(kAll16, s[2 * k], s[2 * k + 1]));
    const __m512d u0 = _mm512_castps_pd(u[0]), u1 = _mm512_castps_pd(u[1]);
    const __m512 sums = _mm512_add_ps(_mm512_castpd_ps(_mm512_maskz_unpacklo_pd(kAll8, u0, u1)),
                                      _mm512_castpd_ps(_mm512_maskz_unpackhi_pd(kAll8, u0, u1)));
    _mm512_storeu_ps(out, sums);
    return;
  }
#endif
  for (std::size_t i = 0; i < simd_width; ++i) out[i] = xsimd::hadd(in[i]);
}

#if URM_HAVE_X86_KERNELS
// AMX palette 1, tiles 0..7 all 16 rows x 64 bytes (LDTILECFG memory format,
// Intel SDM vol. 1, 3.2.1: palette, start_row, 14 reserved, 16 x colsb, 16 x rows).
struct alignas(64) AmxTileConfig {
  std::uint8_t palette = 1;
  std::uint8_t start_row = 0;
  std::uint8_t reserved[14] = {};
  std::uint16_t colsb[16] = {64, 64, 64, 64, 64, 64, 64, 64};
  std::uint8_t rows[16] = {16, 16, 16, 16, 16, 16, 16, 16};
};

// Tile configuration is per thread: every thread that runs AMX code calls
// this first, and amx_end when it is done so the OS need not save 8 KiB of
// tile state on its context switches. Any thread that runs AMX code must
// have AMX permission; cpu_features() requests it for the process.
URM_TARGET_AMX inline void amx_begin() {
  const AmxTileConfig config;
  // _tile_loadconfig tells the compiler it reads 8 bytes only: make sure the
  // whole 64-byte struct is in memory first.
  __asm__ volatile("" : : "r"(&config) : "memory");
  _tile_loadconfig(&config);
}

URM_TARGET_AMX inline void amx_end() { _tile_release(); }
#endif

}  // namespace urm::detail
