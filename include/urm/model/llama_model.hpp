// LlamaModel — the Llama decoder stack (prefill only: a reward model reads a
// whole sequence once and never decodes), and Qwen3's, which is the same plus
// an RMSNorm over each query and key head (q_norm, k_norm) before RoPE.
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
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <type_traits>
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
#include "urm/kernels/int8_float_channels.hpp"
#include "urm/kernels/linear.hpp"
#include "urm/kernels/rmsnorm.hpp"
#include "urm/kernels/rope.hpp"
#include "urm/model/model_family.hpp"

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
  bool qk_norm = false;              // Qwen3: RMSNorm of every query and key head
  std::vector<float> rope_inv_freq;  // [head_dim / 2]

  std::size_t q_dim() const { return n_heads * head_dim; }
  std::size_t kv_dim() const { return n_kv_heads * head_dim; }

  // The sizes that decide the tensors (model_family.hpp).
  BackboneDims dims() const {
    const auto i = [](std::size_t v) { return static_cast<std::int64_t>(v); };
    return {i(vocab), i(dim), i(n_layers), i(n_heads), i(n_kv_heads), i(head_dim), i(ffn_dim), qk_norm};
  }

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
    s.qk_norm = backbone_dims(c).qk_norm;
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

// The weights of one layer (their names and shapes: model_family.hpp).
struct LlamaLayerWeights {
  TensorView attn_norm;    // input_layernorm          [dim]
  kernels::Linear wq;      // self_attn.q_proj         [n_heads·head_dim, dim]
  kernels::Linear wk;      // self_attn.k_proj         [n_kv_heads·head_dim, dim]
  kernels::Linear wv;      // self_attn.v_proj         [n_kv_heads·head_dim, dim]
  kernels::Linear wo;      // self_attn.o_proj         [dim, n_heads·head_dim]
  TensorView ffn_norm;     // post_attention_layernorm [dim]
  kernels::Linear w_gate;  // mlp.gate_proj            [ffn, dim]
  kernels::Linear w_up;    // mlp.up_proj              [ffn, dim]
  kernels::Linear w_down;  // mlp.down_proj            [dim, ffn]
  TensorView q_norm;       // self_attn.q_norm         [head_dim] (Qwen3; else empty)
  TensorView k_norm;       // self_attn.k_norm         [head_dim] (Qwen3; else empty)
};

struct LlamaWeights {
  TensorView embed;  // model.embed_tokens [vocab, dim]
  std::vector<LlamaLayerWeights> layers;
  // The views point into read-only file maps (from_checkpoint), whose pages
  // may be dropped from the resident set (they fault back in unchanged). Not
  // so for weights in memory of their own: dropping those would zero them.
  bool file_mapped = false;
  TensorView final_norm;  // model.norm [dim]

  // Calls f on the member that holds the weight of a backbone role (a
  // TensorView, or the kernels::Linear of a projection); false for head roles.
  template <class Self, class F>
  static bool visit_slot(Self& w, TensorRole role, std::size_t layer, F&& f) {
    if (role == TensorRole::Embed) return f(w.embed), true;
    if (role == TensorRole::FinalNorm) return f(w.final_norm), true;
    if (layer >= w.layers.size()) return false;
    auto& l = w.layers[layer];
    switch (role) {
      case TensorRole::AttnNorm: return f(l.attn_norm), true;
      case TensorRole::Wq: return f(l.wq), true;
      case TensorRole::Wk: return f(l.wk), true;
      case TensorRole::Wv: return f(l.wv), true;
      case TensorRole::Wo: return f(l.wo), true;
      case TensorRole::QNorm: return f(l.q_norm), true;
      case TensorRole::KNorm: return f(l.k_norm), true;
      case TensorRole::FfnNorm: return f(l.ffn_norm), true;
      case TensorRole::WGate: return f(l.w_gate), true;
      case TensorRole::WUp: return f(l.w_up), true;
      case TensorRole::WDown: return f(l.w_down), true;
      default: return false;
    }
  }
  // The stored weight of a backbone role (nullptr for head roles).
  const TensorView* slot(TensorRole role, std::size_t layer) const {
    const TensorView* found = nullptr;
    visit_slot(*this, role, layer, [&](const auto& m) {
      if constexpr (std::is_same_v<std::decay_t<decltype(m)>, kernels::Linear>)
        found = &m.stored();
      else
        found = &m;
    });
    return found;
  }

