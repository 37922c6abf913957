// LlamaConfig — the architecture settings of a Hugging Face config.json of a
// Llama-style decoder: model_type "llama" or "qwen3" (Qwen3 is the Llama
// decoder plus an RMSNorm of each query and key head, see model_family.hpp).
//
// Both generations of transformers are read:
//   4.x: "rope_theta" at the top level and "rope_scaling" = null or
//        {"rope_type" (or the older "type"): ..., factor, ...}; "torch_dtype";
//   5.x: "rope_parameters" = {"rope_type", "rope_theta", factor, ...}; "dtype".
// Only what urm.cpp implements is accepted: no attention or MLP biases, SiLU,
// RoPE of type "default" or "llama3", full attention in every layer (no
// sliding window). Anything else is an error naming the JSON key, never a
// silent approximation. Defaults are those of the model type's config class
// (LlamaConfig / Qwen3Config of transformers) for keys a config leaves out.
//
// The value head's settings read here are ArmoRM's (num_objectives and
// gating_*, with the defaults of its remote code); which head a checkpoint
// has is decided from `architectures` and its tensors (model_family.hpp).
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "urm/core/error.hpp"
#include "urm/core/json.hpp"

namespace urm {

struct RopeConfig {
  std::string type = "default";  // "default" | "llama3"
  double theta = 10000;
  // llama3 frequency scaling (used only when type == "llama3"):
  double factor = 1, low_freq_factor = 1, high_freq_factor = 4;
  std::int64_t original_max_position_embeddings = 8192;
};

// The model types urm.cpp runs, as config.json names them.
inline constexpr std::array<std::string_view, 2> kModelTypes = {"llama", "qwen3"};

// ArmoRM's gating network (LlamaForRewardModelWithGating): n_hidden Linear +
// ReLU layers of hidden_dim, then a Linear to num_objectives, softmax at
// temperature. The defaults are the remote code's config_dict.get() defaults.
struct GatingConfig {
  std::int64_t num_objectives = 19, hidden_dim = 1024, n_hidden = 3;
  double temperature = 10;
};

struct LlamaConfig {
  std::string model_type;                  // one of kModelTypes
  std::vector<std::string> architectures;  // as written (may be empty)
  std::int64_t hidden_size = 0, num_hidden_layers = 0, num_attention_heads = 0, num_key_value_heads = 0, head_dim = 0,
               intermediate_size = 0, vocab_size = 0, max_position_embeddings = 0, num_labels = 0;
  double rms_norm_eps = 1e-6;
  RopeConfig rope;
  std::string torch_dtype;  // "float32", "float16", "bfloat16" as written (informational)
  bool tie_word_embeddings = false;
  std::optional<std::int64_t> pad_token_id, bos_token_id;
  std::vector<std::int64_t> eos_token_ids;
  GatingConfig gating;

  static LlamaConfig from_json(const nlohmann::json& j, const std::string& source);
  static LlamaConfig load(const std::string& config_json_path) {
    return from_json(detail::read_json_file(config_json_path), config_json_path);
  }
};

namespace detail {

// Largest accepted size or id: every dimension of a real model fits easily,
// and the bound keeps products of a few of them far from overflowing int64.
inline constexpr std::int64_t kConfigMaxInt = std::numeric_limits<std::int32_t>::max();

class ConfigReader {
 public:
  ConfigReader(const nlohmann::json& obj, const std::string& source, std::string prefix)
      : obj_(obj), source_(source), prefix_(std::move(prefix)) {}

  [[noreturn]] void fail(std::string_view key, const std::string& what) const {
    throw Error(source_ + ": " + prefix_ + std::string(key) + ": " + what);
  }

  // The value of `key`, or nullptr when it is absent or null (HF treats both as "unset").
  const nlohmann::json* get(std::string_view key) const {
    const auto it = obj_.find(key);
    return it == obj_.end() || it->is_null() ? nullptr : &*it;
  }

