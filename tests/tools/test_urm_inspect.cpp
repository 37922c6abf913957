// Runs the urm-inspect program (built into URM_BIN_DIR) as a user would.
#include <doctest/doctest.h>

#include <sstream>
#include <string>
#include <vector>

#include "support/io_files.hpp"
#include "support/run_program.hpp"
#include "urm/kernels/linear_dispatch.hpp"

using urm::test::kModels;
namespace fs = std::filesystem;

namespace {

urm::test::ProgramRun inspect(const std::string& args) { return urm::test::run_program("urm-inspect", args); }

// Whitespace-separated fields of the line of `text` whose first field is `key`.
std::vector<std::string> row(const std::string& text, const std::string& key) {
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream in(line);
    std::vector<std::string> f;
    for (std::string w; in >> w;) f.push_back(w);
    if (!f.empty() && f[0] == key) return f;
  }
  return {};
}

// Single-quoted for the shell (built by appending: GCC 12 warns falsely on "'" + std::string).
std::string quoted(const fs::path& p) {
  std::string s = "'";
  s += p.string();
  s += "'";
  return s;
}

}  // namespace

TEST_CASE("urm-inspect prints config, value head and tensor table of each fixture") {
  SUBCASE("tiny-urm-llama3: two shards") {
    const auto r = inspect(quoted(kModels / "tiny-urm-llama3"));
    CHECK(r.status == 0);
    CHECK(r.err.empty());
    CHECK(row(r.out, "hidden_size") == std::vector<std::string>{"hidden_size", "32"});
    CHECK(row(r.out, "vocab_size") == std::vector<std::string>{"vocab_size", "128257"});
    CHECK(row(r.out, "pad_token_id") == std::vector<std::string>{"pad_token_id", "128256"});
    CHECK(row(r.out, "rope.type") == std::vector<std::string>{"rope.type", "default"});
    CHECK(row(r.out, "rope.theta") == std::vector<std::string>{"rope.theta", "500000"});
    CHECK(row(r.out, "value") == std::vector<std::string>{"value", "head:", "urm-prior"});
    CHECK(row(r.out, "tensors:") ==
          std::vector<std::string>{"tensors:", "21", "in", "2", "shard(s),", "8252416", "bytes"});  // index total_size
    CHECK(row(r.out, "model.embed_tokens.weight") == std::vector<std::string>{"model.embed_tokens.weight", "F16",
                                                                              "[128257,", "32]",
                                                                              "model-00001-of-00002.safetensors"});
    CHECK(row(r.out, "score.weight") ==
          std::vector<std::string>{"score.weight", "F16", "[10,", "32]", "model-00002-of-00002.safetensors"});
  }
  SUBCASE("small-gqa-bf16") {
    const auto r = inspect(quoted(kModels / "small-gqa-bf16"));
    CHECK(r.status == 0);
    CHECK(row(r.out, "num_key_value_heads") == std::vector<std::string>{"num_key_value_heads", "1"});
    CHECK(row(r.out, "pad_token_id") == std::vector<std::string>{"pad_token_id", "none"});
    CHECK(row(r.out, "value") == std::vector<std::string>{"value", "head:", "urm-prior"});
    CHECK(
        row(r.out, "model.layers.2.mlp.down_proj.weight") ==
        std::vector<std::string>{"model.layers.2.mlp.down_proj.weight", "BF16", "[256,", "704]", "model.safetensors"});
  }
  SUBCASE("small-urm31-gated") {
    const auto r = inspect(quoted(kModels / "small-urm31-gated"));
    CHECK(r.status == 0);
    CHECK(row(r.out, "rope.type") == std::vector<std::string>{"rope.type", "llama3"});
    CHECK(row(r.out, "rope.factor") == std::vector<std::string>{"rope.factor", "8"});
    CHECK(row(r.out, "value") == std::vector<std::string>{"value", "head:", "urm-gated"});
    CHECK(row(r.out, "weights.fc.4.weight") ==
          std::vector<std::string>{"weights.fc.4.weight", "F16", "[5,", "256]", "model.safetensors"});
  }
}

