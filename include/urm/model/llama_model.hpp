// LlamaModel — the Llama decoder stack (prefill only: a reward model reads a
// whole sequence once and never decodes).
//
// Weights are TensorViews into the memory-mapped checkpoint, used in place
// in their stored dtype (F32/F16/BF16); the seven projections of each layer
// are kernels::Linear, multiplied on the path they were given (exact mode:
// float32 on the stored weights). pack_projections() gives them another path
// once at load (fast mode: see kernels/linear_dispatch.hpp); the rest (norms,
// RoPE, attention, the residual stream) is float32 in every mode.
//
// The forward pass is const and keeps nothing between calls: every buffer it
// writes lives in a LlamaState owned by the caller, so several threads can run
// one model at once, each with its own state. A state's buffers grow to the
// longest sequence it has seen and are then reused (no allocation per layer or
// per call).
//
// The state keeps every layer's K and V, so a prefix already run through the
// model can be reused: run the prefix with Output::None, then for each
// continuation `state.rewind(prefix_len)` and run only the continuation.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "urm/core/error.hpp"
#include "urm/core/mapped_file.hpp"
#include "urm/core/tensor_view.hpp"
#include "urm/core/thread_pool.hpp"
#include "urm/io/checkpoint.hpp"
#include "urm/io/llama_config.hpp"
#include "urm/kernels/activation.hpp"
#include "urm/kernels/attention.hpp"
#include "urm/kernels/embedding.hpp"
#include "urm/kernels/finite.hpp"
#include "urm/kernels/linear.hpp"
#include "urm/kernels/rmsnorm.hpp"
#include "urm/kernels/rope.hpp"

namespace urm {

// The sizes of a Llama decoder, and its RoPE frequencies.
struct LlamaShape {
  std::size_t dim = 0;         // hidden_size
  std::size_t n_layers = 0;    // num_hidden_layers
  std::size_t n_heads = 0;     // num_attention_heads
  std::size_t n_kv_heads = 0;  // num_key_value_heads (GQA: n_heads % n_kv_heads == 0)
  std::size_t head_dim = 0;
  std::size_t ffn_dim = 0;  // intermediate_size
  std::size_t vocab = 0;
  std::size_t max_positions = 0;  // max_position_embeddings
  float norm_eps = 1e-5f;
  std::vector<float> rope_inv_freq;  // [head_dim / 2]

  std::size_t q_dim() const { return n_heads * head_dim; }
  std::size_t kv_dim() const { return n_kv_heads * head_dim; }

  static LlamaShape from_config(const LlamaConfig& c) {
    LlamaShape s;
    s.dim = static_cast<std::size_t>(c.hidden_size);
    s.n_layers = static_cast<std::size_t>(c.num_hidden_layers);
    s.n_heads = static_cast<std::size_t>(c.num_attention_heads);
    s.n_kv_heads = static_cast<std::size_t>(c.num_key_value_heads);
    s.head_dim = static_cast<std::size_t>(c.head_dim);
    s.ffn_dim = static_cast<std::size_t>(c.intermediate_size);
    s.vocab = static_cast<std::size_t>(c.vocab_size);
    s.max_positions = static_cast<std::size_t>(c.max_position_embeddings);
    s.norm_eps = static_cast<float>(c.rms_norm_eps);
    // transformers computes the frequencies in float32 from the float theta.
    if (c.rope.type == "llama3") {
      const kernels::Llama3RopeScaling scaling{
          static_cast<float>(c.rope.factor), static_cast<float>(c.rope.low_freq_factor),
          static_cast<float>(c.rope.high_freq_factor), static_cast<float>(c.rope.original_max_position_embeddings)};
      s.rope_inv_freq = kernels::rope_inv_freq(s.head_dim, static_cast<float>(c.rope.theta), &scaling);
    } else {
      s.rope_inv_freq = kernels::rope_inv_freq(s.head_dim, static_cast<float>(c.rope.theta));
    }
    return s;
  }
};

struct LlamaLayerWeights {
  TensorView attn_norm;     // input_layernorm          [dim]
  kernels::Linear wq;       // self_attn.q_proj         [n_heads·head_dim, dim]
  kernels::Linear wk;       // self_attn.k_proj         [n_kv_heads·head_dim, dim]
  kernels::Linear wv;       // self_attn.v_proj         [n_kv_heads·head_dim, dim]
  kernels::Linear wo;       // self_attn.o_proj         [dim, n_heads·head_dim]
  TensorView ffn_norm;      // post_attention_layernorm [dim]
  kernels::Linear w_gate;   // mlp.gate_proj            [ffn, dim]
  kernels::Linear w_up;     // mlp.up_proj              [ffn, dim]
  kernels::Linear w_down;   // mlp.down_proj            [dim, ffn]
};

struct LlamaWeights {
  TensorView embed;  // model.embed_tokens [vocab, dim]
  std::vector<LlamaLayerWeights> layers;
  // The views point into read-only file maps (from_checkpoint), whose pages
  // may be dropped from the resident set (they fault back in unchanged). Not
  // so for weights in memory of their own: dropping those would zero them.
  bool file_mapped = false;
  TensorView final_norm;  // model.norm [dim]

