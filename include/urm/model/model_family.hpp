// ModelFamily — the one description of each reward-model family urm.cpp runs:
// which tensors its checkpoint holds (names, shapes from the config, dtypes),
// which value head reads the final hidden states, at which position, and the
// scoring pipeline of its model card. Validation, weight loading,
// urm-make-random-model, urm-inspect and the test fixtures all use it; this is
// the only place the tensor names are spelled. A new family is an entry here
// plus its forward code.
//
// A family is a backbone (config.json's model_type) and a head (its
// `architectures` and the head tensors present):
//
//   architectures                                     model_type  heads
//   LlamaForSequenceClassificationWithNormal_Weights  llama       urm-prior, urm-gated, scalar
//   LlamaForSequenceClassification                    llama       scalar
//   Qwen3ForSequenceClassification                    qwen3       scalar
//   LlamaForRewardModelWithGating                     llama       armorm
//   INFORMForSequenceClassification                   llama       inform-mlp
//   (none)                                            llama       urm-prior, urm-gated, scalar
//   (none)                                            qwen3       scalar
//
// Backbone tensors ([rows, cols], PyTorch Linear layout), N = 0 … layers − 1:
//   model.embed_tokens.weight                          [vocab, hidden]
//   model.layers.N.input_layernorm.weight              [hidden]
//   model.layers.N.self_attn.q_proj.weight             [heads·head_dim, hidden]
//   model.layers.N.self_attn.{k,v}_proj.weight         [kv_heads·head_dim, hidden]
//   model.layers.N.self_attn.o_proj.weight             [hidden, heads·head_dim]
//   model.layers.N.self_attn.{q,k}_norm.weight         [head_dim]       (Qwen3 only)
//   model.layers.N.post_attention_layernorm.weight     [hidden]
//   model.layers.N.mlp.{gate,up}_proj.weight           [ffn, hidden]
//   model.layers.N.mlp.down_proj.weight                [hidden, ffn]
//   model.norm.weight                                  [hidden]
// Heads (h = hidden):
//   urm-prior   score.weight [10, h]: interleaved mean/log-std of the five
//               HelpSteer2 attributes, fixed prior weights (URM-LLaMa-3-8B)
//   urm-gated   the same plus weights.fc.{0,2,4}.{weight,bias} [g0, h], [g2, g0],
//               [5, g2]: Linear, SELU, Linear, SELU, Linear (URM-LLaMa-3.1-8B)
//   scalar      score.weight [1, h] (Skywork-Reward-V2, FsfairX)
//   inform-mlp  score.0.{weight,bias} [h, h], [h]; score.2.{weight,bias} [1, h], [1]:
//               Linear, ReLU, Linear (INF-ORM)
//   armorm      regression_layer.weight [K, h]; gating.layers.{0…n−1}.{weight,bias}
//               [g, h] then [g, g], gating.layers.n.{weight,bias} [K, g];
//               gating.logit_scale [1]; reward_transform_matrix [K, K]
//               (K = num_objectives, g = gating_hidden_dim, n = gating_n_hidden)
// Every tensor may be stored as F32, F16 or BF16. lm_head.weight and old
// checkpoints' rotary_emb.inv_freq buffers are not read; any other tensor
// the description does not name is an error (a checkpoint mixing families).
#pragma once

#include <algorithm>
#include <array>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "urm/core/dtype.hpp"
#include "urm/core/error.hpp"
#include "urm/core/tensor_view.hpp"
#include "urm/io/checkpoint.hpp"
#include "urm/io/llama_config.hpp"
#include "urm/model/pooling.hpp"
#include "urm/text/bos_policy.hpp"