  // The backbone tensors of a description, each view made by `view(tensor)`.
  template <class View>
  static LlamaWeights from_tensors(const ModelTensors& tensors, std::size_t n_layers, View&& view) {
    LlamaWeights w;
    w.layers.resize(n_layers);
    for (const ModelTensor& t : tensors)
      visit_slot(w, t.role, t.index, [&](auto& member) { member = view(t); });
    return w;
  }

  // Views of the checkpoint's tensors (the bytes stay in the map; the
  // checkpoint must outlive the weights).
  static LlamaWeights from_checkpoint(const Checkpoint& ckpt, const BackboneDims& dims) {
    LlamaWeights w = from_tensors(backbone_tensors(dims), static_cast<std::size_t>(dims.layers),
                                  [&](const ModelTensor& t) { return ckpt.tensor(t.name); });
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

  // --- K/V rows out and back in, for a prefix cache (serve/prefix_cache.hpp) ---
  // A "K/V block" of n positions is n_layers · 2 · n · kv_dim floats, laid out
  // [layer][K, then V][position][kv_dim] (K with RoPE applied, as the cache
  // holds it). The forward pass after append_kv reads exactly the floats a
  // forward pass over those positions wrote, so what follows is unchanged.

  // Floats of one position's K and V over all layers.
  static std::size_t kv_floats_per_position(const LlamaShape& s) { return 2 * s.n_layers * s.kv_dim(); }

  // The K/V block of positions [begin, begin + n), all of them already run.
  std::vector<float> copy_kv(const LlamaShape& s, std::size_t begin, std::size_t n) const {
    if (begin + n > n_past_)
      throw Error("LlamaState::copy_kv: positions " + std::to_string(begin) + " to " + std::to_string(begin + n) +
                  " asked for, only " + std::to_string(n_past_) + " are cached");
    const std::size_t KV = s.kv_dim();
    std::vector<float> block(s.n_layers * 2 * n * KV);
    for (std::size_t l = 0; l < s.n_layers; ++l) {
      std::copy_n(k[l].data() + begin * KV, n * KV, block.data() + (2 * l) * n * KV);
      std::copy_n(v[l].data() + begin * KV, n * KV, block.data() + (2 * l + 1) * n * KV);
    }
    return block;
  }

  // Appends positions [first, first + n) of a K/V block of `rows` positions
  // after the n_past() positions already here (n_past() grows by n).
  void append_kv(const LlamaShape& s, std::span<const float> block, std::size_t rows, std::size_t first,
                 std::size_t n) {
    const std::size_t KV = s.kv_dim();
    if (block.size() != s.n_layers * 2 * rows * KV || first + n > rows)
      throw Error("LlamaState::append_kv: a block of " + std::to_string(block.size()) + " floats for " +
                  std::to_string(rows) + " positions, rows " + std::to_string(first) + " to " +
                  std::to_string(first + n) + " asked for");
    if (n_past_ + n > s.max_positions)
      throw Error("LlamaState::append_kv: " + std::to_string(n_past_ + n) +
                  " positions, more than max_position_embeddings (" + std::to_string(s.max_positions) + ")");
    reserve(s, 0, n_past_ + n);
    for (std::size_t l = 0; l < s.n_layers; ++l) {
      std::copy_n(block.data() + ((2 * l) * rows + first) * KV, n * KV, k[l].data() + n_past_ * KV);
      std::copy_n(block.data() + ((2 * l + 1) * rows + first) * KV, n * KV, v[l].data() + n_past_ * KV);
    }
    n_past_ += n;
  }

  // Called after each projection with its weight, its input x [m, k] and its
  // output y [m, n] (calibration: LlamaModel::pack_projections); unset in
  // normal use.
  std::function<void(const kernels::Linear&, const kernels::LinearInput&, const float*)> on_projection;

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
  Last,  // the last position only (what most reward heads read)
  All,   // every position
};
// (Any other set of positions: forward() with a list of rows.)

class LlamaModel {
 public:
  // Weights of the shape's tensors (model_family.hpp); each is checked.
  LlamaModel(LlamaShape shape, LlamaWeights weights) : s_(std::move(shape)), w_(std::move(weights)) { check(); }

