// load_f32 — read stored F32/F16/BF16 elements as float32 SIMD registers.
//
// Exact mode never makes a float32 copy of a checkpoint: kernels read the
// mapped bytes and widen them in registers (or into a small per-thread tile
// that stays in cache). Every conversion here gives exactly the value of the
// scalar reference in urm/core/dtype.hpp (both widenings are exact).
//
// Stored tensors may start at any byte offset of a safetensors file, so all
// loads are unaligned and scalar reads go through memcpy.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>
#include <xsimd/xsimd.hpp>

#if defined(__AVX512F__) || defined(__F16C__)
#include <immintrin.h>
#endif

#include "urm/core/dtype.hpp"
#include "urm/core/error.hpp"
#include "urm/core/tensor_view.hpp"

namespace urm::detail {

using fbatch = xsimd::batch<float>;
inline constexpr std::size_t simd_width = fbatch::size;  // float lanes per register

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
    // The same with the zero-masking intrinsics: GCC 12 warns falsely
    // (-Wmaybe-uninitialized, GCC bug 105593) on the unmasked forms that
    // xsimd's shift uses.
    if constexpr (simd_width == 16) {
      const __m512i wide =
          _mm512_maskz_cvtepu16_epi32(0xffff, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(base + 2 * i)));
      return fbatch(_mm512_castsi512_ps(_mm512_maskz_slli_epi32(0xffff, wide, 16)));
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
    // does not apply) when the register width matches, and the exact scalar
    // conversion otherwise.
    const std::byte* p = base + 2 * i;
#if defined(__AVX512F__)
    if constexpr (simd_width == 16) {
      return fbatch(_mm512_maskz_cvtph_ps(0xffff, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))));
    }
#endif
#if defined(__F16C__)
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

// Throws unless t is a stored type these kernels widen: "<what><name> has
// dtype I8, expected F32, F16 or BF16".
inline void require_float_dtype(const TensorView& t, const std::string& what) {
  require_dtype(t, kFloatDTypes, what + t.name);
}

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

}  // namespace urm::detail