  std::optional<std::int64_t> opt_int(std::string_view key, std::int64_t lo, std::int64_t hi) const {
    const auto* v = get(key);
    if (v == nullptr) return std::nullopt;
    return int_value(key, *v, lo, hi);
  }
  std::int64_t req_int(std::string_view key, std::int64_t lo, std::int64_t hi) const {
    const auto v = opt_int(key, lo, hi);
    if (!v) fail(key, "missing (expected an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "])");
    return *v;
  }
  std::int64_t int_value(std::string_view key, const nlohmann::json& v, std::int64_t lo, std::int64_t hi) const {
    const std::string expected = "expected an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]";
    if (!v.is_number_integer()) fail(key, expected + ", got " + describe_json(v));
    // The parser stores every non-negative literal as unsigned, and values
    // above INT64_MAX would wrap in get<int64_t>(): bound it as unsigned first.
    if (v.is_number_unsigned() && v.get<std::uint64_t>() > static_cast<std::uint64_t>(hi))
      fail(key, expected + ", got " + describe_json(v));
    const auto x = v.get<std::int64_t>();
    if (x < lo || x > hi) fail(key, expected + ", got " + describe_json(v));
    return x;
  }

  // A finite number > 0 (JSON has no inf/nan, but an overflowing literal parses to inf).
  std::optional<double> opt_positive(std::string_view key) const {
    const auto* v = get(key);
    if (v == nullptr) return std::nullopt;
    if (!v->is_number() || !std::isfinite(v->get<double>()) || !(v->get<double>() > 0))
      fail(key, "expected a positive number, got " + describe_json(*v));
    return v->get<double>();
  }
  double req_positive(std::string_view key) const {
    const auto v = opt_positive(key);
    if (!v) fail(key, "missing (expected a positive number)");
    return *v;
  }

  std::optional<bool> opt_bool(std::string_view key) const {
    const auto* v = get(key);
    if (v == nullptr) return std::nullopt;
    if (!v->is_boolean()) fail(key, "expected true or false, got " + describe_json(*v));
    return v->get<bool>();
  }

  std::optional<std::string> opt_string(std::string_view key) const {
    const auto* v = get(key);
    if (v == nullptr) return std::nullopt;
    if (!v->is_string()) fail(key, "expected a string, got " + describe_json(*v));
    return v->get<std::string>();
  }

  const nlohmann::json* opt_object(std::string_view key) const {
    const auto* v = get(key);
    if (v != nullptr && !v->is_object()) fail(key, "expected an object or null, got " + describe_json(*v));
    return v;
  }

 private:
  const nlohmann::json& obj_;
  const std::string& source_;
  std::string prefix_;
};

// RoPE settings from `params` (the object found at JSON key `key`: rope_scaling
// or rope_parameters). `theta` is the value decided by the caller.
inline RopeConfig parse_rope(const nlohmann::json& params, const std::string& key, double theta,
                             const std::string& source) {
  const ConfigReader r(params, source, key + ".");
  RopeConfig rope;
  rope.theta = theta;
  // "rope_type" is the current name; 4.x configs written before it used "type".
  std::optional<std::string> type = r.opt_string("rope_type");
  if (!type) type = r.opt_string("type");
  if (!type) throw Error(source + ": " + key + ": missing rope_type (expected \"default\" or \"llama3\")");
  rope.type = *type;
  if (rope.type == "default") return rope;
  if (rope.type != "llama3")
    throw Error(source + ": " + key + ".rope_type: unsupported rope type \"" + rope.type +
                "\" (expected \"default\" or \"llama3\")");
  rope.factor = r.req_positive("factor");
  rope.low_freq_factor = r.req_positive("low_freq_factor");
  rope.high_freq_factor = r.req_positive("high_freq_factor");
  rope.original_max_position_embeddings = r.req_int("original_max_position_embeddings", 1, kConfigMaxInt);
  // llama3 scaling interpolates between the two wavelength bounds
  // original_max / low_freq_factor and original_max / high_freq_factor.
  if (!(rope.high_freq_factor > rope.low_freq_factor))
    r.fail("high_freq_factor", "must be greater than low_freq_factor (" + std::to_string(rope.low_freq_factor) + ")");
  return rope;
}

}  // namespace detail