  // The decoder of a checkpoint, validated first (validate_checkpoint).
  static LlamaModel from_checkpoint(const Checkpoint& ckpt, const LlamaConfig& cfg) {
    validate_checkpoint(ckpt, cfg);
    return from_validated_checkpoint(ckpt, cfg);
  }
  // The decoder of a checkpoint validate_checkpoint has accepted with this config.
  static LlamaModel from_validated_checkpoint(const Checkpoint& ckpt, const LlamaConfig& cfg) {
    LlamaShape shape = LlamaShape::from_config(cfg);
    LlamaWeights weights = LlamaWeights::from_checkpoint(ckpt, shape.dims());
    return LlamaModel(std::move(shape), std::move(weights), Validated{});
  }

  const LlamaShape& shape() const { return s_; }
  const LlamaWeights& weights() const { return w_; }

  // Every layer's projections on `path` from now on (fast mode: packed once;
  // the mapped pages they were packed from then leave the resident set).
  // Int8 paths first run a calibration pass on the current path (exact, on a
  // freshly loaded model) to find each projection's float channels
  // (kernels/int8_float_channels.hpp).
  void pack_projections(ThreadPool& pool, const kernels::LinearPath& path) {
    std::map<std::string, kernels::Int8FloatChannels> float_channels;
    if (path.kind == kernels::LinearKind::PackedInt8) float_channels = calibrate_float_channels(pool);
    for (LlamaLayerWeights& w : w_.layers)
      for (kernels::Linear* p : projections(w)) {
        const auto f = float_channels.find(p->name());
        *p = kernels::pack_linear(*p, path, pool, f == float_channels.end() ? kernels::Int8FloatChannels{} : f->second);
        if (p->own_bytes() > 0) release_resident(p->stored());
      }
    path_ = path;
  }

  // Tokens of the calibration pass: kCalibrationTokens ids spread over the
  // vocabulary by a fixed stride (no tokenizer at this layer). Massive
  // activations sit in fixed channels, whichever tokens show them (the first
  // position always does: Sun et al. 2024), so any text finds the channels.
  static constexpr std::size_t kCalibrationTokens = 64;