  // Views of the checkpoint's tensors (the bytes stay in the map; the
  // checkpoint must outlive the weights).
  static LlamaWeights from_checkpoint(const Checkpoint& ckpt, std::size_t n_layers) {
    LlamaWeights w;
    w.embed = ckpt.tensor("model.embed_tokens.weight");
    for (std::size_t l = 0; l < n_layers; ++l) {
      const std::string p = "model.layers." + std::to_string(l) + ".";
      w.layers.push_back({ckpt.tensor(p + "input_layernorm.weight"), ckpt.tensor(p + "self_attn.q_proj.weight"),
                          ckpt.tensor(p + "self_attn.k_proj.weight"), ckpt.tensor(p + "self_attn.v_proj.weight"),
                          ckpt.tensor(p + "self_attn.o_proj.weight"),
                          ckpt.tensor(p + "post_attention_layernorm.weight"), ckpt.tensor(p + "mlp.gate_proj.weight"),
                          ckpt.tensor(p + "mlp.up_proj.weight"), ckpt.tensor(p + "mlp.down_proj.weight")});
    }
    w.final_norm = ckpt.tensor("model.norm.weight");
    w.file_mapped = true;
    return w;
  }
};

// Per-caller activations and the K/V of every layer for the positions run so far.
class LlamaState {
 public:
  // The MLP runs over at most this many rows at a time: its [rows, ffn]
  // buffers are the largest activations (whole, 4k tokens of Llama-3-8B
  // would need 0.45 GB for gate and up). Rows are independent in the MLP, so
  // chunking changes no arithmetic; 1024 rows keep the matmuls at full speed.
  static constexpr std::size_t kMlpRows = 1024;

  // Positions whose K/V are in the cache; the next forward starts here.
  std::size_t n_past() const { return n_past_; }
  // Keep only the first n positions (a shared prefix), drop the rest.
  void rewind(std::size_t n) {
    if (n > n_past_)
      throw Error("LlamaState: cannot rewind to " + std::to_string(n) + " positions, only " + std::to_string(n_past_) +
                  " are cached");
    n_past_ = n;
  }
  void clear() { n_past_ = 0; }

 private:
  friend class LlamaModel;

  // Make room for n_new rows of activations and n_total positions of K/V.
  // K/V rows already cached are kept (std::vector::resize preserves them).
  void reserve(const LlamaShape& s, std::size_t n_new, std::size_t n_total) {
    auto grow = [](std::vector<float>& v, std::size_t n) {
      if (v.size() < n) v.resize(n);
    };
    grow(x, n_new * s.dim);
    grow(xb, n_new * s.dim);
    grow(q, n_new * s.q_dim());
    grow(gate, std::min(n_new, kMlpRows) * s.ffn_dim);
    grow(up, std::min(n_new, kMlpRows) * s.ffn_dim);
    if (k.size() != s.n_layers) {
      k.assign(s.n_layers, {});
      v.assign(s.n_layers, {});
    }
    for (std::size_t l = 0; l < s.n_layers; ++l) {
      grow(k[l], n_total * s.kv_dim());
      grow(v[l], n_total * s.kv_dim());
    }
  }

  std::size_t n_past_ = 0;
  std::vector<float> x;                  // [n, dim]      residual stream
  std::vector<float> xb;                 // [n, dim]      normed input of a block / block output before the residual add
  std::vector<float> q;                  // [n, q_dim]    queries, then in place the attention output
  std::vector<float> gate;               // [kMlpRows, ffn] gate_proj(x), then silu(gate) · up, a chunk of rows
  std::vector<float> up;                 // [kMlpRows, ffn] up_proj(x)
  std::vector<std::vector<float>> k, v;  // per layer [n_past + n, kv_dim], RoPE applied to k
  kernels::LinearInput in;               // the input of the current projections
};

// Which final-norm hidden states forward() returns.
enum class LlamaOutput {
  None,  // nothing (only fill the K/V cache: running a shared prefix)
  Last,  // the last position only (all a reward head needs)
  All,   // every position
};

class LlamaModel {
 public:
  LlamaModel(LlamaShape shape, LlamaWeights weights) : s_(std::move(shape)), w_(std::move(weights)) { check(); }

