// urm-make-random-model — write a Hugging Face checkpoint folder with random
// weights of a named shape and any supported value head, for benchmarks and
// tests.
//
//   urm-make-random-model --shape llama3-1b|llama3-8b|tiny|qwen3-0.6b --dtype float16|bfloat16|float32
//                         --out DIR [--head urm-prior|urm-gated|scalar|inform-mlp|armorm] [--gated] [--seed N]
//                         [--hidden H --layers L --heads A --kv-heads K --head-dim D --ffn F --vocab V]
//                         [--shard-gb G] [--outliers]
//
// The config is written first as a family's config.json would be, read back
// with the library's reader, and the tensors written are exactly those its
// family description names (model_family.hpp), so what this writes is what
// the loader accepts. Every argument is checked before anything is written.
//
// Tensors are streamed chunk by chunk (see write_safetensors), so the 16 GB
// llama3-8b shape needs only a few MB of memory. Weights are uniform with the
// standard deviation of HF's initializer (0.02); norms (and ArmoRM's logit
// scale) are 1 + noise so the residual stream stays well scaled through many
// layers.
//
// --outliers gives the residual stream "massive activations", as real Llama
// checkpoints have (a few hidden channels 100-1000x the others, Sun et al.
// 2024): three channels c get factors 100, 300 and 1000 in every tensor that
// writes the residual stream — column c of the embedding and row c of each
// o_proj and down_proj — so every layer keeps them. The tool then runs the
// model on a few random sequences and prints the measured ratio of the
// largest channel's mean |h| to the median channel's, at the last layer's
// output. That is the test bed of reduced-precision modes: per-token
// quantization of such rows loses the ordinary channels.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "urm/core/dtype.hpp"
#include "urm/core/error.hpp"
#include "urm/io/llama_config.hpp"
#include "urm/io/safetensors_writer.hpp"
#include "urm/model/llama_model.hpp"
#include "urm/model/model_family.hpp"