  // Per projection (by tensor name), its float channels: the
  // kernels::select_float_channels of max |x| per input channel and of max
  // |y| per output channel over one forward pass of the calibration tokens.
  // Each weight's pages leave the resident set once it has been multiplied,
  // so the pass does not hold the whole checkpoint in memory before packing.
  std::map<std::string, kernels::Int8FloatChannels> calibrate_float_channels(ThreadPool& pool) const {
    const std::size_t n = std::min(kCalibrationTokens, s_.max_positions);
    std::vector<std::int32_t> ids(n);
    for (std::size_t t = 0; t < n; ++t) ids[t] = static_cast<std::int32_t>((t * 7919 + 1) % s_.vocab);
    struct Maxima {
      std::vector<float> inputs, outputs;
    };
    const auto max_abs = [](std::vector<float>& mx, const float* a, std::size_t rows, std::size_t cols) {
      mx.resize(cols, 0.0f);
      for (std::size_t r = 0; r < rows; ++r)
        for (std::size_t j = 0; j < cols; ++j) mx[j] = std::max(mx[j], std::abs(a[r * cols + j]));
    };
    std::map<std::string, Maxima> maxima;
    LlamaState st;
    st.on_projection = [&](const kernels::Linear& w, const kernels::LinearInput& in, const float* y) {
      Maxima& mx = maxima[w.name()];
      max_abs(mx.inputs, in.data(), in.rows(), in.cols());
      max_abs(mx.outputs, y, in.rows(), static_cast<std::size_t>(w.stored().dim(0)));
      release_resident(w.stored());
    };
    try {
      forward(ids, st, LlamaOutput::All, pool);
    } catch (const Error& e) {  // a NaN weight, ...: say where it surfaced
      throw Error(std::string("int8 calibration pass: ") + e.what());
    }
    std::map<std::string, kernels::Int8FloatChannels> f;
    for (const auto& [name, mx] : maxima)
      f[name] = {.inputs = kernels::select_float_channels(mx.inputs, name + " (inputs)"),
                 .outputs = kernels::select_float_channels(mx.outputs, name + " (outputs)")};
    return f;
  }
  // The path of the projections (kernels::kStoredPath until pack_projections).
  const kernels::LinearPath& path() const { return path_; }
  // The dtype every projection is stored in; std::nullopt if they differ.
  std::optional<DType> projection_dtype() const {
    std::optional<DType> d;
    for (const LlamaLayerWeights& w : w_.layers)
      for (const kernels::Linear* p : projections(w)) {
        if (d && *d != p->stored().dtype) return std::nullopt;
        d = p->stored().dtype;
      }
    return d;
  }

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
    std::vector<std::size_t> rows;  // the rows returned
    if (output == LlamaOutput::Last && !ids.empty()) rows = {ids.size() - 1};
    if (output == LlamaOutput::All)
      for (std::size_t t = 0; t < ids.size(); ++t) rows.push_back(t);
    return forward(ids, st, rows, pool, trace);
  }