  static LlamaModel from_checkpoint(const Checkpoint& ckpt, const LlamaConfig& cfg) {
    LlamaShape shape = LlamaShape::from_config(cfg);
    LlamaWeights weights = LlamaWeights::from_checkpoint(ckpt, shape.n_layers);
    return LlamaModel(std::move(shape), std::move(weights));
  }

  const LlamaShape& shape() const { return s_; }
  const LlamaWeights& weights() const { return w_; }

  // Every layer's projections on `path` from now on (fast mode: packed once;
  // the mapped pages they were packed from then leave the resident set).
  void pack_projections(ThreadPool& pool, const kernels::LinearPath& path) {
    for (LlamaLayerWeights& w : w_.layers)
      for (kernels::Linear* p : projections(w)) {
        *p = kernels::pack_linear(*p, path, pool);
        if (p->own_bytes() > 0) release_resident(p->stored());
      }
    path_ = path;
  }
  // The path of the projections (kernels::kStoredPath until pack_projections).
  const kernels::LinearPath& path() const { return path_; }

  // Runs tokens `ids` at positions st.n_past() … st.n_past() + n − 1, after the
  // positions already in st. Returns the final-norm hidden states asked for
  // ([1, dim] for Last, [n, dim] for All, empty for None), a view into st valid
  // until its next use.
  //
  // trace (optional, for checking against a reference layer by layer): gets the
  // last token's row of the embedding output, of each layer's output and of the
  // final norm (n_layers + 2 rows of dim floats).
  std::span<const float> forward(std::span<const std::int32_t> ids, LlamaState& st, LlamaOutput output,
                                 ThreadPool& pool, std::vector<std::vector<float>>* trace = nullptr) const {
    const std::size_t n = ids.size();
    const std::size_t past = st.n_past();
    if (n == 0) throw Error("LlamaModel::forward: no tokens");
    if (past + n > s_.max_positions)
      throw Error("LlamaModel::forward: " + std::to_string(past + n) +
                  " positions, more than max_position_embeddings (" + std::to_string(s_.max_positions) + ")");
    const std::size_t D = s_.dim, Q = s_.q_dim(), KV = s_.kv_dim(), F = s_.ffn_dim, L = s_.n_layers;
    const std::size_t T = past + n;  // positions in the cache after this call
    st.reserve(s_, n, T);
    if (trace) trace->clear();
    auto record = [&](const float* rows, std::size_t last) {
      if (trace) trace->emplace_back(rows + last * D, rows + (last + 1) * D);
    };

    // x = embed_tokens[ids]                                     x: [n, D]
    embed(ids, st.x.data());
    record(st.x.data(), n - 1);

    kernels::LinearInput& in = st.in;
    for (std::size_t l = 0; l < L; ++l) {
      const LlamaLayerWeights& w = w_.layers[l];
      float* kc = st.k[l].data();  // [T, KV]
      float* vc = st.v[l].data();  // [T, KV]
      // In the last layer only the rows that are returned need computing past
      // K/V: r0 … n − 1 (for None, no row at all).
      const bool last_layer = l + 1 == L;
      const std::size_t r0 = !last_layer || output == LlamaOutput::All ? 0 : n - 1;
      const std::size_t m = n - r0;  // rows carried through this layer

      // --- attention block ---
      // xb = rmsnorm(x) · attn_norm                             xb: [n, D]
      kernels::rmsnorm(st.x.data(), w.attn_norm, s_.norm_eps, st.xb.data(), n, D);
      // k, v for the new positions, written straight into the cache
      //   k = xb Wkᵀ, v = xb Wvᵀ                               [n, KV] at rows past …
      in.set(st.xb.data(), n, D);
      kernels::linear(in, w.wk, kc + past * KV, pool);
      kernels::linear(in, w.wv, vc + past * KV, pool);
      kernels::rope(kc + past * KV, n, s_.n_kv_heads, s_.head_dim, past, s_.rope_inv_freq.data());
      if (last_layer && output == LlamaOutput::None) break;  // prefix: its K/V are all that is kept
      //   q = xb Wqᵀ (rows r0 …; for r0 = 0 the input of k and v)   q: [m, Q]
      if (r0 != 0) in.set(st.xb.data() + r0 * D, m, D);
      kernels::linear(in, w.wq, st.q.data(), pool);
      kernels::rope(st.q.data(), m, s_.n_heads, s_.head_dim, past + r0, s_.rope_inv_freq.data());
      // att = softmax(q kᵀ / √head_dim, causal) v  over all T keys, into q   att: [m, Q]
      float* att = st.q.data();
      kernels::causal_attention(st.q.data(), kc, vc, att, m, T, s_.n_heads, s_.n_kv_heads, s_.head_dim, pool);
      // x += att Woᵀ                                            x: [m, D] (rows r0 …)
      float* x = st.x.data() + r0 * D;
      in.set(att, m, Q);
      kernels::linear(in, w.wo, st.xb.data(), pool);
      kernels::add_inplace(x, st.xb.data(), m * D);

      // --- MLP block, on chunks of at most kMlpRows rows c0 … c0 + mc − 1 ---
      for (std::size_t c0 = 0; c0 < m; c0 += LlamaState::kMlpRows) {
        const std::size_t mc = std::min(LlamaState::kMlpRows, m - c0);
        float* xc = x + c0 * D;
        float* xbc = st.xb.data() + c0 * D;
        // xb = rmsnorm(x) · ffn_norm                            xb: [mc, D]
        kernels::rmsnorm(xc, w.ffn_norm, s_.norm_eps, xbc, mc, D);
        // gate = silu(xb Wgᵀ) · (xb Wuᵀ)                        gate, up: [mc, F]
        in.set(xbc, mc, D);
        kernels::linear(in, w.w_gate, st.gate.data(), pool);
        kernels::linear(in, w.w_up, st.up.data(), pool);
        kernels::silu_mul(st.gate.data(), st.up.data(), mc * F);
        // x += gate Wdᵀ                                         x: [mc, D]
        in.set(st.gate.data(), mc, F);
        kernels::linear(in, w.w_down, xbc, pool);
        kernels::add_inplace(xc, xbc, mc * D);
      }
      require_finite(st.x.data() + (n - 1) * D, l, ids, past);
      record(st.x.data(), n - 1);
    }
    st.n_past_ = T;
    if (output == LlamaOutput::None) return {};

    // h = rmsnorm(x) · final_norm (rows returned only)           h: [1 or n, D]
    const std::size_t r0 = output == LlamaOutput::All ? 0 : n - 1;
    const std::size_t m = n - r0;
    kernels::rmsnorm(st.x.data() + r0 * D, w_.final_norm, s_.norm_eps, st.xb.data(), m, D);
    require_finite(st.xb.data() + (m - 1) * D, L, ids, past);
    record(st.xb.data(), m - 1);
    return {st.xb.data(), m * D};
  }

