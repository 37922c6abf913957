// urm-make-random-model — write a Hugging Face checkpoint folder with random
// weights of a named Llama shape and a URM value head, for benchmarks.
//
//   urm-make-random-model --shape llama3-1b|llama3-8b|tiny --dtype float16|bfloat16|float32
//                         --out DIR [--seed N] [--hidden H --layers L --heads A --kv-heads K
//                         --ffn F --vocab V] [--gated] [--shard-gb G]
//
// Tensors are streamed chunk by chunk (see write_safetensors), so the 16 GB
// llama3-8b shape needs only a few MB of memory. Weights are uniform with the
// standard deviation of HF's initializer (0.02); norms are 1 + noise so the
// residual stream stays well scaled through many layers.
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
#include <vector>

#include <nlohmann/json.hpp>

#include "urm/core/dtype.hpp"
#include "urm/core/error.hpp"
#include "urm/io/safetensors_writer.hpp"

namespace {

struct Shape {
  std::int64_t hidden = 0, layers = 0, heads = 0, kv_heads = 0, ffn = 0, vocab = 0;
};

std::optional<Shape> named_shape(const std::string& name) {
  if (name == "llama3-1b") return Shape{2048, 16, 32, 8, 8192, 128256};
  if (name == "llama3-8b") return Shape{4096, 32, 32, 8, 14336, 128256};
  if (name == "tiny") return Shape{64, 2, 4, 2, 160, 128256};
  return std::nullopt;
}

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

int usage() {
  std::cerr << "usage: urm-make-random-model --shape llama3-1b|llama3-8b|tiny --dtype float16|bfloat16|float32 --out DIR\n"
               "                             [--seed N] [--hidden H] [--layers L] [--heads A] [--kv-heads K]\n"
               "                             [--ffn F] [--vocab V] [--gated] [--shard-gb G]\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) try {
  std::map<std::string, std::string> opt;
  bool gated = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--gated") {
      gated = true;
    } else if (a.rfind("--", 0) == 0 && i + 1 < argc) {
      opt[a.substr(2)] = argv[++i];
    } else {
      return usage();
    }
  }
  if (!opt.count("out") || !opt.count("dtype")) return usage();
  auto int_opt = [&](const char* key, std::int64_t fallback) -> std::int64_t {
    auto it = opt.find(key);
    if (it == opt.end()) return fallback;
    std::int64_t v = 0;
    const auto [p, ec] = std::from_chars(it->second.data(), it->second.data() + it->second.size(), v);
    if (ec != std::errc() || p != it->second.data() + it->second.size() || v <= 0)
      throw urm::Error("--" + std::string(key) + ": expected a positive integer, got '" + it->second + "'");
    return v;
  };
  Shape s{};
  if (opt.count("shape")) {
    auto named = named_shape(opt["shape"]);
    if (!named) throw urm::Error("--shape: unknown shape '" + opt["shape"] + "' (llama3-1b, llama3-8b, tiny)");
    s = *named;
  }
  s.hidden = int_opt("hidden", s.hidden);
  s.layers = int_opt("layers", s.layers);
  s.heads = int_opt("heads", s.heads);
  s.kv_heads = int_opt("kv-heads", s.kv_heads);
  s.ffn = int_opt("ffn", s.ffn);
  s.vocab = int_opt("vocab", s.vocab);
  if (s.hidden == 0 || s.layers == 0 || s.heads == 0 || s.kv_heads == 0 || s.ffn == 0 || s.vocab == 0)
    throw urm::Error("give --shape or all of --hidden --layers --heads --kv-heads --ffn --vocab");
  if (s.hidden % s.heads != 0 || s.heads % s.kv_heads != 0)
    throw urm::Error("hidden must be a multiple of heads, and heads of kv-heads");
  const std::uint64_t seed = static_cast<std::uint64_t>(int_opt("seed", 1));
  const std::int64_t shard_bytes = int_opt("shard-gb", 4) << 30;

  const std::string dtype_arg = opt["dtype"];
  urm::DType dt;
  if (dtype_arg == "float16") dt = urm::DType::F16;
  else if (dtype_arg == "bfloat16") dt = urm::DType::BF16;
  else if (dtype_arg == "float32") dt = urm::DType::F32;
  else throw urm::Error("--dtype: expected float16, bfloat16 or float32, got '" + dtype_arg + "'");

  const std::int64_t head_dim = s.hidden / s.heads;
  std::vector<urm::TensorSpec> specs;
  specs.push_back({"model.embed_tokens.weight", dt, {s.vocab, s.hidden}});
  for (std::int64_t l = 0; l < s.layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    specs.push_back({p + "input_layernorm.weight", dt, {s.hidden}});
    specs.push_back({p + "self_attn.q_proj.weight", dt, {s.heads * head_dim, s.hidden}});
    specs.push_back({p + "self_attn.k_proj.weight", dt, {s.kv_heads * head_dim, s.hidden}});
    specs.push_back({p + "self_attn.v_proj.weight", dt, {s.kv_heads * head_dim, s.hidden}});
    specs.push_back({p + "self_attn.o_proj.weight", dt, {s.hidden, s.heads * head_dim}});
    specs.push_back({p + "post_attention_layernorm.weight", dt, {s.hidden}});
    specs.push_back({p + "mlp.gate_proj.weight", dt, {s.ffn, s.hidden}});
    specs.push_back({p + "mlp.up_proj.weight", dt, {s.ffn, s.hidden}});
    specs.push_back({p + "mlp.down_proj.weight", dt, {s.hidden, s.ffn}});
  }
  specs.push_back({"model.norm.weight", dt, {s.hidden}});
  specs.push_back({"score.weight", dt, {10, s.hidden}});
  if (gated) {
    // URM-3.1 gate: Linear(hidden, 1024) SELU Linear(1024, 512) SELU Linear(512, 5), as in the gated fixture's layout.
    const std::int64_t g0 = 1024, g1 = 512;
    specs.push_back({"weights.fc.0.weight", dt, {g0, s.hidden}});
    specs.push_back({"weights.fc.0.bias", dt, {g0}});
    specs.push_back({"weights.fc.2.weight", dt, {g1, g0}});
    specs.push_back({"weights.fc.2.bias", dt, {g1}});
    specs.push_back({"weights.fc.4.weight", dt, {5, g1}});
    specs.push_back({"weights.fc.4.bias", dt, {5}});
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
  nlohmann::ordered_json weight_map = nlohmann::ordered_json::object();
  std::size_t total_size = 0;
  for (std::size_t sh = 0; sh < shards.size(); ++sh) {
    char name[64];
    std::snprintf(name, sizeof name, "model-%05zu-of-%05zu.safetensors", sh + 1, shards.size());
    const std::string file = shards.size() == 1 ? std::string("model.safetensors") : std::string(name);
    std::vector<urm::TensorSpec> shard_specs;
    for (auto i : shards[sh]) {
      shard_specs.push_back(specs[i]);
      weight_map[specs[i].name] = file;
      total_size += specs[i].nbytes();
    }
    urm::write_safetensors((out / file).string(), shard_specs, [&](std::size_t ti, std::size_t byte0, std::span<std::byte> chunk) {
      const auto& t = shard_specs[ti];
      const std::size_t esz = urm::dtype_size(t.dtype);
      const bool is_norm = t.shape.size() == 1 && t.name.find("norm") != std::string::npos;
      // Element e of the tensor gets the value of stream (seed, tensor name hash) at e.
      std::uint64_t state = seed * 0x100000001b3ull ^ std::hash<std::string>{}(t.name) ^ (byte0 / esz);
      for (std::size_t e = 0; e < chunk.size() / esz; ++e) {
        const double u = static_cast<double>(splitmix64(state) >> 11) * 0x1.0p-53;  // [0, 1)
        const float r = static_cast<float>(2.0 * u - 1.0) * bound;
        put(chunk.data() + e * esz, t.dtype, is_norm ? 1.0f + r : r);
      }
    });
    std::cerr << "wrote " << (out / file).string() << "\n";
  }
  if (shards.size() > 1) {
    nlohmann::ordered_json index = {{"metadata", {{"total_size", total_size}}}, {"weight_map", weight_map}};
    std::ofstream(out / "model.safetensors.index.json") << index.dump(2) << "\n";
  }

  nlohmann::ordered_json config = {
      {"architectures", {"LlamaForSequenceClassificationWithNormal_Weights"}},
      {"model_type", "llama"},
      {"attention_bias", false},
      {"mlp_bias", false},
      {"hidden_act", "silu"},
      {"hidden_size", s.hidden},
      {"intermediate_size", s.ffn},
      {"num_hidden_layers", s.layers},
      {"num_attention_heads", s.heads},
      {"num_key_value_heads", s.kv_heads},
      {"head_dim", head_dim},
      {"max_position_embeddings", 8192},
      {"rms_norm_eps", 1e-5},
      {"rope_theta", 500000.0},
      {"rope_scaling", nullptr},
      {"tie_word_embeddings", false},
      {"torch_dtype", dtype_arg},
      {"vocab_size", s.vocab},
      {"num_labels", 10},
      {"bos_token_id", 128000},
      {"eos_token_id", 128001},
      {"pad_token_id", nullptr},
  };
  std::ofstream(out / "config.json") << config.dump(2) << "\n";
  std::cerr << "wrote " << (out / "config.json").string() << " (" << total_size / 1e9 << " GB of weights)\n";
  return 0;
} catch (const std::exception& e) {
  std::cerr << "error: " << e.what() << "\n";
  return 1;
}
