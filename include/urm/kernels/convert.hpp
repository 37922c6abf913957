// convert — the vector forms of the dtype conversions of urm/core/dtype.hpp,
// for kernels: stored F32/F16/BF16 elements widened to float32 registers, and
// float32 rounded (or split) to bfloat16.
//
// Every conversion here gives exactly the value of the scalar reference in
// dtype.hpp (f16_to_f32, bf16_to_f32, f32_to_bf16); tests compare them on
// every 16-bit pattern. Exact mode never makes a float32 copy of a
// checkpoint: kernels read the mapped bytes and widen them in registers (or
// into a small per-thread tile that stays in cache). Stored tensors may start
// at any byte offset of a safetensors file, so all loads are unaligned and
// scalar reads go through memcpy.
#pragma once

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>
#include <utility>
#include <xsimd/xsimd.hpp>

#include "urm/core/dtype.hpp"
#include "urm/core/error.hpp"
#include "urm/core/tensor_view.hpp"
#include "urm/kernels/simd.hpp"

namespace urm::detail {

// Element i of a stored tensor as float32.
template <DType D>
inline float load_scalar_f32(const std::byte* base, std::size_t i) {
  static_assert(D == DType::F32 || D == DType::F16 || D == DType::BF16);
  if constexpr (D == DType::F32) {
    float v;
    std::memcpy(&v, base + 4 * i, 4);
    return v;
  } else {
    std::uint16_t h;
    std::memcpy(&h, base + 2 * i, 2);
    return D == DType::F16 ? f16_to_f32(h) : bf16_to_f32(h);
  }
}

// Elements i … i + simd_width − 1 as one float32 register.
template <DType D>
inline fbatch load_f32(const std::byte* base, std::size_t i) {
  static_assert(D == DType::F32 || D == DType::F16 || D == DType::BF16);
  if constexpr (D == DType::F32) {
    return fbatch::load_unaligned(reinterpret_cast<const float*>(base + 4 * i));
  } else if constexpr (D == DType::BF16) {
    // bf16 is the high half of a float32: zero-extend to 32 bits, shift up.
#if defined(__AVX512F__)
    if constexpr (simd_width == 16) {  // (masked forms: simd.hpp's GCC note)
      const __m512i wide =
          _mm512_maskz_cvtepu16_epi32(kAll16, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(base + 2 * i)));
      return fbatch(_mm512_castsi512_ps(_mm512_maskz_slli_epi32(kAll16, wide, 16)));
    }
#endif
    // (xsimd widens element by element: copy first, the bytes may be at an odd address.)
    using ubatch = xsimd::batch<std::uint32_t>;
    alignas(64) std::uint16_t h[simd_width];
    std::memcpy(h, base + 2 * i, sizeof h);
    const ubatch wide = ubatch::load_aligned(h);
    return xsimd::bitwise_cast<fbatch>(wide << 16);
  } else {
    // xsimd 8.1 has no half-precision type, so float16 → float32 uses the
    // hardware conversion (vcvtph2ps: exact, subnormals included, MXCSR-DAZ
    // does not apply) when the build has it (AVX-512, or F16C, which
    // x86-64-v3 includes), and the exact scalar conversion otherwise.
    const std::byte* p = base + 2 * i;
    // (#elif, not two #ifs: an AVX-512 build's fbatch has 16 lanes, and
    // clang checks even a discarded branch that does not depend on D.)
#if defined(__AVX512F__)
    if constexpr (simd_width == 16) {
      return fbatch(_mm512_maskz_cvtph_ps(kAll16, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))));
    }
#elif defined(__F16C__)
    if constexpr (simd_width == 8) {
      return fbatch(_mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))));
    }
#endif
    alignas(64) float tmp[simd_width];
    for (std::size_t l = 0; l < simd_width; ++l) tmp[l] = load_scalar_f32<D>(p, l);
    return fbatch::load_aligned(tmp);
  }
}

// out[0 … n) = elements i … i + n − 1 as float32.
template <DType D>
inline void convert_f32(const std::byte* base, std::size_t i, std::size_t n, float* out) {
  const std::size_t nv = n - n % simd_width;
  for (std::size_t l = 0; l < nv; l += simd_width) load_f32<D>(base, i + l).store_unaligned(out + l);
  for (std::size_t l = nv; l < n; ++l) out[l] = load_scalar_f32<D>(base, i + l);
}

