// build/bin/urm-make-random-model run as a program: every family it writes
// is one the loader accepts, and bad arguments are exact errors before
// anything is written.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "support/io_files.hpp"
#include "support/run_program.hpp"
#include "urm/model/reward_model.hpp"

namespace {

urm::test::ProgramRun make_model(const std::string& args) {
  return urm::test::run_program("urm-make-random-model", args);
}

// A small Llama shape with the Llama-3 vocabulary size.
const std::string kSmall = "--hidden 16 --layers 2 --heads 2 --kv-heads 1 --ffn 24 --vocab 128256 --dtype bfloat16";

}  // namespace

TEST_CASE("urm-make-random-model: every head, and Qwen3, load and score") {
  const urm::test::TempDir dir("make-random-model");
  struct Case {
    std::string args, architecture;
    urm::ValueHeadKind head;
    std::size_t attributes;
  };
  const std::vector<Case> cases = {
      {kSmall, "LlamaForSequenceClassificationWithNormal_Weights", urm::ValueHeadKind::UrmPrior, 5},
      {kSmall + " --gated", "LlamaForSequenceClassificationWithNormal_Weights", urm::ValueHeadKind::UrmGated, 5},
      {kSmall + " --head scalar", "LlamaForSequenceClassification", urm::ValueHeadKind::Scalar, 0},
      {kSmall + " --head inform-mlp", "INFORMForSequenceClassification", urm::ValueHeadKind::InformMlp, 0},
      {kSmall + " --head armorm", "LlamaForRewardModelWithGating", urm::ValueHeadKind::ArmoRM, 19},
      {"--shape qwen3-0.6b --hidden 16 --layers 2 --heads 2 --kv-heads 1 --head-dim 12 --ffn 24 --vocab 151646 "
       "--dtype float16",
       "Qwen3ForSequenceClassification", urm::ValueHeadKind::Scalar, 0},
  };
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const Case& c = cases[i];
    CAPTURE(c.args);
    const std::string out = dir.file("m" + std::to_string(i));
    const auto r = make_model(c.args + " --out " + out);
    REQUIRE(r.status == 0);
    urm::RewardModel::Options options;
    options.threads = 1;
    const urm::RewardModel rm = urm::RewardModel::load(out, options);
    CHECK(rm.family().architecture.name == c.architecture);
    CHECK(rm.family().head == c.head);
    // ArmoRM reads the assistant header; the others any ids.
    const std::vector<std::int32_t> ids = {128000, 5, 128009, 128006, 78191, 128007, 271, 42};
    const urm::Score s = rm.score_ids(ids);
    CHECK(std::isfinite(s.reward));
    CHECK(s.attributes.size() == c.attributes);
  }
  const urm::RewardModel qwen = urm::RewardModel::load(dir.file("m5"), {});
  CHECK(qwen.model().shape().qk_norm);
  CHECK(qwen.model().shape().head_dim == 12);
  CHECK(qwen.config().tie_word_embeddings);
}

TEST_CASE("urm-make-random-model --outliers: three residual channels 100-1000x the rest, measured and printed") {
  const urm::test::TempDir dir("make-random-model-outliers");
  const std::string plain = dir.file("plain"), massive = dir.file("massive");
  const std::string shape = "--hidden 64 --layers 2 --heads 4 --kv-heads 2 --ffn 96 --vocab 128256 --dtype bfloat16";
  REQUIRE(make_model(shape + " --out " + plain).status == 0);
  const auto r = make_model(shape + " --outliers --out " + massive);
  REQUIRE(r.status == 0);
  // Channels hidden/7, 3 hidden/7 + 1, 5 hidden/7 + 2.
  const std::string head = "massive activations in channels 9 (x100) 28 (x300) 47 (x1000): measured max/median channel "
                           "ratio of the residual stream (mean |h| over 8 random sequences, last layer's output): ";
  REQUIRE(r.out.rfind(head, 0) == 0);
  const double ratio = std::stod(r.out.substr(head.size()));
  CHECK(ratio > 100);
  CHECK(ratio < 2000);
  const auto p = make_model(shape + " --out " + dir.file("plain2"));
  CHECK(p.out.empty());  // without --outliers nothing is measured
  // The written tensors: embedding column 47 and o_proj / down_proj row 47 are 1000x, the rest as without --outliers.
  const urm::Checkpoint a = urm::Checkpoint::open(plain), b = urm::Checkpoint::open(massive);
  const urm::TensorView ea = a.tensor("model.embed_tokens.weight"), eb = b.tensor("model.embed_tokens.weight");
  for (std::size_t i : {47u, 64u + 47u, 64u * 1000u + 47u})
    CHECK(eb.get_f32(i) == doctest::Approx(1000.0 * ea.get_f32(i)).epsilon(0.01));
  CHECK(eb.get_f32(46) == ea.get_f32(46));
  const urm::TensorView da = a.tensor("model.layers.1.mlp.down_proj.weight"), db = b.tensor("model.layers.1.mlp.down_proj.weight");
  CHECK(db.get_f32(9 * 96 + 5) == doctest::Approx(100.0 * da.get_f32(9 * 96 + 5)).epsilon(0.01));
  CHECK(db.get_f32(10 * 96 + 5) == da.get_f32(10 * 96 + 5));
  const urm::TensorView oa = a.tensor("model.layers.0.self_attn.o_proj.weight"), ob = b.tensor("model.layers.0.self_attn.o_proj.weight");
  CHECK(ob.get_f32(28 * 64 + 3) == doctest::Approx(300.0 * oa.get_f32(28 * 64 + 3)).epsilon(0.01));
  // It loads and scores in every mode.
  for (urm::ComputeMode mode : {urm::ComputeMode::Exact, urm::ComputeMode::Int8}) {
    urm::RewardModel::Options o;
    o.threads = 1;
    o.compute = mode;
    CHECK(std::isfinite(urm::RewardModel::load(massive, o).score_ids(std::vector<std::int32_t>{128000, 5, 6, 7}).reward));
  }
}