namespace {

struct Shape {
  urm::Backbone backbone = urm::Backbone::Llama;
  std::int64_t hidden = 0, layers = 0, heads = 0, kv_heads = 0, head_dim = 0, ffn = 0, vocab = 0;  // head_dim 0: hidden / heads
};

std::optional<Shape> named_shape(const std::string& name) {
  using urm::Backbone;
  if (name == "llama3-1b") return Shape{Backbone::Llama, 2048, 16, 32, 8, 0, 8192, 128256};
  if (name == "llama3-8b") return Shape{Backbone::Llama, 4096, 32, 32, 8, 0, 14336, 128256};
  if (name == "tiny") return Shape{Backbone::Llama, 64, 2, 4, 2, 0, 160, 128256};
  if (name == "qwen3-0.6b") return Shape{Backbone::Qwen3, 1024, 28, 16, 8, 128, 3072, 151936};
  return std::nullopt;
}

// Sizes beyond this are no model's and would overflow the byte counts.
constexpr std::int64_t kMaxSize = 1 << 20;
// 2^20 GB: shard_gb << 30 stays far inside int64.
constexpr std::int64_t kMaxShardGb = 1 << 20;

// splitmix64: a tiny, well-mixed generator; one stream per tensor (seeded by
// seed and tensor index) makes each tensor's bytes independent of chunking.
std::uint64_t splitmix64(std::uint64_t& s) {
  std::uint64_t z = (s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

void put(std::byte* dst, urm::DType dt, float v) {
  switch (dt) {
    case urm::DType::F32: std::memcpy(dst, &v, 4); break;
    case urm::DType::F16: {
      const std::uint16_t h = urm::f32_to_f16(v);
      std::memcpy(dst, &h, 2);
      break;
    }
    case urm::DType::BF16: {
      const std::uint16_t h = urm::f32_to_bf16(v);
      std::memcpy(dst, &h, 2);
      break;
    }
    default: throw urm::Error("unsupported dtype");
  }
}

bool is_norm(urm::TensorRole r) {
  using R = urm::TensorRole;
  return r == R::AttnNorm || r == R::FfnNorm || r == R::FinalNorm || r == R::QNorm || r == R::KNorm ||
         r == R::LogitScale;
}

std::string head_names() {
  std::string s;
  for (const auto& h : urm::kHeads) s += (s.empty() ? "" : ", ") + std::string(h.name);
  return s;
}

int usage() {
  std::cerr << "usage: urm-make-random-model --shape llama3-1b|llama3-8b|tiny|qwen3-0.6b --dtype float16|bfloat16|float32\n"
               "                             --out DIR [--head " << head_names() << "] [--gated] [--seed N]\n"
               "                             [--hidden H] [--layers L] [--heads A] [--kv-heads K] [--head-dim D]\n"
               "                             [--ffn F] [--vocab V] [--shard-gb G] [--outliers]\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) try {
  std::map<std::string, std::string> opt;
  bool gated = false, outliers = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--outliers") {
      outliers = true;
    } else if (a == "--gated") {
      gated = true;
    } else if (a.rfind("--", 0) == 0 && i + 1 < argc) {
      opt[a.substr(2)] = argv[++i];
    } else {
      return usage();
    }
  }
  if (!opt.count("out") || !opt.count("dtype")) return usage();
  auto int_opt = [&](const char* key, std::int64_t fallback, std::int64_t max) -> std::int64_t {
    auto it = opt.find(key);
    if (it == opt.end()) return fallback;
    std::int64_t v = 0;
    const auto [p, ec] = std::from_chars(it->second.data(), it->second.data() + it->second.size(), v);
    if (ec != std::errc() || p != it->second.data() + it->second.size() || v <= 0 || v > max)
      throw urm::Error("--" + std::string(key) + ": expected a whole number from 1 to " + std::to_string(max) +
                       ", got '" + it->second + "'");
    return v;
  };
  Shape s{};
  if (opt.count("shape")) {
    auto named = named_shape(opt["shape"]);
    if (!named)
      throw urm::Error("--shape: unknown shape '" + opt["shape"] + "' (llama3-1b, llama3-8b, tiny, qwen3-0.6b)");
    s = *named;
  }
  s.hidden = int_opt("hidden", s.hidden, kMaxSize);
  s.layers = int_opt("layers", s.layers, kMaxSize);
  s.heads = int_opt("heads", s.heads, kMaxSize);
  s.kv_heads = int_opt("kv-heads", s.kv_heads, kMaxSize);
  s.head_dim = int_opt("head-dim", s.head_dim, kMaxSize);
  s.ffn = int_opt("ffn", s.ffn, kMaxSize);
  s.vocab = int_opt("vocab", s.vocab, kMaxSize);
  if (s.hidden == 0 || s.layers == 0 || s.heads == 0 || s.kv_heads == 0 || s.ffn == 0 || s.vocab == 0)
    throw urm::Error("give --shape or all of --hidden --layers --heads --kv-heads --ffn --vocab");
  if (s.heads % s.kv_heads != 0)
    throw urm::Error("--heads " + std::to_string(s.heads) + " is not a multiple of --kv-heads " +
                     std::to_string(s.kv_heads));
  if (s.head_dim == 0) {
    if (s.hidden % s.heads != 0)
      throw urm::Error("--hidden " + std::to_string(s.hidden) + " is not a multiple of --heads " +
                       std::to_string(s.heads) + " (give --head-dim)");
    s.head_dim = s.hidden / s.heads;
  }
  if (s.head_dim % 2 != 0)
    throw urm::Error("head_dim " + std::to_string(s.head_dim) + " is odd (RoPE rotates pairs of dimensions)");
  const std::uint64_t seed = static_cast<std::uint64_t>(int_opt("seed", 1, INT64_MAX));
  const std::int64_t shard_bytes = int_opt("shard-gb", 4, kMaxShardGb) << 30;

  const std::string dtype_arg = opt["dtype"];
  urm::DType dt;
  if (dtype_arg == "float16") dt = urm::DType::F16;
  else if (dtype_arg == "bfloat16") dt = urm::DType::BF16;
  else if (dtype_arg == "float32") dt = urm::DType::F32;
  else throw urm::Error("--dtype: expected float16, bfloat16 or float32, got '" + dtype_arg + "'");

  // The head: --head, --gated, else the shape's usual one.
  urm::ValueHeadKind head = s.backbone == urm::Backbone::Qwen3 ? urm::ValueHeadKind::Scalar : urm::ValueHeadKind::UrmPrior;
  if (opt.count("head")) {
    const auto it = std::find_if(urm::kHeads.begin(), urm::kHeads.end(), [&](const auto& h) { return h.name == opt["head"]; });
    if (it == urm::kHeads.end()) throw urm::Error("--head: unknown head '" + opt["head"] + "' (" + head_names() + ")");
    head = it->kind;
  }
  if (gated) {
    if (opt.count("head") && head != urm::ValueHeadKind::UrmGated)
      throw urm::Error("--gated is --head urm-gated, not --head " + opt["head"]);
    head = urm::ValueHeadKind::UrmGated;
  }
  const urm::Architecture* arch = urm::architecture_for(s.backbone, head);
  if (!arch)
    throw urm::Error("no supported architecture has a " + std::string(urm::to_string(s.backbone)) +
                     " backbone with the " + std::string(urm::to_string(head)) + " head");

  // The config, as the family's config.json spells it.
  const bool qwen3 = s.backbone == urm::Backbone::Qwen3;
  const nlohmann::json bos = qwen3 ? 151643 : 128000, eos = qwen3 ? 151645 : 128001;
  const nlohmann::json pad = qwen3 ? nlohmann::json(151643) : nlohmann::json(nullptr);
  const std::int64_t largest_id = qwen3 ? 151645 : 128001;
  if (s.vocab <= largest_id)
    throw urm::Error("--vocab " + std::to_string(s.vocab) + " is too small for the config's token ids (bos_token_id " +
                     bos.dump() + ", eos_token_id " + eos.dump() + "): give --vocab " + std::to_string(largest_id + 1) +
                     " or more");
  nlohmann::ordered_json config = {
      {"architectures", {std::string(arch->name)}},
      {"model_type", std::string(urm::to_string(s.backbone))},
      {"attention_bias", false},
      {"mlp_bias", false},
      {"hidden_act", "silu"},
      {"hidden_size", s.hidden},
      {"intermediate_size", s.ffn},
      {"num_hidden_layers", s.layers},
      {"num_attention_heads", s.heads},
      {"num_key_value_heads", s.kv_heads},
      {"head_dim", s.head_dim},
      {"max_position_embeddings", qwen3 ? 40960 : 8192},
      {"rms_norm_eps", qwen3 ? 1e-6 : 1e-5},
      {"rope_theta", qwen3 ? 1000000.0 : 500000.0},
      {"rope_scaling", nullptr},
      {"tie_word_embeddings", qwen3},
      {"torch_dtype", dtype_arg},
      {"vocab_size", s.vocab},
      {"bos_token_id", bos},
      {"eos_token_id", eos},
      {"pad_token_id", pad},
  };
  if (qwen3) config["use_sliding_window"] = false;
  if (head == urm::ValueHeadKind::UrmPrior || head == urm::ValueHeadKind::UrmGated) config["num_labels"] = 10;
  if (head == urm::ValueHeadKind::Scalar || head == urm::ValueHeadKind::InformMlp) config["num_labels"] = 1;
  if (head == urm::ValueHeadKind::ArmoRM) {
    config["num_objectives"] = urm::kArmoRmObjectives.size();
    config["gating_hidden_dim"] = 1024;
    config["gating_n_hidden"] = 3;
    config["gating_temperature"] = 10;
  }
  const urm::LlamaConfig cfg = urm::LlamaConfig::from_json(config, "the config.json to write");
  urm::ModelFamily family{*arch, head, {}};
  // URM-3.1 gate: Linear(hidden, 1024) SELU Linear(1024, 512) SELU Linear(512, 5), as in the gated fixture's layout.
  if (head == urm::ValueHeadKind::UrmGated) family.gate_widths = {1024, 512, urm::kUrmAttributes};
  const urm::ModelTensors tensors = urm::model_tensors(cfg, family);
  std::vector<urm::TensorSpec> specs;
  std::vector<bool> norm;
  for (const urm::ModelTensor& t : tensors) {
    specs.push_back({t.name, dt, t.shape});
    norm.push_back(is_norm(t.role));
  }

  // Greedy sharding by size, as transformers' save_pretrained does.
  std::vector<std::vector<std::size_t>> shards(1);
  std::int64_t in_shard = 0;
  for (std::size_t i = 0; i < specs.size(); ++i) {
    const auto nb = static_cast<std::int64_t>(specs[i].nbytes());
    if (in_shard > 0 && in_shard + nb > shard_bytes) {
      shards.emplace_back();
      in_shard = 0;
    }
    shards.back().push_back(i);
    in_shard += nb;
  }

  const std::filesystem::path out = opt["out"];
  std::filesystem::create_directories(out);
  const float bound = 0.02f * std::sqrt(3.0f);  // uniform(-b, b) has std 0.02
  // --outliers: channel -> factor, and how a tensor's element index maps to the channel.
  const std::vector<std::pair<std::int64_t, float>> massive = {
      {s.hidden / 7, 100.0f}, {s.hidden * 3 / 7 + 1, 300.0f}, {s.hidden * 5 / 7 + 2, 1000.0f}};
  const auto outlier_factor = [&](const urm::TensorSpec& t, std::size_t element) {
    if (!outliers || t.shape.size() != 2) return 1.0f;
    const auto cols = static_cast<std::size_t>(t.shape[1]);
    std::int64_t channel = -1;
    if (t.name == "model.embed_tokens.weight") channel = static_cast<std::int64_t>(element % cols);
    else if (t.name.ends_with(".self_attn.o_proj.weight") || t.name.ends_with(".mlp.down_proj.weight"))
      channel = static_cast<std::int64_t>(element / cols);
    for (const auto& [c, f] : massive)
      if (c == channel) return f;
    return 1.0f;
  };
  nlohmann::ordered_json weight_map = nlohmann::ordered_json::object();
  std::size_t total_size = 0;
  for (std::size_t sh = 0; sh < shards.size(); ++sh) {
    char name[64];
    std::snprintf(name, sizeof name, "model-%05zu-of-%05zu.safetensors", sh + 1, shards.size());
    const std::string file = shards.size() == 1 ? std::string("model.safetensors") : std::string(name);
    std::vector<urm::TensorSpec> shard_specs;
    std::vector<bool> shard_norm;
    for (auto i : shards[sh]) {
      shard_specs.push_back(specs[i]);
      shard_norm.push_back(norm[i]);
      weight_map[specs[i].name] = file;
      total_size += specs[i].nbytes();
    }
    urm::write_safetensors((out / file).string(), shard_specs, [&](std::size_t ti, std::size_t byte0, std::span<std::byte> chunk) {
      const auto& t = shard_specs[ti];
      const std::size_t esz = urm::dtype_size(t.dtype);
      // Element e of the tensor gets the value of stream (seed, tensor name hash) at e.
      std::uint64_t state = seed * 0x100000001b3ull ^ std::hash<std::string>{}(t.name) ^ (byte0 / esz);
      for (std::size_t e = 0; e < chunk.size() / esz; ++e) {
        const double u = static_cast<double>(splitmix64(state) >> 11) * 0x1.0p-53;  // [0, 1)
        const float r = static_cast<float>(2.0 * u - 1.0) * bound;
        put(chunk.data() + e * esz, t.dtype, shard_norm[ti] ? 1.0f + r : r * outlier_factor(t, byte0 / esz + e));
      }
    });
    std::cerr << "wrote " << (out / file).string() << "\n";
  }
  if (shards.size() > 1) {
    nlohmann::ordered_json index = {{"metadata", {{"total_size", total_size}}}, {"weight_map", weight_map}};
    std::ofstream(out / "model.safetensors.index.json") << index.dump(2) << "\n";
  }
  std::ofstream(out / "config.json") << config.dump(2) << "\n";
  std::cerr << "wrote " << (out / "config.json").string() << " (" << total_size / 1e9 << " GB of weights, "
            << urm::describe(family) << ")\n";
  if (outliers) {
    // The residual stream of the written model, measured: the last layer's
    // output (the trace's second-to-last row) of the last token of 8 random
    // sequences of 16 tokens; per channel the mean |h|.
    const urm::Checkpoint ckpt = urm::Checkpoint::open(out.string());
    const urm::LlamaModel model = urm::LlamaModel::from_checkpoint(ckpt, urm::LlamaConfig::load((out / "config.json").string()));
    urm::ThreadPool pool(0);
    urm::LlamaState st;
    std::vector<double> mean_abs(static_cast<std::size_t>(s.hidden));
    std::uint64_t state = seed;
    for (int seq = 0; seq < 8; ++seq) {
      std::vector<std::int32_t> ids(16);
      for (auto& id : ids) id = static_cast<std::int32_t>(splitmix64(state) % 128000);
      std::vector<std::vector<float>> trace;
      st.clear();
      model.forward(ids, st, urm::LlamaOutput::Last, pool, &trace);
      const std::vector<float>& h = trace[trace.size() - 2];
      for (std::size_t c = 0; c < h.size(); ++c) mean_abs[c] += std::abs(h[c]) / 8.0;
    }
    std::vector<double> sorted = mean_abs;
    std::sort(sorted.begin(), sorted.end());
    const double median = sorted[sorted.size() / 2];
    std::cout << "massive activations in channels";
    for (const auto& [c, f] : massive) std::cout << " " << c << " (x" << f << ")";
    std::cout << ": measured max/median channel ratio of the residual stream (mean |h| over 8 random sequences, "
                 "last layer's output): "
              << sorted.back() / median << "\n";
  }
  return 0;
} catch (const std::exception& e) {
  std::cerr << "error: " << e.what() << "\n";
  return 1;
}