// dst[0, n) = f32_to_bf16(src[0, n)) (the loop vectorises: f32_to_bf16 has no
// branch). VCVTNEPS2BF16 would be faster but flushes subnormal inputs to zero.
inline void round_to_bf16(const float* src, std::uint16_t* dst, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) dst[i] = f32_to_bf16(src[i]);
}

// dst[0, n) = bf16_to_f32(src[0, n)) (exact).
inline void widen_bf16(const std::uint16_t* src, float* dst, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) dst[i] = bf16_to_f32(src[i]);
}

// The split of src[0, n) into `count` bfloat16 parts: part 0 = bf16(x)
// exactly as round_to_bf16, part p = bf16(r_p) of the rest
// r_p = x − Σ_{q<p} f32(part q), computed exactly in float32 (r − bf16(r) is
// representable). Where a part is not finite (x is ±inf or NaN, or rounds
// past the largest bfloat16) the parts after it are 0, so their sum is what
// that part alone gives. n <= kSplitMax.
inline constexpr std::size_t kSplitMax = 32;
inline void split_to_bf16(const float* src, std::uint16_t* const* parts, std::size_t count, std::size_t n) {
  float rest[kSplitMax];
  std::memcpy(rest, src, 4 * n);
  for (std::size_t p = 0; p < count; ++p) {
    round_to_bf16(rest, parts[p], n);
    if (p + 1 == count) break;
    for (std::size_t i = 0; i < n; ++i) {
      const float h = bf16_to_f32(parts[p][i]);
      rest[i] = (std::bit_cast<std::uint32_t>(h) & 0x7f800000u) == 0x7f800000u ? 0.0f : rest[i] - h;
    }
  }
}

// A float16 weight as the exact sum of two bfloat16 values: hi[i] = bf16(w),
// lo[i] = bf16(w − hi) for w = f16_to_f32(src[i]) (split_to_bf16 with two
// parts). float16 has 11 significant bits: w − hi is a multiple of w's last
// bit no larger than half of hi's, at most 3 significant bits, so lo is exact
// and f32(hi) + f32(lo) = w for every finite float16 (tested on all 65536).
// Where w is ±inf or NaN, hi carries it and lo = 0.
// Since w − f32(hi) is exact and fits bfloat16, lo is its high half as it is.
inline void split_f16_to_bf16(const std::uint16_t* src, std::uint16_t* hi, std::uint16_t* lo, std::size_t n) {
  constexpr std::size_t kChunk = 256;
  alignas(64) float w[kChunk];
  for (std::size_t i = 0; i < n; i += kChunk) {
    const std::size_t len = std::min(kChunk, n - i);
    convert_f32<DType::F16>(reinterpret_cast<const std::byte*>(src + i), 0, len, w);
    for (std::size_t j = 0; j < len; ++j) {  // (branch-free: vectorises)
      const std::uint16_t h = f32_to_bf16(w[j]);
      const float hf = std::bit_cast<float>(static_cast<std::uint32_t>(h) << 16);
      const bool finite = (h & 0x7f80u) != 0x7f80u;
      hi[i + j] = h;
      lo[i + j] = finite ? static_cast<std::uint16_t>(std::bit_cast<std::uint32_t>(w[j] - hf) >> 16) : 0;
    }
  }
}