TEST_CASE("urm-inspect rejects broken checkpoints with `error: <message>` and exit 1 (bad arguments: 2)") {
  const urm::test::TempDir dir("inspect-broken");
  const fs::path gqa = kModels / "small-gqa-bf16";
  fs::copy_file(gqa / "config.json", dir.path() / "config.json");
  SUBCASE("truncated weights") {
    urm::test::write_file(dir.file("model.safetensors"),
                       urm::test::read_file((gqa / "model.safetensors").string()).substr(0, 1000));
    const auto r = inspect(quoted(dir.path()));
    CHECK(r.status == 1);
    CHECK(r.out.empty());
    CHECK(r.err == "error: " + dir.file("model.safetensors") +
                       ": header length 3184 runs past the end of the file (1000 bytes)\n");
  }
  SUBCASE("config that does not match the weights") {
    fs::create_symlink(gqa / "model.safetensors", dir.path() / "model.safetensors");
    auto cfg = nlohmann::json::parse(urm::test::read_file((gqa / "config.json").string()));
    cfg["num_hidden_layers"] = 4;
    urm::test::write_file(dir.file("config.json"), cfg.dump());
    const auto r = inspect(quoted(dir.path()));
    CHECK(r.status == 1);
    CHECK(r.err == "error: " + dir.path().string() +
                       ": config.json has num_hidden_layers = 4, but the checkpoint has 3 (model.layers.0 to "
                       "model.layers.2)\n");
  }
  SUBCASE("unsupported config") {
    fs::create_symlink(gqa / "model.safetensors", dir.path() / "model.safetensors");
    auto cfg = nlohmann::json::parse(urm::test::read_file((gqa / "config.json").string()));
    cfg["attention_bias"] = true;
    urm::test::write_file(dir.file("config.json"), cfg.dump());
    const auto r = inspect(quoted(dir.path()));
    CHECK(r.status == 1);
    CHECK(r.err == "error: " + dir.file("config.json") + ": attention_bias: true is not supported (expected false)\n");
  }
  SUBCASE("no folder") {
    const auto r = inspect("");
    CHECK(r.status == 2);
    CHECK(r.err == "error: no checkpoint folder given\nusage: urm-inspect [--cpu] [DIR]\n");
  }
  SUBCASE("unknown option") {
    const auto r = inspect("--frobnicate");
    CHECK(r.status == 2);
    CHECK(r.err == "error: unknown option --frobnicate\nusage: urm-inspect [--cpu] [DIR]\n");
  }
}

TEST_CASE("urm-inspect --cpu reports the machine without a checkpoint") {
  const auto r = inspect("--cpu");
  CHECK(r.status == 0);
  CHECK(r.out.rfind("cpu:\n", 0) == 0);
  CHECK(row(r.out, "hardware").size() == 3);
  // The path of each mode (fast mode's chosen at run time from the CPU's features).
  CHECK(r.out.find("\n  exact mode matmul: float32 (") != std::string::npos);
  CHECK(r.out.find("\n  fast mode matmul: ") != std::string::npos);
  CHECK(r.out.find("\n  fast mode candidates, fastest first: ") != std::string::npos);
  CHECK(r.out.find("\n  int8 mode matmul: " + urm::kernels::linear_path_name(urm::kernels::int8_mode_path()) + " (int8 x int8 -> int32 on ") !=
        std::string::npos);
  CHECK(r.out.find("\n  int8 mode candidates, fastest first: int8x2-amx_int8") != std::string::npos);
}

TEST_CASE("urm-inspect shows the family of each zoo checkpoint") {
  const fs::path zoo = fs::path(URM_TEST_DATA_DIR) / "zoo" / "models";
  struct Want {
    const char* dir;
    std::vector<std::string> architecture, head, reads;
  };
  const std::vector<Want> wants = {
      {"qwen3-rm", {"architecture:", "Qwen3ForSequenceClassification"}, {"value", "head:", "scalar"},
       {"reads:", "last", "non-pad", "token"}},
      {"armorm-llama3", {"architecture:", "LlamaForRewardModelWithGating"}, {"value", "head:", "armorm"},
       {"reads:", "token", "before", "the", "first", "pad"}},
      {"skywork-llama31-scalar", {"architecture:", "LlamaForSequenceClassification"}, {"value", "head:", "scalar"},
       {"reads:", "last", "non-pad", "token"}},
      {"inform-mlp-llama31", {"architecture:", "INFORMForSequenceClassification"}, {"value", "head:", "inform-mlp"},
       {"reads:", "token", "before", "the", "first", "pad"}},
  };
  for (const auto& w : wants) {
    CAPTURE(w.dir);
    const auto r = inspect(quoted(zoo / w.dir));
    CHECK(r.status == 0);
    CHECK(row(r.out, "architecture:") == w.architecture);
    CHECK(row(r.out, "value") == w.head);
    CHECK(row(r.out, "reads:") == w.reads);
  }
  const auto q = inspect(quoted(zoo / "qwen3-rm"));
  CHECK(row(q.out, "model_type") == std::vector<std::string>{"model_type", "qwen3"});
  CHECK(row(q.out, "backbone:") == std::vector<std::string>{"backbone:", "qwen3"});
  CHECK(row(q.out, "model.layers.0.self_attn.q_norm.weight") ==
        std::vector<std::string>{"model.layers.0.self_attn.q_norm.weight", "BF16", "[16]", "model.safetensors"});
  const auto a = inspect(quoted(zoo / "armorm-llama3"));
  CHECK(row(a.out, "objectives:") == std::vector<std::string>{"objectives:", "19"});
  CHECK(row(a.out, "uncertainty:") == std::vector<std::string>{"uncertainty:", "no"});
  CHECK(row(a.out, "pipeline:") == std::vector<std::string>{"pipeline:", "apply_chat_template", "ids", "(one", "BOS,",
                                                            "the", "template's)"});
}
