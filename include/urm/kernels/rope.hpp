// Rotary position embedding (RoPE), half-split form as in HF `rotate_half`:
//   for i < D/2, with θ = pos · inv_freq[i]:
//     x'[i]       = x[i] cos θ − x[i + D/2] sin θ
//     x'[i + D/2] = x[i + D/2] cos θ + x[i] sin θ
#pragma once

#include <cmath>
#include <cstddef>
#include <numbers>
#include <vector>

namespace urm::kernels {

// Llama-3 frequency scaling ("rope_type": "llama3").
struct Llama3RopeScaling {
  float factor = 8.0f;
  float low_freq_factor = 1.0f;
  float high_freq_factor = 4.0f;
  float original_max_position_embeddings = 8192.0f;
};

// inv_freq[i] = theta^(−2i/D), i < D/2, computed in float32 as transformers
// does; with Llama-3 scaling, long wavelengths are divided by `factor` and the
// band between low and high frequency is interpolated smoothly.
inline std::vector<float> rope_inv_freq(std::size_t head_dim, float theta, const Llama3RopeScaling* scaling = nullptr) {
  std::vector<float> inv(head_dim / 2);
  for (std::size_t i = 0; i < inv.size(); ++i) {
    const float expo = static_cast<float>(2 * i) / static_cast<float>(head_dim);
    inv[i] = 1.0f / std::pow(theta, expo);
  }
  if (scaling != nullptr) {
    const float low_wavelen = scaling->original_max_position_embeddings / scaling->low_freq_factor;
    const float high_wavelen = scaling->original_max_position_embeddings / scaling->high_freq_factor;
    for (float& f : inv) {
      const float wavelen = 2.0f * std::numbers::pi_v<float> / f;
      if (wavelen > low_wavelen) {
        f = f / scaling->factor;
      } else if (wavelen >= high_wavelen) {
        const float smooth = (scaling->original_max_position_embeddings / wavelen - scaling->low_freq_factor) /
                             (scaling->high_freq_factor - scaling->low_freq_factor);
        f = (1.0f - smooth) * f / scaling->factor + smooth * f;
      }
    }
  }
  return inv;
}

//   x : [rows, n_heads, head_dim] float32; row t is at position pos0 + t.
inline void rope(float* x, std::size_t rows, std::size_t n_heads, std::size_t head_dim, std::size_t pos0,
                 const float* inv_freq) {
  const std::size_t half = head_dim / 2;
  for (std::size_t t = 0; t < rows; ++t) {
    const float pos = static_cast<float>(pos0 + t);
    for (std::size_t i = 0; i < half; ++i) {
      const float angle = pos * inv_freq[i];
      const float c = std::cos(angle), s = std::sin(angle);
      for (std::size_t h = 0; h < n_heads; ++h) {
        float* v = x + (t * n_heads + h) * head_dim;
        const float a = v[i], b = v[i + half];
        v[i] = a * c - b * s;
        v[i + half] = b * c + a * s;
      }
    }
  }
}

}  // namespace urm::kernels
