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
#include "urm/model/model_family.hpp"

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

// Random weights for every tensor the shape's description names
// (model_family.hpp), in its order: embeddings N(0, 1), norms 1 + N(0, 0.1),
// q/k/v N(0, 0.3), o and the MLP N(0, 0.2).
inline LlamaWeights random_weights(TensorStore& store, const LlamaShape& s) {
  return LlamaWeights::from_tensors(backbone_tensors(s.dims()), s.n_layers, [&](const ModelTensor& t) {
    switch (t.role) {
      case TensorRole::Embed: return store.random(t.name, t.shape, 1.0f);
      case TensorRole::AttnNorm:
      case TensorRole::FfnNorm:
      case TensorRole::FinalNorm:
      case TensorRole::QNorm:
      case TensorRole::KNorm: return store.ones_plus_noise(t.name, t.shape[0]);
      case TensorRole::Wq:
      case TensorRole::Wk:
      case TensorRole::Wv: return store.random(t.name, t.shape, 0.3f);
      default: return store.random(t.name, t.shape, 0.2f);
    }
  });
}

}  // namespace urm::test
