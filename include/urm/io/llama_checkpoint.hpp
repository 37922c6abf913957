// What a Llama reward-model checkpoint must contain, by tensor name and shape.
//
// Names are those of the real Hugging Face checkpoints
// (LlamaForSequenceClassification and the URM heads):
//   model.embed_tokens.weight                              [vocab, hidden]
//   model.layers.N.input_layernorm.weight                  [hidden]
//   model.layers.N.self_attn.q_proj.weight                 [heads·head_dim, hidden]
//   model.layers.N.self_attn.{k,v}_proj.weight             [kv_heads·head_dim, hidden]
//   model.layers.N.self_attn.o_proj.weight                 [hidden, heads·head_dim]
//   model.layers.N.post_attention_layernorm.weight         [hidden]
//   model.layers.N.mlp.{gate,up}_proj.weight               [ffn, hidden]
//   model.layers.N.mlp.down_proj.weight                    [hidden, ffn]
//   model.norm.weight                                      [hidden]
//   score.weight                                           [num_labels, hidden]
// and for the URM-3.1 gated head, the MLP weights.fc = Linear, SELU, Linear,
// SELU, Linear (the SELUs are fc.1 and fc.3 and hold no weights):
//   weights.fc.0.{weight,bias}  [g0, hidden], [g0]
//   weights.fc.2.{weight,bias}  [g2, g0],     [g2]
//   weights.fc.4.{weight,bias}  [5, g2],      [5]
// lm_head.weight is never needed (a reward model has no LM head).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "urm/core/dtype.hpp"
#include "urm/core/error.hpp"
#include "urm/core/tensor_view.hpp"
#include "urm/io/checkpoint.hpp"
#include "urm/io/llama_config.hpp"

