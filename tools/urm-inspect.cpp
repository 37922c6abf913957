// urm-inspect DIR — what urm.cpp makes of a Hugging Face checkpoint folder:
// the parsed config.json, the detected value head, and every tensor with its
// dtype, shape and shard. The checkpoint is fully validated against the
// config first; on any problem it prints `error: <message>` and exits 1.
//
//   urm-inspect [--cpu] [DIR]
//     --cpu   also print what this machine's CPU offers to the kernels.
#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>

#include "urm/core/error.hpp"
#include "urm/io/checkpoint.hpp"
#include "urm/io/llama_checkpoint.hpp"
#include "urm/io/llama_config.hpp"
#include "urm/kernels/linear_dispatch.hpp"

namespace {

const std::string kUsage = "usage: urm-inspect [--cpu] [DIR]";

// The CPU features detected at run time and the matmul kernel each mode uses
// (exact: float32 FMA chosen at compile time; fast: AMX / AVX512-BF16 / xsimd
// chosen at run time).
void print_cpu(std::ostream& out) {
  out << "cpu:\n  hardware threads: " << std::thread::hardware_concurrency() << "\n";
  std::istringstream lines(urm::kernels::describe_kernels());
  for (std::string line; std::getline(lines, line);) out << "  " << line << "\n";
}

std::string optional_id(const std::optional<std::int64_t>& id) { return id ? std::to_string(*id) : "none"; }

void print_config(std::ostream& out, const urm::LlamaConfig& c) {
  std::string eos;
  for (std::size_t i = 0; i < c.eos_token_ids.size(); ++i) eos += (i ? ", " : "") + std::to_string(c.eos_token_ids[i]);
  const auto row = [&](const char* key, const auto& value) {
    out << "  " << std::left << std::setw(26) << key << value << "\n";
  };
  out << "config:\n";
  row("hidden_size", c.hidden_size);
  row("num_hidden_layers", c.num_hidden_layers);
  row("num_attention_heads", c.num_attention_heads);
  row("num_key_value_heads", c.num_key_value_heads);
  row("head_dim", c.head_dim);
  row("intermediate_size", c.intermediate_size);
  row("vocab_size", c.vocab_size);
  row("max_position_embeddings", c.max_position_embeddings);
  row("rms_norm_eps", c.rms_norm_eps);
  row("num_labels", c.num_labels);
  row("torch_dtype", c.torch_dtype);
  row("tie_word_embeddings", c.tie_word_embeddings ? "true" : "false");
  row("pad_token_id", optional_id(c.pad_token_id));
  row("bos_token_id", optional_id(c.bos_token_id));
  row("eos_token_id", "[" + eos + "]");
  row("rope.type", c.rope.type);
  row("rope.theta", c.rope.theta);
  if (c.rope.type == "llama3") {
    row("rope.factor", c.rope.factor);
    row("rope.low_freq_factor", c.rope.low_freq_factor);
    row("rope.high_freq_factor", c.rope.high_freq_factor);
    row("rope.original_max_pos", c.rope.original_max_position_embeddings);
  }
}

void print_tensors(std::ostream& out, const urm::Checkpoint& ckpt) {
  const auto names = ckpt.names();
  std::size_t name_w = 4, shape_w = 5;
  std::uint64_t total = 0;
  for (const auto& n : names) {
    name_w = std::max(name_w, n.size());
    shape_w = std::max(shape_w, urm::shape_string(ckpt.tensor(n).shape).size());
    total += ckpt.tensor(n).nbytes;
  }
  out << "tensors: " << names.size() << " in " << ckpt.shard_names().size() << " shard(s), " << total << " bytes\n";
  out << "  " << std::left << std::setw(static_cast<int>(name_w)) << "name"
      << "  " << std::setw(5) << "dtype"
      << "  " << std::setw(static_cast<int>(shape_w)) << "shape"
      << "  shard\n";
  for (const auto& n : names) {
    const auto& t = ckpt.tensor(n);
    out << "  " << std::setw(static_cast<int>(name_w)) << n << "  " << std::setw(5) << urm::dtype_name(t.dtype) << "  "
        << std::setw(static_cast<int>(shape_w)) << urm::shape_string(t.shape) << "  " << ckpt.shard_of(n) << "\n";
  }
}

int run(int argc, char** argv) {
  bool cpu = false;
  std::string dir;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--cpu") {
      cpu = true;
    } else if (a == "-h" || a == "--help") {
      std::cout << kUsage << "\n";
      return 0;
    } else if (a.starts_with("-")) {
      throw urm::Error("unknown option " + a + "\n" + kUsage);
    } else if (dir.empty()) {
      dir = a;
    } else {
      throw urm::Error("more than one checkpoint folder given\n" + kUsage);
    }
  }
  if (dir.empty() && !cpu) throw urm::Error("no checkpoint folder given\n" + kUsage);
  if (cpu) print_cpu(std::cout);
  if (dir.empty()) return 0;

  const auto cfg = urm::LlamaConfig::load((std::filesystem::path(dir) / "config.json").string());
  const auto ckpt = urm::Checkpoint::open(dir);
  urm::validate_llama_checkpoint(ckpt, cfg);
  std::cout << "checkpoint: " << dir << "\n";
  print_config(std::cout, cfg);
  std::cout << "value head: " << urm::to_string(urm::detect_value_head(ckpt, cfg)) << "\n";
  print_tensors(std::cout, ckpt);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const urm::Error& e) {
    std::cerr << "error: " << e.what() << "\n";
  } catch (const std::exception& e) {  // e.g. std::bad_alloc: still a clean exit 1
    std::cerr << "error: " << e.what() << "\n";
  }
  return 1;
}