inline LlamaConfig LlamaConfig::from_json(const nlohmann::json& j, const std::string& source) {
  if (!j.is_object()) throw Error(source + ": expected a JSON object");
  const detail::ConfigReader r(j, source, "");
  constexpr std::int64_t kMax = detail::kConfigMaxInt;

  std::string model_types;  // "\"llama\" or \"qwen3\""
  for (std::size_t i = 0; i < kModelTypes.size(); ++i) {  // (appended piece by piece: GCC 12 warns on "…" + string&&)
    model_types += i == 0 ? "" : i + 1 == kModelTypes.size() ? " or " : ", ";
    model_types += '"';
    model_types += kModelTypes[i];
    model_types += '"';
  }
  const auto model_type = r.opt_string("model_type");
  if (!model_type) r.fail("model_type", "missing (expected " + model_types + ")");
  if (std::find(kModelTypes.begin(), kModelTypes.end(), *model_type) == kModelTypes.end())
    r.fail("model_type", "\"" + *model_type + "\" is not supported (expected " + model_types + ")");
  const bool qwen3 = *model_type == "qwen3";
  if (r.opt_bool("attention_bias").value_or(false)) r.fail("attention_bias", "true is not supported (expected false)");
  if (r.opt_bool("mlp_bias").value_or(false)) r.fail("mlp_bias", "true is not supported (expected false)");
  if (const auto act = r.opt_string("hidden_act"); act && *act != "silu")
    r.fail("hidden_act", "\"" + *act + "\" is not supported (expected \"silu\")");

  LlamaConfig c;
  c.model_type = *model_type;
  using detail::describe_json;
  if (const auto* archs = r.get("architectures")) {
    if (!archs->is_array()) r.fail("architectures", "expected an array of class names, got " + describe_json(*archs));
    for (std::size_t i = 0; i < archs->size(); ++i) {
      const nlohmann::json& a = (*archs)[i];
      if (!a.is_string()) r.fail("architectures[" + std::to_string(i) + "]", "expected a class name, got " + describe_json(a));
      c.architectures.push_back(a.get<std::string>());
    }
  }
  c.hidden_size = r.req_int("hidden_size", 1, kMax);
  c.num_hidden_layers = r.req_int("num_hidden_layers", 1, kMax);
  c.num_attention_heads = r.req_int("num_attention_heads", 1, kMax);
  c.num_key_value_heads = r.opt_int("num_key_value_heads", 1, kMax).value_or(c.num_attention_heads);
  if (c.num_attention_heads % c.num_key_value_heads != 0)
    r.fail("num_key_value_heads", std::to_string(c.num_key_value_heads) + " does not divide num_attention_heads (" +
                                      std::to_string(c.num_attention_heads) + ")");
  // head_dim: explicit in newer configs, else Qwen3Config's 128, or for Llama
  // hidden_size / num_attention_heads.
  if (const auto hd = r.opt_int("head_dim", 1, kMax)) {
    c.head_dim = *hd;
  } else if (qwen3) {
    c.head_dim = 128;
  } else {
    if (c.hidden_size % c.num_attention_heads != 0)
      r.fail("head_dim", "absent, and hidden_size (" + std::to_string(c.hidden_size) +
                             ") is not a multiple of num_attention_heads (" + std::to_string(c.num_attention_heads) +
                             ")");
    c.head_dim = c.hidden_size / c.num_attention_heads;
  }
  if (c.head_dim % 2 != 0) r.fail("head_dim", std::to_string(c.head_dim) + " is odd (RoPE rotates pairs)");
  c.intermediate_size = r.req_int("intermediate_size", 1, kMax);
  c.vocab_size = r.req_int("vocab_size", 1, kMax);
  c.max_position_embeddings = r.opt_int("max_position_embeddings", 1, kMax).value_or(qwen3 ? 32768 : 2048);  // HF's
  c.rms_norm_eps = r.opt_positive("rms_norm_eps").value_or(1e-6);                            // HF's default
  c.tie_word_embeddings = r.opt_bool("tie_word_embeddings").value_or(false);
  // Sliding-window attention (Qwen3's use_sliding_window, 5.x layer_types) is
  // not implemented: a config that would use it in any layer is refused.
  if (const auto* types = r.get("layer_types")) {
    if (!types->is_array()) r.fail("layer_types", "expected an array of layer types, got " + describe_json(*types));
    for (std::size_t i = 0; i < types->size(); ++i) {
      const nlohmann::json& t = (*types)[i];
      if (!t.is_string() || t.get<std::string>() != "full_attention")
        r.fail("layer_types[" + std::to_string(i) + "]",
               describe_json(t) + " is not supported (expected \"full_attention\")");
    }
  }
  if (r.opt_bool("use_sliding_window").value_or(false) && r.get("sliding_window") != nullptr &&
      r.opt_int("max_window_layers", 0, kMax).value_or(28) < c.num_hidden_layers)
    r.fail("use_sliding_window", "true is not supported (layers from max_window_layers on would use sliding-window "
                                 "attention)");
  // 5.x writes "dtype", 4.x "torch_dtype".
  c.torch_dtype = r.opt_string("torch_dtype").value_or(r.opt_string("dtype").value_or("float32"));

  // num_labels: explicit, else the size of id2label (that is how HF derives it), else HF's default 2.
  if (const auto n = r.opt_int("num_labels", 1, kMax)) {
    c.num_labels = *n;
  } else if (const auto* labels = r.opt_object("id2label")) {
    if (labels->empty()) r.fail("id2label", "is empty (expected at least one label)");
    c.num_labels = static_cast<std::int64_t>(labels->size());
  } else {
    c.num_labels = 2;
  }

  const std::int64_t max_id = c.vocab_size - 1;
  c.pad_token_id = r.opt_int("pad_token_id", 0, max_id);
  c.bos_token_id = r.opt_int("bos_token_id", 0, max_id);
  if (const auto* eos = r.get("eos_token_id")) {
    if (eos->is_array()) {
      for (std::size_t i = 0; i < eos->size(); ++i)
        c.eos_token_ids.push_back(r.int_value("eos_token_id[" + std::to_string(i) + "]", (*eos)[i], 0, max_id));
    } else {
      c.eos_token_ids.push_back(r.int_value("eos_token_id", *eos, 0, max_id));
    }
  }

  // ArmoRM's gating network (read whatever the architecture; used by its head only).
  c.gating.num_objectives = r.opt_int("num_objectives", 1, kMax).value_or(c.gating.num_objectives);
  c.gating.hidden_dim = r.opt_int("gating_hidden_dim", 1, kMax).value_or(c.gating.hidden_dim);
  c.gating.n_hidden = r.opt_int("gating_n_hidden", 0, kMax).value_or(c.gating.n_hidden);
  c.gating.temperature = r.opt_positive("gating_temperature").value_or(c.gating.temperature);

  // RoPE. 5.x: everything in rope_parameters. 4.x: rope_theta at the top
  // level, rope_scaling for the rest (some writers repeat rope_theta in it).
  const double top_theta = r.opt_positive("rope_theta").value_or(10000.0);
  if (const auto* params = r.opt_object("rope_parameters")) {
    const detail::ConfigReader p(*params, source, "rope_parameters.");
    c.rope = detail::parse_rope(*params, "rope_parameters", p.opt_positive("rope_theta").value_or(top_theta), source);
  } else if (const auto* scaling = r.opt_object("rope_scaling")) {
    const detail::ConfigReader s(*scaling, source, "rope_scaling.");
    if (const auto inner = s.opt_positive("rope_theta"); inner && r.get("rope_theta") && *inner != top_theta)
      s.fail("rope_theta",
             std::to_string(*inner) + " differs from the top-level rope_theta (" + std::to_string(top_theta) + ")");
    c.rope = detail::parse_rope(*scaling, "rope_scaling", s.opt_positive("rope_theta").value_or(top_theta), source);
  } else {
    c.rope.theta = top_theta;
  }
  return c;
}

}  // namespace urm