  // The same, returning the final-norm hidden states of `rows` (indices into
  // ids, ascending, each < ids.size(); none: only fill the K/V cache), as
  // [rows.size(), dim] in that order. Heads that read a position other than
  // the last (pooling rules, ArmoRM's gating position) ask for theirs. The
  // last layer computes only these rows past K/V; with rows other than the
  // last, the last two rows of the trace are those of the last row asked for.
  std::span<const float> forward(std::span<const std::int32_t> ids, LlamaState& st, std::span<const std::size_t> rows,
                                 ThreadPool& pool, std::vector<std::vector<float>>* trace = nullptr) const {
    const std::size_t n = ids.size();
    const std::size_t past = st.n_past();
    if (n == 0) throw Error("LlamaModel::forward: no tokens");
    for (std::size_t i = 0; i < rows.size(); ++i)
      if (rows[i] >= n || (i > 0 && rows[i] <= rows[i - 1]))
        throw Error("LlamaModel::forward: rows must ascend within the " + std::to_string(n) + " tokens given, row " +
                    std::to_string(i) + " is " + std::to_string(rows[i]));
    if (past + n > s_.max_positions)
      throw Error("LlamaModel::forward: " + std::to_string(past + n) +
                  " positions, more than max_position_embeddings (" + std::to_string(s_.max_positions) + ")");
    const std::size_t D = s_.dim, Q = s_.q_dim(), KV = s_.kv_dim(), F = s_.ffn_dim, L = s_.n_layers;
    const std::size_t T = past + n;  // positions in the cache after this call
    st.reserve(s_, n, T);
    if (trace) trace->clear();
    auto record = [&](const float* data, std::size_t last) {
      if (trace) trace->emplace_back(data + last * D, data + (last + 1) * D);
    };

    // x = embed_tokens[ids]                                     x: [n, D]
    embed(ids, past, st.x.data());
    record(st.x.data(), n - 1);

    kernels::LinearInput& in = st.in;
    // y = in · Wᵀ (kernels/linear.hpp: on W's path), then the observer, if any.
    const auto project = [&](const kernels::Linear& weight, float* y) {
      kernels::linear(in, weight, y, pool);
      if (st.on_projection) st.on_projection(weight, in, y);
    };
    for (std::size_t l = 0; l < L; ++l) {
      const LlamaLayerWeights& w = w_.layers[l];
      float* kc = st.k[l].data();  // [T, KV]
      float* vc = st.v[l].data();  // [T, KV]
      // In the last layer only the rows that are returned need computing past
      // K/V: they are gathered into rows r0 … n − 1 (for None, no row at all).
      const bool last_layer = l + 1 == L;
      const std::size_t m = last_layer ? rows.size() : n;  // rows carried through this layer
      const std::size_t r0 = n - m;
      // Their positions are contiguous (pos0 …) unless rows has gaps.
      const bool contiguous = !last_layer || m == 0 || rows.back() - rows.front() + 1 == m;
      const std::size_t pos0 = past + (last_layer && m > 0 ? rows.front() : 0);

      // --- attention block ---
      // xb = rmsnorm(x) · attn_norm                             xb: [n, D]
      kernels::rmsnorm(st.x.data(), w.attn_norm, s_.norm_eps, st.xb.data(), n, D);
      // k, v for the new positions, written straight into the cache
      //   k = xb Wkᵀ, v = xb Wvᵀ                               [n, KV] at rows past …
      in.set(st.xb.data(), n, D);
      project(w.wk, kc + past * KV);
      project(w.wv, vc + past * KV);
      // Qwen3: k = rmsnorm(k) · k_norm per head, before RoPE.
      if (s_.qk_norm)
        kernels::rmsnorm(kc + past * KV, w.k_norm, s_.norm_eps, kc + past * KV, n * s_.n_kv_heads, s_.head_dim);
      kernels::rope(kc + past * KV, n, s_.n_kv_heads, s_.head_dim, past, s_.rope_inv_freq.data());
      if (last_layer && m == 0) break;  // prefix: its K/V are all that is kept
      // Gather the rows returned into r0 … n − 1 (in order: rows[i] ≤ r0 + i, so
      // going down never overwrites a row still to be moved).
      if (r0 != 0 && !(contiguous && rows.front() == r0))
        for (std::size_t i = m; i-- > 0;) {
          if (rows[i] == r0 + i) continue;
          std::copy_n(st.x.data() + rows[i] * D, D, st.x.data() + (r0 + i) * D);
          std::copy_n(st.xb.data() + rows[i] * D, D, st.xb.data() + (r0 + i) * D);
        }
      //   q = xb Wqᵀ (rows r0 …; for r0 = 0 the input of k and v)   q: [m, Q]
      if (r0 != 0) in.set(st.xb.data() + r0 * D, m, D);
      project(w.wq, st.q.data());
      // Qwen3: q = rmsnorm(q) · q_norm per head, before RoPE.
      if (s_.qk_norm) kernels::rmsnorm(st.q.data(), w.q_norm, s_.norm_eps, st.q.data(), m * s_.n_heads, s_.head_dim);
      // att = softmax(q kᵀ / √head_dim, causal) v  over the keys up to each row, into q   att: [m, Q]
      float* att = st.q.data();
      if (contiguous) {
        kernels::rope(st.q.data(), m, s_.n_heads, s_.head_dim, pos0, s_.rope_inv_freq.data());
        kernels::causal_attention(st.q.data(), kc, vc, att, m, pos0 + m, s_.n_heads, s_.n_kv_heads, s_.head_dim, pool);
      } else {
        for (std::size_t i = 0; i < m; ++i) {
          float* qi = st.q.data() + i * Q;
          kernels::rope(qi, 1, s_.n_heads, s_.head_dim, past + rows[i], s_.rope_inv_freq.data());
          kernels::causal_attention(qi, kc, vc, qi, 1, past + rows[i] + 1, s_.n_heads, s_.n_kv_heads, s_.head_dim,
                                    pool);
        }
      }
      // x += att Woᵀ                                            x: [m, D] (rows r0 …)
      float* x = st.x.data() + r0 * D;
      in.set(att, m, Q);
      project(w.wo, st.xb.data());
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
        project(w.w_gate, st.gate.data());
        project(w.w_up, st.up.data());
        kernels::silu_mul(st.gate.data(), st.up.data(), mc * F);
        // x += gate Wdᵀ                                         x: [mc, D]
        in.set(st.gate.data(), mc, F);
        project(w.w_down, xbc);
        kernels::add_inplace(xc, xbc, mc * D);
      }
      require_finite(st.x.data() + (n - 1) * D, l, ids, past);
      record(st.x.data(), n - 1);
    }
    st.n_past_ = T;
    if (rows.empty()) return {};