namespace urm {

enum class Backbone : std::uint8_t { Llama, Qwen3 };

inline std::string_view to_string(Backbone b) { return b == Backbone::Qwen3 ? "qwen3" : "llama"; }

enum class ValueHeadKind : std::uint8_t { UrmPrior, UrmGated, Scalar, InformMlp, ArmoRM };

// --- heads ---------------------------------------------------------------------

// URM: two rows of score.weight (mean, log_std) per HelpSteer2 attribute.
inline constexpr std::int64_t kUrmAttributes = 5;
inline constexpr std::array<std::string_view, 5> kHelpSteer2Attributes = {"helpfulness", "correctness", "coherence",
                                                                          "complexity", "verbosity"};
// URM-LLaMa-3-8B's fixed combination weights for those attributes.
inline constexpr std::array<float, 5> kUrmPriorWeights = {0.3f, 0.74f, 0.46f, 0.47f, -0.33f};

// ArmoRM-Llama3-8B-v0.1's 19 objectives, in the order of regression_layer's rows (its model card).
inline constexpr std::array<std::string_view, 19> kArmoRmObjectives = {
    "helpsteer-helpfulness",        "helpsteer-correctness",
    "helpsteer-coherence",          "helpsteer-complexity",
    "helpsteer-verbosity",          "ultrafeedback-overall_score",
    "ultrafeedback-instruction_following", "ultrafeedback-truthfulness",
    "ultrafeedback-honesty",        "ultrafeedback-helpfulness",
    "beavertails-is_safe",          "prometheus-score",
    "argilla-overall_quality",      "argilla-judge_lm",
    "code-complexity",              "code-style",
    "code-explanation",             "code-instruction-following",
    "code-readability"};
// ArmoRM's gating network reads the hidden state where the last
// "<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n" starts: its
// remote code hard-codes these Llama-3 ids and raises ValueError without them.
inline constexpr std::array<std::int32_t, 5> kArmoRmGatingPattern = {128009, 128006, 78191, 128007, 271};

// What each head is: its name, the position it reads, whether it predicts a
// distribution, and the pipeline of its model card.
struct HeadTraits {
  ValueHeadKind kind;
  std::string_view name;  // as urm-inspect prints it
  Pooling pooling;
  bool uncertain;  // attributes carry a log-std (Score::has_uncertainty)
  BosPolicy bos;   // the model card's pipeline (RewardModel::Options::bos_policy overrides it)
  std::string_view summary;
};

inline constexpr std::array<HeadTraits, 5> kHeads = {{
    {ValueHeadKind::UrmPrior, "urm-prior", Pooling::Last, true, BosPolicy::CardPipeline,
     "URM: mean and log-std of 5 HelpSteer2 attributes, fixed prior weights"},
    {ValueHeadKind::UrmGated, "urm-gated", Pooling::Last, true, BosPolicy::CardPipeline,
     "URM-3.1: mean and log-std of 5 HelpSteer2 attributes, weights from a gate network"},
    {ValueHeadKind::Scalar, "scalar", Pooling::LastNonPad, false, BosPolicy::StripTemplateBos,
     "one logit: the reward"},
    {ValueHeadKind::InformMlp, "inform-mlp", Pooling::BeforeFirstPad, false, BosPolicy::Single,
     "Linear, ReLU, Linear to one logit: the reward"},
    {ValueHeadKind::ArmoRM, "armorm", Pooling::BeforeFirstPad, false, BosPolicy::Single,
     "19 objective rewards mixed by a gating network read at the assistant header"},
}};

inline const HeadTraits& head_traits(ValueHeadKind k) { return kHeads[static_cast<std::size_t>(k)]; }
inline std::string_view to_string(ValueHeadKind k) { return head_traits(k).name; }

// --- architectures -----------------------------------------------------------

struct Architecture {
  std::string_view name;  // config.json "architectures"
  Backbone backbone;
  std::array<bool, kHeads.size()> heads;  // the heads it may carry, by ValueHeadKind
  std::string_view examples;
};

namespace detail {
constexpr std::array<bool, kHeads.size()> heads_of(std::initializer_list<ValueHeadKind> ks) {
  std::array<bool, kHeads.size()> a{};
  for (const ValueHeadKind k : ks) a[static_cast<std::size_t>(k)] = true;
  return a;
}
}  // namespace detail

inline constexpr std::array<Architecture, 5> kArchitectures = {{
    {"LlamaForSequenceClassificationWithNormal_Weights", Backbone::Llama,
     detail::heads_of({ValueHeadKind::UrmPrior, ValueHeadKind::UrmGated, ValueHeadKind::Scalar}),
     "LxzGordon/URM-LLaMa-3-8B, LxzGordon/URM-LLaMa-3.1-8B"},
    {"LlamaForSequenceClassification", Backbone::Llama, detail::heads_of({ValueHeadKind::Scalar}),
     "Skywork/Skywork-Reward-V2-Llama-3.1-8B, sfairXC/FsfairX-LLaMA3-RM-v0.1"},
    {"Qwen3ForSequenceClassification", Backbone::Qwen3, detail::heads_of({ValueHeadKind::Scalar}),
     "Skywork/Skywork-Reward-V2-Qwen3-0.6B … -8B"},
    {"LlamaForRewardModelWithGating", Backbone::Llama, detail::heads_of({ValueHeadKind::ArmoRM}),
     "RLHFlow/ArmoRM-Llama3-8B-v0.1"},
    {"INFORMForSequenceClassification", Backbone::Llama, detail::heads_of({ValueHeadKind::InformMlp}),
     "infly/INF-ORM-Llama3.1-70B"},
}};

// The architecture a config names, when it names none: what
// AutoModelForSequenceClassification would build from model_type, except
// that a Llama checkpoint may carry any head of the URM class (urm.cpp's
// behaviour before architectures were read, kept for configs without them).
inline constexpr Architecture kLlamaWithoutArchitectures = {
    "", Backbone::Llama, detail::heads_of({ValueHeadKind::UrmPrior, ValueHeadKind::UrmGated, ValueHeadKind::Scalar}),
    ""};
inline constexpr Architecture kQwen3WithoutArchitectures = {"", Backbone::Qwen3,
                                                            detail::heads_of({ValueHeadKind::Scalar}), ""};

inline Backbone backbone_of(const LlamaConfig& c) { return c.model_type == "qwen3" ? Backbone::Qwen3 : Backbone::Llama; }

// The architecture to write for a (backbone, head) pair: the one made for
// that head alone if there is one (LlamaForSequenceClassification for a
// scalar Llama head), else the first that carries it; nullptr if none does.
inline const Architecture* architecture_for(Backbone b, ValueHeadKind k) {
  const Architecture* any = nullptr;
  for (const Architecture& a : kArchitectures) {
    if (a.backbone != b || !a.heads[static_cast<std::size_t>(k)]) continue;
    if (std::count(a.heads.begin(), a.heads.end(), true) == 1) return &a;
    if (!any) any = &a;
  }
  return any;
}

// --- the tensors of a model --------------------------------------------------

// What a tensor is to the code that reads it.
enum class TensorRole : std::uint8_t {
  Embed, AttnNorm, Wq, Wk, Wv, Wo, QNorm, KNorm, FfnNorm, WGate, WUp, WDown, FinalNorm,  // backbone
  HeadWeight, HeadBias,  // Linear layer `index` of the head (score, score.0/2, regression_layer)
  GateWeight, GateBias,  // Linear layer `index` of a gate network (URM-3.1 weights.fc, ArmoRM gating)
  LogitScale, TransformMatrix,  // ArmoRM
};

struct ModelTensor {
  TensorRole role;
  std::size_t index;  // the layer: of the decoder for backbone roles, of the head's or gate's stack otherwise
  std::string name;
  std::vector<std::int64_t> shape;
  DTypeSet dtypes = kFloatDTypes;
};

using ModelTensors = std::vector<ModelTensor>;

// The sizes of a decoder that decide its tensors.
struct BackboneDims {
  std::int64_t vocab = 0, hidden = 0, layers = 0, heads = 0, kv_heads = 0, head_dim = 0, ffn = 0;
  bool qk_norm = false;  // Qwen3's per-head RMSNorm of queries and keys
};

inline BackboneDims backbone_dims(const LlamaConfig& c) {
  return {c.vocab_size,          c.hidden_size, c.num_hidden_layers, c.num_attention_heads, c.num_key_value_heads,
          c.head_dim,            c.intermediate_size, backbone_of(c) == Backbone::Qwen3};
}

inline constexpr std::string_view kLayerPrefix = "model.layers.";
inline constexpr std::string_view kGatingLayerPrefix = "gating.layers.";

inline std::string layer_tensor(std::size_t layer, std::string_view rest) {
  return std::string(kLayerPrefix) + std::to_string(layer) + "." + std::string(rest);
}

// The decoder's tensors in the order the forward pass reads them.
inline ModelTensors backbone_tensors(const BackboneDims& d) {
  const std::int64_t h = d.hidden, q = d.heads * d.head_dim, kv = d.kv_heads * d.head_dim, f = d.ffn;
  ModelTensors out;
  out.push_back({TensorRole::Embed, 0, "model.embed_tokens.weight", {d.vocab, h}});
  for (std::size_t l = 0; l < static_cast<std::size_t>(d.layers); ++l) {
    out.push_back({TensorRole::AttnNorm, l, layer_tensor(l, "input_layernorm.weight"), {h}});
    out.push_back({TensorRole::Wq, l, layer_tensor(l, "self_attn.q_proj.weight"), {q, h}});
    out.push_back({TensorRole::Wk, l, layer_tensor(l, "self_attn.k_proj.weight"), {kv, h}});
    out.push_back({TensorRole::Wv, l, layer_tensor(l, "self_attn.v_proj.weight"), {kv, h}});
    out.push_back({TensorRole::Wo, l, layer_tensor(l, "self_attn.o_proj.weight"), {h, q}});
    if (d.qk_norm) {
      out.push_back({TensorRole::QNorm, l, layer_tensor(l, "self_attn.q_norm.weight"), {d.head_dim}});
      out.push_back({TensorRole::KNorm, l, layer_tensor(l, "self_attn.k_norm.weight"), {d.head_dim}});
    }
    out.push_back({TensorRole::FfnNorm, l, layer_tensor(l, "post_attention_layernorm.weight"), {h}});
    out.push_back({TensorRole::WGate, l, layer_tensor(l, "mlp.gate_proj.weight"), {f, h}});
    out.push_back({TensorRole::WUp, l, layer_tensor(l, "mlp.up_proj.weight"), {f, h}});
    out.push_back({TensorRole::WDown, l, layer_tensor(l, "mlp.down_proj.weight"), {h, f}});
  }
  out.push_back({TensorRole::FinalNorm, 0, "model.norm.weight", {h}});
  return out;
}

// A checkpoint's family: what the description of its tensors depends on
// beyond the config.
struct ModelFamily {
  Architecture architecture;  // name "" when config.json names none
  ValueHeadKind head = ValueHeadKind::UrmPrior;
  // The URM-3.1 gate's hidden widths (rows of weights.fc.0 and weights.fc.2):
  // the checkpoint decides them, not the config.
  std::vector<std::int64_t> gate_widths;