#if URM_HAVE_X86_KERNELS
// The same on AVX-512 whatever the build's -march, for the drivers of the
// AVX-512 block kernels (a portable x86-64-v3 build splits 7x slower with the
// loop above: 2 ns a weight, against 0.3 ns native and less here). n % 16 == 0.
URM_TARGET_AVX512 inline void split_f16_to_bf16_avx512(const std::uint16_t* src, std::uint16_t* hi, std::uint16_t* lo,
                                                       std::size_t n) {
  const __mmask16 all = 0xffff;  // zero-masking forms: simd.hpp's GCC note
  const __m512i round_bias = _mm512_set1_epi32(0x7fff), one = _mm512_set1_epi32(1);
  const __m512i abs_mask = _mm512_set1_epi32(0x7fffffff), inf = _mm512_set1_epi32(0x7f800000);
  const __m512i quiet = _mm512_set1_epi32(0x40), exp16 = _mm512_set1_epi32(0x7f80);
  for (std::size_t i = 0; i < n; i += 16) {
    const __m512 w = _mm512_maskz_cvtph_ps(all, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + i)));
    const __m512i u = _mm512_castps_si512(w);
    // f32_to_bf16: (u + 0x7fff + ((u >> 16) & 1)) >> 16, NaN -> (u >> 16) | 0x40.
    const __m512i lsb = _mm512_and_si512(_mm512_maskz_srli_epi32(all, u, 16), one);
    const __m512i rounded = _mm512_maskz_srli_epi32(all, _mm512_add_epi32(_mm512_add_epi32(u, round_bias), lsb), 16);
    const __mmask16 nan = _mm512_cmpgt_epu32_mask(_mm512_and_si512(u, abs_mask), inf);
    const __m512i h = _mm512_mask_or_epi32(rounded, nan, _mm512_maskz_srli_epi32(all, u, 16), quiet);
    const __m512 hf = _mm512_castsi512_ps(_mm512_maskz_slli_epi32(all, h, 16));
    const __mmask16 finite = _mm512_cmpneq_epu32_mask(_mm512_and_si512(h, exp16), exp16);
    const __m512i l = _mm512_maskz_srli_epi32(finite, _mm512_castps_si512(_mm512_sub_ps(w, hf)), 16);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(hi + i), _mm512_maskz_cvtepi32_epi16(all, h));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(lo + i), _mm512_maskz_cvtepi32_epi16(all, l));
  }
}
#endif

// Calls f(std::integral_constant<DType, D>{}) for the runtime dtype t, so a
// kernel is compiled once per storage type with the conversion inlined.
template <class F>
inline decltype(auto) dispatch_float_dtype(DType t, F&& f) {
  switch (t) {
    case DType::F16:
      return f(std::integral_constant<DType, DType::F16>{});
    case DType::BF16:
      return f(std::integral_constant<DType, DType::BF16>{});
    default:
      return f(std::integral_constant<DType, DType::F32>{});
  }
}

// Elements [i, i + n) of a stored tensor (F32, F16 or BF16) -> bfloat16,
// n <= kStoredToBf16Max. float16 -> float32 is exact, so rounding that to
// bf16 is the one rounding a direct conversion would make.
inline constexpr std::size_t kStoredToBf16Max = 256;
inline void stored_to_bf16(const std::byte* base, DType dtype, std::size_t i, std::size_t n, std::uint16_t* dst) {
  if (dtype == DType::BF16) {
    std::memcpy(dst, base + 2 * i, 2 * n);
    return;
  }
  float tmp[kStoredToBf16Max];
  dispatch_float_dtype(dtype, [&](auto d) { convert_f32<decltype(d)::value>(base, i, n, tmp); });
  round_to_bf16(tmp, dst, n);
}

// Throws unless t is a stored type these kernels widen: "<what><name> has
// dtype I8, expected F32, F16 or BF16".
inline void require_float_dtype(const TensorView& t, const std::string& what) {
  require_dtype(t, kFloatDTypes, what + t.name);
}

// The checks every packer (pack_bf16, pack_int8) makes of a weight W [n, k]
// before it reads a byte: rank 2 with n, k > 0, a float dtype, addressable
// sizes and the bytes the dtype and shape need. Messages start with
// "<who>: weight <name>". Returns {n, k}.
inline std::pair<std::size_t, std::size_t> checked_weight_shape(const TensorView& w, const std::string& who) {
  if (w.rank() != 2 || w.dim(0) <= 0 || w.dim(1) <= 0)
    throw Error(who + ": weight " + w.name + " has shape " + shape_string(w.shape) + ", expected [n, k] with n, k > 0");
  require_dtype(w, kFloatDTypes, who + ": weight " + w.name);
  const std::size_t n = static_cast<std::size_t>(w.dim(0)), k = static_cast<std::size_t>(w.dim(1));
  if (k > SIZE_MAX / 4 / n)
    throw Error(who + ": weight " + w.name + " has shape " + shape_string(w.shape) + ", too large to address");
  if (w.data == nullptr || w.nbytes != n * k * dtype_size(w.dtype))
    throw Error(who + ": weight " + w.name + " holds " + std::to_string(w.nbytes) + " bytes, expected " +
                std::to_string(n * k * dtype_size(w.dtype)) + " for " + std::string(dtype_name(w.dtype)) + " " +
                shape_string(w.shape));
  return {n, k};
}

}  // namespace urm::detail