 private:
  static std::array<kernels::Linear*, 7> projections(LlamaLayerWeights& w) {
    return {&w.wq, &w.wk, &w.wv, &w.wo, &w.w_gate, &w.w_up, &w.w_down};
  }

  // Drops t's pages from the resident set once they are not needed there (a
  // packed copy replaced them): only if the weights lie in read-only file
  // maps, whose pages fault back in unchanged (see release_resident_pages).
  void release_resident(const TensorView& t) const {
    if (w_.file_mapped) release_resident_pages(t.data, t.nbytes);
  }

  // x [n, D] = embed_tokens[ids]. Only these rows of the table are in use:
  // what fault-around mapped next to them (mapped_file.hpp) leaves the
  // resident set again, every 256 rows, so at most 16 MiB of it is resident
  // at any time.
  void embed(std::span<const std::int32_t> ids, float* x) const {
    const std::size_t n = ids.size(), D = s_.dim;
    for (std::size_t t0 = 0; t0 < n; t0 += 256) {
      const std::size_t nt = std::min<std::size_t>(256, n - t0);
      kernels::embedding(w_.embed, ids.data() + t0, nt, x + t0 * D, t0);
      if (w_.file_mapped)
        release_resident_rows(w_.embed.data, w_.embed.nbytes / s_.vocab, s_.vocab, ids.data() + t0, nt);
    }
  }