  Backbone backbone() const { return architecture.backbone; }
  const HeadTraits& traits() const { return head_traits(head); }
};

// "Qwen3ForSequenceClassification (qwen3 backbone, scalar head)".
inline std::string describe(const ModelFamily& f) {
  const std::string what = std::string(to_string(f.backbone())) + " backbone, " + std::string(to_string(f.head)) + " head";
  return f.architecture.name.empty() ? what : std::string(f.architecture.name) + " (" + what + ")";
}

// The head's tensors, for a model of hidden size c.hidden_size.
inline ModelTensors head_tensors(const ModelFamily& f, const LlamaConfig& c) {
  const std::int64_t h = c.hidden_size;
  ModelTensors out;
  const auto linear = [&](TensorRole w, TensorRole b, std::size_t i, const std::string& prefix, std::int64_t rows,
                          std::int64_t cols) {
    out.push_back({w, i, prefix + ".weight", {rows, cols}});
    out.push_back({b, i, prefix + ".bias", {rows}});
  };
  switch (f.head) {
    case ValueHeadKind::UrmPrior:
    case ValueHeadKind::Scalar:
      out.push_back({TensorRole::HeadWeight, 0, "score.weight", {c.num_labels, h}});
      break;
    case ValueHeadKind::UrmGated: {
      out.push_back({TensorRole::HeadWeight, 0, "score.weight", {c.num_labels, h}});
      // weights.fc = Linear, SELU, Linear, SELU, Linear: fc.1 and fc.3 hold no weights.
      std::int64_t in = h;
      for (std::size_t i = 0; i < 3; ++i) {
        const std::int64_t rows = i < f.gate_widths.size() ? f.gate_widths[i] : kUrmAttributes;
        linear(TensorRole::GateWeight, TensorRole::GateBias, i, "weights.fc." + std::to_string(2 * i), rows, in);
        in = rows;
      }
      break;
    }
    case ValueHeadKind::InformMlp:
      // score = Sequential(Linear(h, h), ReLU, Linear(h, num_labels)).
      linear(TensorRole::HeadWeight, TensorRole::HeadBias, 0, "score.0", h, h);
      linear(TensorRole::HeadWeight, TensorRole::HeadBias, 1, "score.2", c.num_labels, h);
      break;
    case ValueHeadKind::ArmoRM: {
      const std::int64_t k = c.gating.num_objectives, g = c.gating.hidden_dim;
      out.push_back({TensorRole::HeadWeight, 0, "regression_layer.weight", {k, h}});
      const auto n = static_cast<std::size_t>(c.gating.n_hidden);
      for (std::size_t i = 0; i <= n; ++i)
        linear(TensorRole::GateWeight, TensorRole::GateBias, i, std::string(kGatingLayerPrefix) + std::to_string(i),
               i == n ? k : g, i == 0 ? h : g);
      out.push_back({TensorRole::LogitScale, 0, "gating.logit_scale", {1}});
      out.push_back({TensorRole::TransformMatrix, 0, "reward_transform_matrix", {k, k}});
      break;
    }
  }
  return out;
}

// Every tensor of the model: the decoder's, then the head's.
inline ModelTensors model_tensors(const LlamaConfig& c, const ModelFamily& f) {
  ModelTensors out = backbone_tensors(backbone_dims(c));
  ModelTensors head = head_tensors(f, c);
  out.insert(out.end(), std::make_move_iterator(head.begin()), std::make_move_iterator(head.end()));
  return out;
}

// The tensor of a description with this role and index (nullptr if none).
inline const ModelTensor* find_tensor(const ModelTensors& tensors, TensorRole role, std::size_t index = 0) {
  for (const ModelTensor& t : tensors)
    if (t.role == role && t.index == index) return &t;
  return nullptr;
}

// --- reading a checkpoint ----------------------------------------------------

namespace detail {

// 1 + the largest N of the tensors named "<prefix>N.…" (0 when there are
// none): how many layers a checkpoint holds, counted without building any
// name. N beyond int32 is not counted (such a tensor is reported as unknown).
inline std::int64_t numbered_blocks(const Checkpoint& ckpt, std::string_view prefix) {
  std::int64_t count = 0;
  for (const std::string& name : ckpt.names()) {
    if (!name.starts_with(prefix)) continue;
    const char* first = name.data() + prefix.size();
    const char* end = name.data() + name.size();
    std::int32_t n = 0;
    const auto [p, ec] = std::from_chars(first, end, n);
    if (ec == std::errc() && p != first && p < end && *p == '.' && n >= 0) count = std::max<std::int64_t>(count, n + 1);
  }
  return count;
}

// A config size that counts numbered blocks must be the checkpoint's count,
// checked before anything is built for that many (a config saying 10^9
// layers fails here, at once).
inline void check_block_count(const Checkpoint& ckpt, std::string_view field, std::int64_t configured,
                              std::string_view prefix) {
  const std::int64_t have = numbered_blocks(ckpt, prefix);
  if (configured == have) return;
  const std::string held = have == 0 ? "no " + std::string(prefix) + "N tensors"
                                     : std::to_string(have) + " (" + std::string(prefix) + "0 to " +
                                           std::string(prefix) + std::to_string(have - 1) + ")";
  throw Error(ckpt.dir() + ": config.json has " + std::string(field) + " = " + std::to_string(configured) +
              ", but the checkpoint has " + held);
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

inline std::string architectures_string(const std::vector<std::string>& names) {
  std::string s = "[";
  for (std::size_t i = 0; i < names.size(); ++i) s += (i ? ", \"" : "\"") + names[i] + "\"";
  return s + "]";
}

// The architecture config.json names, for its model_type.
inline Architecture architecture_of(const Checkpoint& ckpt, const LlamaConfig& c) {
  const Backbone backbone = backbone_of(c);
  if (c.architectures.empty())
    return backbone == Backbone::Qwen3 ? kQwen3WithoutArchitectures : kLlamaWithoutArchitectures;
  for (const std::string& name : c.architectures)
    for (const Architecture& a : kArchitectures) {
      if (a.name != name) continue;
      if (a.backbone != backbone)
        throw Error(ckpt.dir() + ": config.json names architecture " + name + ", a " +
                    std::string(to_string(a.backbone)) + " model, but its model_type is \"" + c.model_type + "\"");
      return a;
    }
  std::string supported;
  for (const Architecture& a : kArchitectures)
    supported += (supported.empty() ? "" : ", ") + std::string(a.name) + " (" + std::string(to_string(a.backbone)) + ")";
  throw Error(ckpt.dir() + ": config.json architectures " + architectures_string(c.architectures) +
              " is not a reward model urm.cpp runs (model_type \"" + c.model_type + "\"); supported: " + supported);
}

}  // namespace detail

// The family of a checkpoint: the architecture its config names, and the head
// its tensors hold (which must be one that architecture carries).
inline ModelFamily detect_family(const Checkpoint& ckpt, const LlamaConfig& c) {
  ModelFamily f;
  f.architecture = detail::architecture_of(ckpt, c);
  const bool gated = ckpt.has("weights.fc.0.weight");
  std::string evidence;  // the tensor that decided the head
  if (ckpt.has("regression_layer.weight")) {
    f.head = ValueHeadKind::ArmoRM;
    evidence = "regression_layer.weight";
  } else if (ckpt.has("score.0.weight")) {
    f.head = ValueHeadKind::InformMlp;
    evidence = "score.0.weight";
  } else if (c.num_labels == 2 * kUrmAttributes) {
    f.head = gated ? ValueHeadKind::UrmGated : ValueHeadKind::UrmPrior;
    evidence = gated ? "weights.fc.0.weight" : "score.weight";
  } else if (gated) {
    throw Error(ckpt.dir() + ": weights.fc.0.weight (a URM-3.1 gate) needs num_labels = 10, but config has " +
                std::to_string(c.num_labels));
  } else if (c.num_labels == 1) {
    f.head = ValueHeadKind::Scalar;
    evidence = "score.weight";
  } else {
    throw Error(ckpt.dir() + ": num_labels = " + std::to_string(c.num_labels) +
                " is not a supported value head (expected 10 for a URM head or 1 for a scalar score head)");
  }
  if (!f.architecture.heads[static_cast<std::size_t>(f.head)]) {
    std::string carries;
    for (const HeadTraits& h : kHeads)
      if (f.architecture.heads[static_cast<std::size_t>(h.kind)])
        carries += (carries.empty() ? "\"" : " or \"") + std::string(h.name) + "\"";
    const std::string arch = f.architecture.name.empty()
                                 ? "a " + std::string(to_string(f.backbone())) + " config without architectures"
                                 : std::string(f.architecture.name);
    throw Error(ckpt.dir() + ": tensor \"" + evidence + "\" makes the value head \"" + std::string(to_string(f.head)) +
                "\", but " + arch + " carries a " + carries + " head (a checkpoint that mixes families is not "
                "supported)");
  }
  if (f.head == ValueHeadKind::InformMlp && c.num_labels != 1)
    throw Error(ckpt.dir() + ": num_labels = " + std::to_string(c.num_labels) +
                " is not supported for an INF-ORM head (expected 1: it scores with one logit)");
  if (f.head == ValueHeadKind::UrmGated) {
    const std::int64_t g0 = detail::gate_rows(ckpt, "weights.fc.0.weight", c.hidden_size);
    const std::int64_t g2 = detail::gate_rows(ckpt, "weights.fc.2.weight", g0);
    f.gate_widths = {g0, g2, kUrmAttributes};
  }
  return f;
}

// Tensors a reward model never reads, left in some checkpoints: the LM head
// of the base model, and the RoPE buffers older transformers saved.
inline bool ignored_tensor(std::string_view name) {
  return name == "lm_head.weight" || name.ends_with(".rotary_emb.inv_freq");
}

// The checkpoint holds exactly the family's tensors (plus ignored_tensor
// ones), each in a float type with the shape the config implies; the first
// that does not is reported with both shapes. Returns the family.
inline ModelFamily validate_checkpoint(const Checkpoint& ckpt, const LlamaConfig& c) {
  ModelFamily f = detect_family(ckpt, c);
  detail::check_block_count(ckpt, "num_hidden_layers", c.num_hidden_layers, kLayerPrefix);
  if (f.head == ValueHeadKind::ArmoRM)
    detail::check_block_count(ckpt, "gating_n_hidden + 1", c.gating.n_hidden + 1, kGatingLayerPrefix);
  const ModelTensors tensors = model_tensors(c, f);
  const std::string where = ckpt.dir() + ": ";
  for (const ModelTensor& t : tensors) {
    if (!ckpt.has(t.name))
      throw Error(where + "missing tensor \"" + t.name + "\" (expected shape " + shape_string(t.shape) + ")");
    check_tensor(ckpt.tensor(t.name), t.shape, t.dtypes, where);
  }
  if (ckpt.names().size() > tensors.size()) {
    std::vector<std::string_view> known;
    known.reserve(tensors.size());
    for (const ModelTensor& t : tensors) known.push_back(t.name);
    std::sort(known.begin(), known.end());
    for (const std::string& name : ckpt.names())
      if (!ignored_tensor(name) && !std::binary_search(known.begin(), known.end(), std::string_view(name)))
        throw Error(where + "tensor \"" + name + "\" is not part of a " + describe(f) +
                    " checkpoint (a checkpoint that mixes families is not supported)");
  }
  return f;
}

}  // namespace urm