namespace urm {

// The value head on top of the final-norm hidden state of the last token
// (see tests/data/README.md):
//   UrmPrior: score.weight [10, hidden] gives interleaved (mean, log_std) of
//             five attributes; reward = fixed prior weights · means;
//   UrmGated: the same plus weights.fc.* computing the attribute weights
//             from the hidden state (URM-LLaMa-3.1);
//   Scalar:   score.weight [1, hidden], the reward itself.
enum class ValueHeadKind { UrmPrior, UrmGated, Scalar };

inline std::string to_string(ValueHeadKind k) {
  switch (k) {
    case ValueHeadKind::UrmPrior: return "urm-prior";
    case ValueHeadKind::UrmGated: return "urm-gated";
    case ValueHeadKind::Scalar: return "scalar";
  }
  return "?";
}

// Number of HelpSteer2 attributes of a URM head; score.weight has two rows
// (mean, log_std) per attribute.
inline constexpr std::int64_t kUrmAttributes = 5;

inline ValueHeadKind detect_value_head(const Checkpoint& ckpt, const LlamaConfig& cfg) {
  const bool gated = ckpt.has("weights.fc.0.weight");
  if (cfg.num_labels == 2 * kUrmAttributes) return gated ? ValueHeadKind::UrmGated : ValueHeadKind::UrmPrior;
  if (gated)
    throw Error(ckpt.dir() + ": weights.fc.0.weight (a URM-3.1 gate) needs num_labels = 10, but config has " +
                std::to_string(cfg.num_labels));
  if (cfg.num_labels == 1) return ValueHeadKind::Scalar;
  throw Error(ckpt.dir() + ": num_labels = " + std::to_string(cfg.num_labels) +
              " is not a supported value head (expected 10 for a URM head or 1 for a scalar score head)");
}

using TensorShapes = std::vector<std::pair<std::string, std::vector<std::int64_t>>>;

// Backbone and score tensors: name → shape implied by the config, in the
// order the forward pass uses them.
inline TensorShapes llama_tensor_shapes(const LlamaConfig& c) {
  const std::int64_t h = c.hidden_size, q = c.num_attention_heads * c.head_dim, kv = c.num_key_value_heads * c.head_dim,
                     f = c.intermediate_size;
  TensorShapes out;
  out.push_back({"model.embed_tokens.weight", {c.vocab_size, h}});
  for (std::int64_t l = 0; l < c.num_hidden_layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    out.push_back({p + "input_layernorm.weight", {h}});
    out.push_back({p + "self_attn.q_proj.weight", {q, h}});
    out.push_back({p + "self_attn.k_proj.weight", {kv, h}});
    out.push_back({p + "self_attn.v_proj.weight", {kv, h}});
    out.push_back({p + "self_attn.o_proj.weight", {h, q}});
    out.push_back({p + "post_attention_layernorm.weight", {h}});
    out.push_back({p + "mlp.gate_proj.weight", {f, h}});
    out.push_back({p + "mlp.up_proj.weight", {f, h}});
    out.push_back({p + "mlp.down_proj.weight", {h, f}});
  }
  out.push_back({"model.norm.weight", {h}});
  out.push_back({"score.weight", {c.num_labels, h}});
  return out;
}

namespace detail {

inline void check_tensor(const Checkpoint& ckpt, const std::string& name, const std::vector<std::int64_t>& shape) {
  if (!ckpt.has(name))
    throw Error(ckpt.dir() + ": missing tensor \"" + name + "\" (expected shape " + shape_string(shape) + ")");
  const TensorView& t = ckpt.tensor(name);
  if (t.shape != shape)
    throw Error(ckpt.dir() + ": tensor \"" + name + "\" has shape " + shape_string(t.shape) + ", expected " +
                shape_string(shape));
  if (t.dtype != DType::F32 && t.dtype != DType::F16 && t.dtype != DType::BF16)
    throw Error(ckpt.dir() + ": tensor \"" + name + "\" has dtype " + std::string(dtype_name(t.dtype)) +
                ", expected F32, F16 or BF16");
}

// Rows of the gate matrix `name` whose columns must be `cols`: the gate's
// hidden widths are whatever the checkpoint says.
inline std::int64_t gate_rows(const Checkpoint& ckpt, const std::string& name, std::int64_t cols) {
  const std::string expected = "[n, " + std::to_string(cols) + "]";
  if (!ckpt.has(name)) throw Error(ckpt.dir() + ": missing tensor \"" + name + "\" (expected shape " + expected + ")");
  const TensorView& t = ckpt.tensor(name);
  if (t.rank() != 2 || t.dim(0) < 1 || t.dim(1) != cols)
    throw Error(ckpt.dir() + ": tensor \"" + name + "\" has shape " + shape_string(t.shape) + ", expected " + expected);
  return t.dim(0);
}

}  // namespace detail

// The URM-3.1 gate: fc.0 [g0, hidden], fc.2 [g2, g0], fc.4 [5, g2], each with its bias.
inline TensorShapes llama_gate_shapes(const Checkpoint& ckpt, const LlamaConfig& c) {
  const std::int64_t g0 = detail::gate_rows(ckpt, "weights.fc.0.weight", c.hidden_size);
  const std::int64_t g2 = detail::gate_rows(ckpt, "weights.fc.2.weight", g0);
  return {{"weights.fc.0.weight", {g0, c.hidden_size}},
          {"weights.fc.0.bias", {g0}},
          {"weights.fc.2.weight", {g2, g0}},
          {"weights.fc.2.bias", {g2}},
          {"weights.fc.4.weight", {kUrmAttributes, g2}},
          {"weights.fc.4.bias", {kUrmAttributes}}};
}

// Every tensor the model needs exists, is a float type, and has the shape the
// config implies; the first that does not is reported with both shapes.
inline void validate_llama_checkpoint(const Checkpoint& ckpt, const LlamaConfig& cfg) {
  const ValueHeadKind head = detect_value_head(ckpt, cfg);
  for (const auto& [name, shape] : llama_tensor_shapes(cfg)) detail::check_tensor(ckpt, name, shape);
  if (head == ValueHeadKind::UrmGated)
    for (const auto& [name, shape] : llama_gate_shapes(ckpt, cfg)) detail::check_tensor(ckpt, name, shape);
}

}  // namespace urm
