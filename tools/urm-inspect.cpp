// urm-inspect DIR — what urm.cpp makes of a Hugging Face checkpoint folder:
// the parsed config.json, the detected family (architecture, backbone, value
// head, the position it reads, the model card's token pipeline), and every
// tensor with its dtype, shape and shard. The checkpoint is fully validated
// against the config first; on any problem it prints `error: <message>` and
// exits 1. Bad arguments, or output that cannot be written (a full disk, a
// reader that closed the pipe: SIGPIPE is ignored), exit 2.
//
//   urm-inspect [--cpu] [DIR]
//     --cpu   also print what this machine's CPU offers to the kernels.
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>

#include "urm/core/error.hpp"
#include "urm/io/checkpoint.hpp"
#include "urm/io/llama_config.hpp"
#include "urm/kernels/linear_dispatch.hpp"
#include "urm/model/model_family.hpp"
#include "urm/serve/line_stream.hpp"

namespace {

const std::string kUsage = "usage: urm-inspect [--cpu] [DIR]";

// A problem with the arguments (exit status 2).
struct UsageError {
  std::string message;
};

// The CPU features detected at run time and the matmul kernel each mode uses
// (exact: float32 FMA chosen at compile time; fast: AMX / AVX512-BF16 / xsimd
// and int8: AVX512-VNNI / AVX-VNNI / AVX2 / generic, chosen at run time).
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
  row("model_type", c.model_type);
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

std::string_view bos_name(urm::BosPolicy b) {
  switch (b) {
    case urm::BosPolicy::CardPipeline: return "template + post-processor (URM card: two BOS)";
    case urm::BosPolicy::Single: return "apply_chat_template ids (one BOS, the template's)";
    case urm::BosPolicy::StripTemplateBos: return "template without its BOS + post-processor (one BOS)";
  }
  return "?";
}

void print_family(std::ostream& out, const urm::ModelFamily& f, const urm::LlamaConfig& c) {
  const auto row = [&](const char* key, const auto& value) {
    out << std::left << std::setw(28) << key << value << "\n";
  };
  row("architecture:", f.architecture.name.empty() ? "(none in config.json)" : std::string(f.architecture.name));
  row("backbone:", urm::to_string(f.backbone()));
  out << "value head: " << urm::to_string(f.head) << "\n";
  row("  what:", f.traits().summary);
  row("  reads:", urm::to_string(f.traits().pooling));
  row("  uncertainty:", f.traits().uncertain ? "yes (log-std per attribute)" : "no");
  if (f.head == urm::ValueHeadKind::ArmoRM) {
    row("  objectives:", c.gating.num_objectives);
    row("  gating:", std::to_string(c.gating.n_hidden) + " x " + std::to_string(c.gating.hidden_dim) +
                         ", temperature " + std::to_string(c.gating.temperature));
  }
  row("pipeline:", bos_name(f.traits().bos));
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
      throw UsageError{"unknown option " + a};
    } else if (dir.empty()) {
      dir = a;
    } else {
      throw UsageError{"more than one checkpoint folder given"};
    }
  }
  if (dir.empty() && !cpu) throw UsageError{"no checkpoint folder given"};
  if (cpu) print_cpu(std::cout);
  if (dir.empty()) return 0;

  // The folder first: it names a folder that is not one (then config.json).
  const auto ckpt = urm::Checkpoint::open(dir);
  const auto cfg = urm::LlamaConfig::load((std::filesystem::path(dir) / "config.json").string());
  const urm::ModelFamily family = urm::validate_checkpoint(ckpt, cfg);
  std::cout << "checkpoint: " << dir << "\n";
  print_config(std::cout, cfg);
  print_family(std::cout, family, cfg);
  print_tensors(std::cout, ckpt);
  return 0;
}

// Everything printed so far reached standard output, or exit status 2.
int checked_output(int status) {
  errno = 0;
  std::cout.flush();
  if (std::cout) return status;
  std::cerr << "error: cannot write standard output" << (errno ? std::string(": ") + std::strerror(errno) : "") << "\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  const urm::StandardStreams standard = urm::prepare_standard_streams();
  if (standard.out_closed) {
    std::cerr << "error: standard output is closed\n";
    return 2;
  }
  try {
    return checked_output(run(argc, argv));
  } catch (const UsageError& e) {
    std::cerr << "error: " << e.message << "\n" << kUsage << "\n";
    return 2;
  } catch (...) {  // urm::Error, and e.g. std::bad_alloc: still a clean exit 1
    std::cerr << "error: " << urm::current_exception_message() << "\n";
  }
  return checked_output(1);
}
