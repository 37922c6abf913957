// exp_f32 — e^x on a float32 register, for the softmax and SiLU kernels.
//
// xsimd::exp would do, but on AVX-512 with GCC 12 its rounding and shift
// intrinsics trip a false -Wmaybe-uninitialized (GCC bug 105593, simd.hpp) that the
// project's zero-warning rule does not allow, and pragmas cannot silence it
// (it is reported inside the inlined system header). This one uses only
// add/mul/fma, compares, blends and an integer multiply.
//
// Method (Cody–Waite reduction, as in Cephes' expf):
//   n = round(x · log₂e),  r = x − n·ln2 (ln2 split in a short high part and
//   a correction, so n·ln2_hi is exact),  e^x = 2ⁿ · p(r) with p a degree-7
//   polynomial fit of e^r on |r| ≤ ln2/2 (Cephes' coefficients; ≤ 2 ulp).
// round() is the magic-number trick: adding 1.5·2²³ leaves n in the low
// mantissa bits. 2ⁿ is built in the exponent field: (n + 127) · 2²³.
// x < −87.34 (result below the smallest normal) gives 0, x > 88.72 gives +∞,
// NaN stays NaN.
#pragma once

#include <cstdint>
#include <limits>
#include <xsimd/xsimd.hpp>

#include "urm/kernels/simd.hpp"

namespace urm::detail {

inline fbatch exp_f32(const fbatch& x) {
  using ubatch = xsimd::batch<std::uint32_t>;
  const fbatch magic(12582912.0f);  // 1.5 · 2²³
  const fbatch nf = detail::fma(x, fbatch(1.44269504088896341f), magic) - magic;
  fbatch r = detail::fma(nf, fbatch(-0.693359375f), x);
  r = detail::fma(nf, fbatch(2.12194440e-4f), r);
  // e^r ≈ 1 + r + r²·(1/2 + r·(1/6 + r·(1/24 + …)))
  fbatch p(1.9875691500e-4f);
  p = detail::fma(p, r, fbatch(1.3981999507e-3f));
  p = detail::fma(p, r, fbatch(8.3334519073e-3f));
  p = detail::fma(p, r, fbatch(4.1665795894e-2f));
  p = detail::fma(p, r, fbatch(1.6666665459e-1f));
  p = detail::fma(p, r, fbatch(5.0000001201e-1f));
  p = detail::fma(p, r * r, r + fbatch(1.0f));
  // n as an integer: the low bits of (n + magic) − bits(magic). 2¹²⁸ is not a
  // float, so n = 128 (x ≥ 88.38) scales by 2¹²⁷ and then by 2.
  const auto top = nf > fbatch(127.0f);
  const fbatch n_scaled = xsimd::select(top, nf - fbatch(1.0f), nf);
  // Unsigned lanes: for x far below −87 (or −inf, NaN) n is out of range and
  // the exponent arithmetic wraps, which is defined for unsigned integers
  // (for signed ones it is UB, caught by UBSan where xsimd multiplies lane by
  // lane); those lanes are replaced by the selects below.
  const ubatch n = xsimd::bitwise_cast<ubatch>(n_scaled + magic) - ubatch(0x4B400000u);
  const fbatch scale = xsimd::bitwise_cast<fbatch>((n + ubatch(127u)) * ubatch(1u << 23));
  fbatch y = p * scale;
  y = xsimd::select(top, y * fbatch(2.0f), y);
  y = xsimd::select(x < fbatch(-87.3365447f), fbatch(0.0f), y);
  y = xsimd::select(x > fbatch(88.7228394f), fbatch(std::numeric_limits<float>::infinity()), y);
  return xsimd::select(x != x, x, y);
}

}  // namespace urm::detail
