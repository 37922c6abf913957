// Rotary position embedding (RoPE), half-split form as in HF `rotate_half`:
//   for i < D/2, with θ = pos · inv_freq[i]:
//     x'[i]       = x[i] cos θ − x[i + D/2] sin θ
//     x'[i + D/2] = x[i + D/2] cos θ + x[i] sin θ
#pragma once

#include <cmath>
#include <cstddef>
#include <numbers>
#include <string>
#include <vector>
#include <xsimd/xsimd.hpp>

#include "urm/core/error.hpp"
#include "urm/kernels/simd.hpp"
#include "urm/kernels/scratch.hpp"

namespace urm::detail {

// The value of v rounded to float32 and kept so: stops the compiler from
// fusing a product into a following add (-ffp-contract), which would round
// differently from transformers' separate float32 tensor operations.
inline float kept_f32(float v) {
  volatile float r = v;
  return r;
}

struct RopeScratchTag {};

}  // namespace urm::detail

namespace urm::kernels {

// Llama-3 frequency scaling ("rope_type": "llama3").
struct Llama3RopeScaling {
  float factor = 8.0f;
  float low_freq_factor = 1.0f;
  float high_freq_factor = 4.0f;
  float original_max_position_embeddings = 8192.0f;
};

// inv_freq[i] = 1 / theta^(2i/D), i < D/2, in float32 with the operations of
// transformers' `_compute_default_rope_parameters`. With Llama-3 scaling,
// `_compute_llama3_parameters`, where a Python scalar over a tensor is
// `reciprocal(tensor) · float32(scalar)` (Tensor.__rtruediv__):
//   wavelen = (1 / f) · float32(2π)
//   wavelen > original / low_freq_factor      → f / factor
//   original / high_freq_factor ≤ wavelen ≤ … → (1 − s) · f / factor + s · f,
//       s = ((1 / wavelen) · original − low_freq_factor) / (high − low)
//   otherwise                                  → f
// The remaining difference is theta^e itself: torch uses SLEEF's powf and
// cos/sin (≤ 1 ulp), this uses the C library's.
inline std::vector<float> rope_inv_freq(std::size_t head_dim, float theta, const Llama3RopeScaling* scaling = nullptr) {
  const auto kept = detail::kept_f32;
  std::vector<float> inv(head_dim / 2);
  for (std::size_t i = 0; i < inv.size(); ++i) {
    const float expo = static_cast<float>(2 * i) / static_cast<float>(head_dim);
    inv[i] = 1.0f / std::pow(theta, expo);
  }
  if (scaling != nullptr) {
    const float original = scaling->original_max_position_embeddings;
    // Python computes these two in double; they are compared with float32 tensors.
    const auto low_wavelen = static_cast<float>(static_cast<double>(original) / scaling->low_freq_factor);
    const auto high_wavelen = static_cast<float>(static_cast<double>(original) / scaling->high_freq_factor);
    const auto two_pi = static_cast<float>(2.0 * std::numbers::pi);
    const auto band = static_cast<float>(static_cast<double>(scaling->high_freq_factor) - scaling->low_freq_factor);
    for (float& f : inv) {
      const float wavelen = kept(kept(1.0f / f) * two_pi);
      if (wavelen > low_wavelen) {
        f = f / scaling->factor;
      } else if (!(wavelen < high_wavelen)) {
        const float smooth = kept(kept(kept(1.0f / wavelen) * original) - scaling->low_freq_factor) / band;
        f = kept(kept(kept(1.0f - smooth) * f) / scaling->factor) + kept(smooth * f);
      }
    }
  }
  return inv;
}

//   x : [rows, n_heads, head_dim] float32; row t is at position pos0 + t.
// cos θ and sin θ are computed once per row and position (θ = float32(pos) ·
// inv_freq[i], as transformers' outer product), then applied to every head.
inline void rope(float* x, std::size_t rows, std::size_t n_heads, std::size_t head_dim, std::size_t pos0,
                 const float* inv_freq) {
  using detail::fbatch;
  if (head_dim % 2 != 0) throw Error("rope: head_dim " + std::to_string(head_dim) + " is odd, expected even");
  constexpr std::size_t L = detail::simd_width;
  const std::size_t half = head_dim / 2, hv = half - half % L;
  float* cos_t = detail::thread_scratch<detail::RopeScratchTag>(2 * half);  // [half] cos θ, then [half] sin θ
  float* sin_t = cos_t + half;
  for (std::size_t t = 0; t < rows; ++t) {
    const auto pos = static_cast<float>(pos0 + t);
    for (std::size_t i = 0; i < half; ++i) {
      const float angle = pos * inv_freq[i];
      cos_t[i] = std::cos(angle);
      sin_t[i] = std::sin(angle);
    }
    for (std::size_t h = 0; h < n_heads; ++h) {
      float* v = x + (t * n_heads + h) * head_dim;
      for (std::size_t i = 0; i < hv; i += L) {
        const fbatch a = fbatch::load_unaligned(v + i), b = fbatch::load_unaligned(v + half + i);
        const fbatch c = fbatch::load_unaligned(cos_t + i), s = fbatch::load_unaligned(sin_t + i);
        (a * c - b * s).store_unaligned(v + i);
        (b * c + a * s).store_unaligned(v + half + i);
      }
      for (std::size_t i = hv; i < half; ++i) {
        const float a = v[i], b = v[i + half];
        v[i] = a * cos_t[i] - b * sin_t[i];
        v[i + half] = b * cos_t[i] + a * sin_t[i];
      }
    }
  }
}

}  // namespace urm::kernels