  // The last token's hidden state after layer `layer` (n_layers: after the
  // final norm) must be finite: a NaN or infinite weight, or activations
  // that overflow float32, would otherwise end in a silent NaN score. The
  // check reads dim floats per layer; only when it fails are the weights the
  // layer read searched for the cause (ids: the tokens of this call, at
  // positions past …).
  void require_finite(const float* row, std::size_t layer, std::span<const std::int32_t> ids, std::size_t past) const {
    if (kernels::all_finite(row, s_.dim)) return;
    const bool final_norm = layer == s_.n_layers;
    const std::string what = (final_norm ? std::string("final norm") : "layer " + std::to_string(layer)) +
                             ": the hidden state of the last token is not finite";
    std::vector<const TensorView*> read = {&w_.final_norm};
    if (!final_norm) {
      const LlamaLayerWeights& w = w_.layers[layer];
      read = {&w.attn_norm, &w.wq.stored(),     &w.wk.stored(),   &w.wv.stored(),    &w.wo.stored(),
              &w.ffn_norm,  &w.w_gate.stored(), &w.w_up.stored(), &w.w_down.stored()};
    }
    for (const TensorView* t : read)
      if (const auto bad = kernels::first_non_finite(*t))
        throw Error(what + ": " + kernels::describe_non_finite(*t, *bad));
    if (layer == 0)
      for (std::size_t i = 0; i < ids.size(); ++i) {
        const auto id = static_cast<std::size_t>(ids[i]);
        if (const auto bad = kernels::first_non_finite(w_.embed, id, id + 1))
          throw Error(what + ": " + kernels::describe_non_finite(w_.embed, *bad) + " (token " + std::to_string(id) +
                      " at position " + std::to_string(past + i) + ")");
      }
    throw Error(what + " (no weight it reads is NaN or infinite: the activations overflowed float32)");
  }

  static void expect_shape(const kernels::Linear& t, std::vector<std::int64_t> shape) {
    expect_shape(t.stored(), std::move(shape));
  }
  static void expect_shape(const TensorView& t, std::vector<std::int64_t> shape) {
    if (t.shape != shape)
      throw Error("LlamaModel: tensor " + t.name + " has shape " + shape_string(t.shape) + ", expected " +
                  shape_string(shape));
  }

  void check() const {
    if (s_.dim == 0 || s_.n_layers == 0 || s_.n_heads == 0 || s_.n_kv_heads == 0 || s_.head_dim == 0 ||
        s_.ffn_dim == 0 || s_.vocab == 0 || s_.max_positions == 0)
      throw Error("LlamaModel: every size must be positive");
    if (s_.n_heads % s_.n_kv_heads != 0)
      throw Error("LlamaModel: num_attention_heads (" + std::to_string(s_.n_heads) +
                  ") is not a multiple of num_key_value_heads (" + std::to_string(s_.n_kv_heads) + ")");
    if (s_.head_dim % 2 != 0) throw Error("LlamaModel: head_dim " + std::to_string(s_.head_dim) + " is odd");
    if (s_.rope_inv_freq.size() != s_.head_dim / 2)
      throw Error("LlamaModel: " + std::to_string(s_.rope_inv_freq.size()) +
                  " RoPE frequencies, expected head_dim / 2 = " + std::to_string(s_.head_dim / 2));
    // (rope_theta as float32 must be a positive normal number: 1e-300 is 0,
    // whose frequencies 1 / 0^e are infinite and every rotation NaN.)
    for (std::size_t i = 0; i < s_.rope_inv_freq.size(); ++i)
      if (!std::isfinite(s_.rope_inv_freq[i]))
        throw Error("LlamaModel: RoPE frequency " + std::to_string(i) + " is " +
                    (std::isnan(s_.rope_inv_freq[i]) ? "nan" : "inf") +
                    ", expected a finite value (is rope_theta outside the float32 range?)");
    if (w_.layers.size() != s_.n_layers)
      throw Error("LlamaModel: " + std::to_string(w_.layers.size()) + " layers of weights, expected " +
                  std::to_string(s_.n_layers));
    using I = std::int64_t;
    const I D = static_cast<I>(s_.dim), Q = static_cast<I>(s_.q_dim()), KV = static_cast<I>(s_.kv_dim()),
            F = static_cast<I>(s_.ffn_dim);
    expect_shape(w_.embed, {static_cast<I>(s_.vocab), D});
    expect_shape(w_.final_norm, {D});
    for (const auto& w : w_.layers) {
      expect_shape(w.attn_norm, {D});
      expect_shape(w.wq, {Q, D});
      expect_shape(w.wk, {KV, D});
      expect_shape(w.wv, {KV, D});
      expect_shape(w.wo, {D, Q});
      expect_shape(w.ffn_norm, {D});
      expect_shape(w.w_gate, {F, D});
      expect_shape(w.w_up, {F, D});
      expect_shape(w.w_down, {D, F});
    }
  }

  LlamaShape s_;
  LlamaWeights w_;
  kernels::LinearPath path_ = kernels::kStoredPath;  // of every projection
};

}  // namespace urm
