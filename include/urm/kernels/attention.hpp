// Causal grouped-query attention with a numerically stable softmax.
//
//   q   : [n_q, n_heads, D]        queries at positions n_kv − n_q … n_kv − 1
//   k,v : [n_kv, n_kv_heads, D]    keys/values at positions 0 … n_kv − 1
//   out : [n_q, n_heads, D]
// Head h reads kv head h / (n_heads / n_kv_heads). Query t sees keys
// 0 … (n_kv − n_q + t):  out = softmax(q·kᵀ / √D) · v.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <vector>

#include "urm/core/thread_pool.hpp"

namespace urm::kernels {

inline void causal_attention(const float* q, const float* k, const float* v, float* out, std::size_t n_q,
                             std::size_t n_kv, std::size_t n_heads, std::size_t n_kv_heads, std::size_t head_dim,
                             ThreadPool& pool) {
  const std::size_t group = n_heads / n_kv_heads;
  const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
  const std::size_t past = n_kv - n_q;
  pool.parallel_for(n_q * n_heads, [&](std::size_t task) {
    const std::size_t t = task / n_heads, h = task % n_heads, kh = h / group;
    const float* qv = q + (t * n_heads + h) * head_dim;
    const std::size_t len = past + t + 1;
    std::vector<float> s(len);
    float mx = -std::numeric_limits<float>::infinity();
    for (std::size_t j = 0; j < len; ++j) {
      const float* kv = k + (j * n_kv_heads + kh) * head_dim;
      float d = 0.0f;
      for (std::size_t i = 0; i < head_dim; ++i) d += qv[i] * kv[i];
      s[j] = d * scale;
      mx = std::max(mx, s[j]);
    }
    float sum = 0.0f;
    for (auto& x : s) sum += (x = std::exp(x - mx));
    float* o = out + (t * n_heads + h) * head_dim;
    std::fill(o, o + head_dim, 0.0f);
    for (std::size_t j = 0; j < len; ++j) {
      const float p = s[j] / sum;
      const float* vv = v + (j * n_kv_heads + kh) * head_dim;
      for (std::size_t i = 0; i < head_dim; ++i) o[i] += p * vv[i];
    }
  });
}

}  // namespace urm::kernels