TEST_CASE("urm-make-random-model: bad arguments are exact errors, and nothing is written") {
  const urm::test::TempDir dir("make-random-model-errors");
  const std::string out = " --out " + dir.file("never");
  struct Case {
    std::string args, error;
  };
  const std::vector<Case> cases = {
      {"--shape tiny --vocab 1000 --dtype bfloat16",
       "--vocab 1000 is too small for the config's token ids (bos_token_id 128000, eos_token_id 128001): give --vocab "
       "128002 or more"},
      {"--shape qwen3-0.6b --vocab 151000 --dtype bfloat16",
       "--vocab 151000 is too small for the config's token ids (bos_token_id 151643, eos_token_id 151645): give "
       "--vocab 151646 or more"},
      {"--shape tiny --hidden 40 --heads 8 --kv-heads 2 --dtype bfloat16",
       "head_dim 5 is odd (RoPE rotates pairs of dimensions)"},
      {"--shape tiny --head-dim 7 --dtype bfloat16", "head_dim 7 is odd (RoPE rotates pairs of dimensions)"},
      {"--shape tiny --hidden 60 --heads 8 --kv-heads 2 --dtype bfloat16",
       "--hidden 60 is not a multiple of --heads 8 (give --head-dim)"},
      {"--shape tiny --kv-heads 3 --dtype bfloat16", "--heads 4 is not a multiple of --kv-heads 3"},
      {"--shape tiny --shard-gb 9000000000 --dtype bfloat16",
       "--shard-gb: expected a whole number from 1 to 1048576, got '9000000000'"},
      {"--shape tiny --layers 0 --dtype bfloat16", "--layers: expected a whole number from 1 to 1048576, got '0'"},
      {"--shape tiny --vocab 12x --dtype bfloat16", "--vocab: expected a whole number from 1 to 1048576, got '12x'"},
      {"--shape huge --dtype bfloat16", "--shape: unknown shape 'huge' (llama3-1b, llama3-8b, tiny, qwen3-0.6b)"},
      {"--shape tiny --dtype int8", "--dtype: expected float16, bfloat16 or float32, got 'int8'"},
      {"--shape tiny --head gpt --dtype bfloat16",
       "--head: unknown head 'gpt' (urm-prior, urm-gated, scalar, inform-mlp, armorm)"},
      {"--shape tiny --head scalar --gated --dtype bfloat16", "--gated is --head urm-gated, not --head scalar"},
      {"--shape qwen3-0.6b --head armorm --dtype bfloat16",
       "no supported architecture has a qwen3 backbone with the armorm head"},
      {"--hidden 16 --dtype bfloat16", "give --shape or all of --hidden --layers --heads --kv-heads --ffn --vocab"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.args);
    const auto r = make_model(c.args + out);
    CHECK(r.status == 1);
    CHECK(r.err == "error: " + c.error + "\n");
    CHECK_FALSE(std::filesystem::exists(dir.file("never")));
  }
  CHECK(make_model("--shape tiny").status == 2);  // no --out, no --dtype: usage
}