    // h = rmsnorm(x) · final_norm (rows returned only, gathered at r0 …)   h: [m, D]
    const std::size_t m = rows.size();
    const std::size_t r0 = n - m;
    kernels::rmsnorm(st.x.data() + r0 * D, w_.final_norm, s_.norm_eps, st.xb.data(), m, D);
    require_finite(st.xb.data() + (m - 1) * D, L, ids, past);
    record(st.xb.data(), m - 1);
    return {st.xb.data(), m * D};
  }

 private:
  struct Validated {};  // the tensors were checked against the description already
  LlamaModel(LlamaShape shape, LlamaWeights weights, Validated) : s_(std::move(shape)), w_(std::move(weights)) {
    check_rope();
  }

  static std::array<kernels::Linear*, 7> projections(LlamaLayerWeights& w) {
    return {&w.wq, &w.wk, &w.wv, &w.wo, &w.w_gate, &w.w_up, &w.w_down};
  }
  static std::array<const kernels::Linear*, 7> projections(const LlamaLayerWeights& w) {
    return {&w.wq, &w.wk, &w.wv, &w.wo, &w.w_gate, &w.w_up, &w.w_down};
  }

  // Drops t's pages from the resident set once they are not needed there (a
  // packed copy replaced them): only if the weights lie in read-only file
  // maps, whose pages fault back in unchanged (see release_resident_pages).
  void release_resident(const TensorView& t) const {
    if (w_.file_mapped) release_resident_pages(t.data, t.nbytes);
  }

  // x [n, D] = embed_tokens[ids] (ids at positions past …, for errors). Only these rows of the table are in use:
  // what fault-around mapped next to them (mapped_file.hpp) leaves the
  // resident set again, every 256 rows, so at most 16 MiB of it is resident
  // at any time.
  void embed(std::span<const std::int32_t> ids, std::size_t past, float* x) const {
    const std::size_t n = ids.size(), D = s_.dim;
    for (std::size_t t0 = 0; t0 < n; t0 += 256) {
      const std::size_t nt = std::min<std::size_t>(256, n - t0);
      kernels::embedding(w_.embed, ids.data() + t0, nt, x + t0 * D, past + t0);
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


  // rope_theta as float32 must be a positive normal number: 1e-300 is 0,
  // whose frequencies 1 / 0^e are infinite and every rotation NaN.
  void check_rope() const {
    for (std::size_t i = 0; i < s_.rope_inv_freq.size(); ++i)
      if (!std::isfinite(s_.rope_inv_freq[i]))
        throw Error("LlamaModel: RoPE frequency " + std::to_string(i) + " is " +
                    (std::isnan(s_.rope_inv_freq[i]) ? "nan" : "inf") +
                    ", expected a finite value (is rope_theta outside the float32 range?)");
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
    check_rope();
    if (w_.layers.size() != s_.n_layers)
      throw Error("LlamaModel: " + std::to_string(w_.layers.size()) + " layers of weights, expected " +
                  std::to_string(s_.n_layers));
    for (const ModelTensor& t : backbone_tensors(s_.dims())) {
      const TensorView& w = *w_.slot(t.role, t.index);
      if (w.data == nullptr) throw Error("LlamaModel: no weight given for " + t.name);
      check_tensor(w, t.shape, t.dtypes, "LlamaModel: ");
    }
  }

  LlamaShape s_;
  LlamaWeights w_;
  kernels::LinearPath path_ = kernels::kStoredPath;  // of every projection
};

}  // namespace urm
