// Small random Llama models built in memory, for tests that need no checkpoint.
#pragma once

#include <cstdint>
#include <deque>
#include <random>
#include <string>
#include <vector>

#include "urm/core/tensor_view.hpp"
#include "urm/kernels/rope.hpp"
#include "urm/model/llama_model.hpp"

namespace urm::test {

// Owns float32 tensors and hands out views of them.
struct TensorStore {
  std::deque<std::vector<float>> buffers;  // deque: views stay valid as it grows
  std::mt19937 rng{1234};

  TensorView random(const std::string& name, std::vector<std::int64_t> shape, float scale) {
    std::int64_t n = 1;
    for (auto d : shape) n *= d;
    auto& buf = buffers.emplace_back(static_cast<std::size_t>(n));
    std::normal_distribution<float> normal(0.0f, scale);
    for (auto& x : buf) x = normal(rng);
    return view(name, std::move(shape), buf);
  }
  TensorView ones_plus_noise(const std::string& name, std::int64_t n) {
    TensorView t = random(name, {n}, 0.1f);
    auto& buf = buffers.back();
    for (auto& x : buf) x += 1.0f;
    return t;
  }
  TensorView from(const std::string& name, std::vector<std::int64_t> shape, std::vector<float> values) {
    auto& buf = buffers.emplace_back(std::move(values));
    return view(name, std::move(shape), buf);
  }
  static TensorView view(const std::string& name, std::vector<std::int64_t> shape, const std::vector<float>& buf) {
    TensorView t;
    t.name = name;
    t.dtype = DType::F32;
    t.shape = std::move(shape);
    t.data = reinterpret_cast<const std::byte*>(buf.data());
    t.nbytes = buf.size() * sizeof(float);
    return t;
  }
};

inline LlamaShape small_shape() {
  LlamaShape s;
  s.dim = 24;
  s.n_layers = 3;
  s.n_heads = 4;
  s.n_kv_heads = 2;
  s.head_dim = 6;
  s.ffn_dim = 40;
  s.vocab = 50;
  s.max_positions = 64;
  s.rope_inv_freq = kernels::rope_inv_freq(s.head_dim, 10000.0f);
  return s;
}

inline LlamaWeights random_weights(TensorStore& store, const LlamaShape& s) {
  using I = std::int64_t;
  const I D = static_cast<I>(s.dim), Q = static_cast<I>(s.q_dim()), KV = static_cast<I>(s.kv_dim()),
          F = static_cast<I>(s.ffn_dim);
  LlamaWeights w;
  w.embed = store.random("model.embed_tokens.weight", {static_cast<I>(s.vocab), D}, 1.0f);
  for (std::size_t l = 0; l < s.n_layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    LlamaLayerWeights lw;
    lw.attn_norm = store.ones_plus_noise(p + "input_layernorm.weight", D);
    lw.wq = store.random(p + "self_attn.q_proj.weight", {Q, D}, 0.3f);
    lw.wk = store.random(p + "self_attn.k_proj.weight", {KV, D}, 0.3f);
    lw.wv = store.random(p + "self_attn.v_proj.weight", {KV, D}, 0.3f);
    lw.wo = store.random(p + "self_attn.o_proj.weight", {D, Q}, 0.2f);
    lw.ffn_norm = store.ones_plus_noise(p + "post_attention_layernorm.weight", D);
    lw.w_gate = store.random(p + "mlp.gate_proj.weight", {F, D}, 0.2f);
    lw.w_up = store.random(p + "mlp.up_proj.weight", {F, D}, 0.2f);
    lw.w_down = store.random(p + "mlp.down_proj.weight", {D, F}, 0.2f);
    w.layers.push_back(std::move(lw));
  }
  w.final_norm = store.ones_plus_noise("model.norm.weight", D);
  return w;
}

}  // namespace urm::test
