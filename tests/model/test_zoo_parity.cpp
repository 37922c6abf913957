// Parity with the reference on the zoo checkpoints (tests/data/zoo: Qwen3 and
// Skywork-Reward-V2 scalar heads, ArmoRM, INF-ORM; tests/data/README.md):
// for every case of model_golden.json the pooled position, ArmoRM's gating
// position, every layer's last-token state, the pooled hidden state, every
// quantity of the head, and the score, all within 1e-4 absolute; the cases
// the reference rejects fail with a clear urm::Error; and conversation cases
// give the golden ids through each family's pipeline.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "support/kernel_reference.hpp"
#include "support/zoo_fixtures.hpp"
#include "urm/core/thread_pool.hpp"
#include "urm/io/checkpoint.hpp"
#include "urm/io/llama_config.hpp"
#include "urm/model/llama_model.hpp"
#include "urm/model/model_family.hpp"
#include "urm/model/reward_head.hpp"
#include "urm/model/reward_model.hpp"

using namespace urm;

namespace {

constexpr float kZooTol = 1e-4f;

struct ZooFamily {
  const char* architecture;
  Backbone backbone;
  ValueHeadKind head;
};

const std::map<std::string, ZooFamily> kZooExpected = {
    {"qwen3-rm", {"Qwen3ForSequenceClassification", Backbone::Qwen3, ValueHeadKind::Scalar}},
    {"armorm-llama3", {"LlamaForRewardModelWithGating", Backbone::Llama, ValueHeadKind::ArmoRM}},
    {"skywork-llama31-scalar", {"LlamaForSequenceClassification", Backbone::Llama, ValueHeadKind::Scalar}},
    {"inform-mlp-llama31", {"INFORMForSequenceClassification", Backbone::Llama, ValueHeadKind::InformMlp}},
};

std::vector<float> hidden_row(std::span<const float> rows, std::size_t i, std::size_t d) {
  return {rows.begin() + static_cast<std::ptrdiff_t>(i * d), rows.begin() + static_cast<std::ptrdiff_t>((i + 1) * d)};
}

// Every case through exact mode on `path` (the default: the float32 FMA
// path; exact_path_cases below: the 3-part bfloat16 paths of AMX machines).
void check_family(const std::string& name, const kernels::LinearPath& path = kernels::kStoredPath) {
  CAPTURE(kernels::linear_path_name(path));
  const std::string dir = test::zoo_model_dir(name);
  const Checkpoint ckpt = Checkpoint::open(dir);
  const LlamaConfig cfg = LlamaConfig::load(dir + "/config.json");
  const ModelFamily family = validate_checkpoint(ckpt, cfg);
  const ZooFamily& want = kZooExpected.at(name);
  CHECK(family.architecture.name == want.architecture);
  CHECK(family.backbone() == want.backbone);
  CHECK(family.head == want.head);

  ThreadPool pool(2);
  LlamaModel model = LlamaModel::from_validated_checkpoint(ckpt, cfg);
  if (path != kernels::kStoredPath) model.pack_projections(pool, path);
  const RewardHead head = RewardHead::from_checkpoint(ckpt, cfg, family);
  RewardModel::Options options;
  options.threads = 2;
  options.exact_path = path;
  const RewardModel rm = RewardModel::load(dir, options);
  REQUIRE(rm.model().path() == path);
  const std::size_t L = model.shape().n_layers, D = model.shape().dim;
  LlamaState st;
  float worst_state = 0, worst_head = 0, worst_score = 0;
  std::size_t matched = 0, errors = 0;
  const auto& cases = test::zoo_cases(name);
  REQUIRE(!cases.empty());
  for (std::size_t c = 0; c < cases.size(); ++c) {
    const auto& cs = cases[c];
    CAPTURE(name);
    CAPTURE(c);
    const auto ids = test::zoo_ids(cs);
    REQUIRE(ids.size() == cs.at("n_tokens").get<std::size_t>());
    if (cs.contains("expect_error")) {
      // The remote code raises "ValueError: Token pattern not found in the list.".
      const std::string message =
          "ArmoRM: the input does not contain the token pattern [128009, 128006, 78191, 128007, 271] "
          "(<|eot_id|><|start_header_id|>assistant<|end_header_id|>\\n\\n), the assistant header whose last occurrence "
          "the gating network reads (the reference raises \"ValueError: Token pattern not found in the list.\")";
      CHECK(cs.at("expect_error") == "ValueError: Token pattern not found in the list.");
      CHECK_THROWS_WITH_AS(head.positions(ids), message.c_str(), Error);
      CHECK_THROWS_WITH_AS(rm.score_ids(ids), message.c_str(), Error);
      ++errors;
      continue;
    }

    const HeadPositions read = head.positions(ids);
    CHECK(read.pooled == cs.at("pool_index").get<std::size_t>());
    if (cs.contains("gating_position")) {
      REQUIRE(read.gating.has_value());
      CHECK(*read.gating == cs.at("gating_position").get<std::size_t>());
    } else {
      CHECK_FALSE(read.gating.has_value());
    }

    // One pass returning the head's rows and the last token (for the trace).
    std::vector<std::size_t> rows = read.rows();
    if (rows.back() != ids.size() - 1) rows.push_back(ids.size() - 1);
    std::vector<std::vector<float>> trace;
    st.clear();
    const auto h = model.forward(ids, st, rows, pool, &trace);
    REQUIRE(h.size() == rows.size() * D);
    const auto at = [&](std::size_t position) {
      return hidden_row(h, static_cast<std::size_t>(std::find(rows.begin(), rows.end(), position) - rows.begin()), D);
    };
    // layer_last_token: the embedding, layers 0 … L−2, then after the final norm.
    const auto& layers = cs.at("layer_last_token");
    REQUIRE(layers.size() == L + 1);
    REQUIRE(trace.size() == L + 2);
    for (std::size_t k = 0; k < L; ++k) CHECK(test::golden_diff(trace[k], layers[k], worst_state) <= kZooTol);
    CHECK(test::golden_diff(trace[L + 1], layers[L], worst_state) <= kZooTol);
    CHECK(test::golden_diff(at(ids.size() - 1), cs.at("last_hidden"), worst_state) <= kZooTol);
    const std::vector<float> pooled = at(read.pooled);
    CHECK(test::golden_diff(pooled, cs.at("pooled_hidden"), worst_state) <= kZooTol);

    // The head's quantities.
    float reward = 0;
    if (const auto* armo = std::get_if<ArmoRmHead>(&head.head())) {
      const std::vector<float> gate = at(*read.gating);
      CHECK(test::golden_diff(gate, cs.at("prompt_embedding"), worst_state) <= kZooTol);
      const ArmoRmHead::Evaluation e = armo->evaluate_parts(pooled, gate, pool);
      CHECK(test::golden_diff(e.multi_obj_rewards, cs.at("multi_obj_rewards"), worst_head) <= kZooTol);
      CHECK(test::golden_diff(e.gating_output, cs.at("gating_output"), worst_head) <= kZooTol);
      CHECK(test::golden_diff(e.transformed_rewards, cs.at("transformed_rewards"), worst_head) <= kZooTol);
      CHECK(test::golden_diff(e.multi_obj_coeffs, cs.at("multi_obj_coeffs"), worst_head) <= kZooTol);
      reward = e.reward;
    } else if (const auto* mlp = std::get_if<MlpValueHead>(&head.head())) {
      const MlpValueHead::Evaluation e = mlp->evaluate_parts(pooled, pool);
      CHECK(test::golden_diff(e.hidden, cs.at("score_hidden_relu"), worst_head) <= kZooTol);
      reward = e.reward;
      CHECK(test::golden_diff({reward}, cs.at("head"), worst_head) <= kZooTol);
    } else {
      reward = std::get<UncertainValueHead>(head.head()).evaluate(pooled, pool).reward;
      CHECK(test::golden_diff({reward}, cs.at("head"), worst_head) <= kZooTol);
    }
    CHECK(test::golden_diff({reward}, nlohmann::json::array({cs.at("score")}), worst_score) <= kZooTol);

    // The whole scoring path: positions, row selection, head, Score.
    const Score s = rm.score_ids(ids);
    CHECK(test::golden_diff({s.reward}, nlohmann::json::array({cs.at("score")}), worst_score) <= kZooTol);
    CHECK(s.n_tokens == ids.size());
    CHECK_FALSE(s.has_uncertainty);
    CHECK(s.reward_variance == 0.0f);
    CHECK(s.sample_rewards(3, 7) == std::vector<float>(3, s.reward));
    if (family.head == ValueHeadKind::ArmoRM) {
      const auto& names = test::zoo_spec(name).at("attributes");
      REQUIRE(s.attributes.size() == names.size());
      std::vector<float> means;
      float sum = 0;
      for (std::size_t i = 0; i < s.attributes.size(); ++i) {
        CHECK(s.attributes[i].name == names[i].get<std::string>());
        CHECK(s.attributes[i].log_std == -std::numeric_limits<float>::infinity());
        CHECK(s.attributes[i].std_dev() == 0.0f);
        means.push_back(s.attributes[i].mean);
        sum += s.weights[i] * s.attributes[i].mean;
      }
      CHECK(test::golden_diff(means, cs.at("multi_obj_rewards"), worst_head) <= kZooTol);
      CHECK(test::golden_diff(s.weights, cs.at("multi_obj_coeffs"), worst_head) <= kZooTol);
      CHECK(std::abs(sum - s.reward) <= 1e-5f);  // reward = Σ weights_i · attributes_i.mean
      std::vector<float> eps(s.attributes.size(), 1.5f);
      CHECK(s.sample_attributes(eps) == means);
    } else {
      CHECK(s.attributes.empty());
      CHECK(s.weights.empty());
    }
    ++matched;
  }
  MESSAGE(name << ": " << matched << " cases matched, " << errors << " expected errors; worst |diff| states "
               << worst_state << ", head " << worst_head << ", score " << worst_score);
}

}  // namespace

TEST_CASE("zoo parity: qwen3-rm (Qwen3 backbone, q/k norm, head_dim 16 != hidden/heads, tied, scalar head)") {
  check_family("qwen3-rm");
}
TEST_CASE("zoo parity: armorm-llama3 (regression layer, gating network at the assistant header)") {
  check_family("armorm-llama3");
}
TEST_CASE("zoo parity: skywork-llama31-scalar (llama3 RoPE scaling, last non-pad pooling)") {
  check_family("skywork-llama31-scalar");
}
TEST_CASE("zoo parity: inform-mlp-llama31 (MLP head, the old pooling rule, no pad id)") {
  check_family("inform-mlp-llama31");
}
TEST_CASE("zoo parity: exact mode's 3-part bfloat16 path (AMX machines), on every kernel this CPU runs") {
  // The zoo checkpoints store their projections as BF16: exact mode on AMX
  // takes bf16x3-amx (kernels::exact_mode_path). The generic and AVX512-BF16
  // kernels compute the same exact products, only summed in another order,
  // so the parity bound is checked here on every machine.
  for (const kernels::LinearPath& path : test::bf16_paths(3))
    for (const char* name : {"qwen3-rm", "armorm-llama3", "skywork-llama31-scalar", "inform-mlp-llama31"})
      check_family(name, path);
}

namespace {

// The zoo model with the tokenizer its conversation cases were encoded with;
// nullopt (and a message saying why) when .cache does not hold that tokenizer.
std::optional<RewardModel> zoo_model_with_tokenizer(const std::string& name,
                                                    std::optional<BosPolicy> bos = std::nullopt) {
  std::string why;
  const auto tok = test::zoo_tokenizer_dir(name, &why);
  if (!tok) {
    MESSAGE("skipped " << name << ": " << why);
    return std::nullopt;
  }
  RewardModel::Options options;
  options.threads = 1;
  options.tokenizer_dir = *tok;
  options.bos_policy = bos;
  return RewardModel::load(test::zoo_model_dir(name), options);
}

}  // namespace

TEST_CASE("zoo: conversation cases give the golden ids through each family's pipeline") {
  for (const std::string& name : test::kZooFamilies) {
    CAPTURE(name);
    const auto loaded = zoo_model_with_tokenizer(name);
    if (!loaded) continue;
    const RewardModel& rm = *loaded;
    std::size_t n = 0;
    for (const auto& cs : test::zoo_cases(name)) {
      if (!cs.contains("messages")) continue;
      CAPTURE(cs.at("conversation_index").get<int>());
      CHECK(rm.tokenize(test::zoo_messages(cs)) == test::zoo_ids(cs));
      CHECK(std::abs(rm.score(test::zoo_messages(cs)).reward - cs.at("score").get<float>()) <= kZooTol);
      ++n;
    }
    CHECK(n == 7);
  }
}

TEST_CASE("zoo: each family's default pipeline, and the override") {
  const std::vector<std::pair<std::string, BosPolicy>> defaults = {{"armorm-llama3", BosPolicy::Single},
                                                                   {"skywork-llama31-scalar", BosPolicy::StripTemplateBos},
                                                                   {"inform-mlp-llama31", BosPolicy::Single},
                                                                   {"qwen3-rm", BosPolicy::StripTemplateBos}};
  for (const auto& [name, policy] : defaults) {
    CAPTURE(name);
    const auto rm = zoo_model_with_tokenizer(name);
    if (!rm) continue;
    REQUIRE(rm->encoder() != nullptr);
    CHECK(rm->encoder()->bos_policy() == policy);
    const RewardModel card = *zoo_model_with_tokenizer(name, BosPolicy::CardPipeline);
    CHECK(card.encoder()->bos_policy() == BosPolicy::CardPipeline);
    // With a Llama-3.1 tokenizer the URM card pipeline gives two BOS: not these models' ids.
    for (const auto& cs : test::zoo_cases(name)) {
      if (!cs.contains("messages")) continue;
      const auto ids = card.tokenize(test::zoo_messages(cs));
      if (name != "qwen3-rm") CHECK(ids.size() == test::zoo_ids(cs).size() + 1);
      break;
    }
  }
}

TEST_CASE("zoo: score_ids_batch shares a prefix only up to the first position a head reads") {
  for (const std::string& name : test::kZooFamilies) {
    CAPTURE(name);
    RewardModel::Options options;
    options.threads = 2;
    const RewardModel rm = RewardModel::load(test::zoo_model_dir(name), options);
    // A conversation and two variants that differ from it in the last 3 tokens
    // before the end: for ArmoRM the gating position lies in the shared part.
    std::vector<std::int32_t> base;
    for (const auto& cs : test::zoo_cases(name))
      if (cs.contains("messages") && cs.at("n_tokens").get<std::size_t>() > 20) {
        base = test::zoo_ids(cs);
        break;
      }
    REQUIRE(base.size() > 20);
    std::vector<std::vector<std::int32_t>> batch = {base, base, base};
    for (std::size_t k = 2; k <= 4; ++k) {
      batch[1][base.size() - k] = 1000 + static_cast<std::int32_t>(k);
      batch[2][base.size() - k] = 2000 + static_cast<std::int32_t>(k);
    }
    const std::vector<Score> together = rm.score_ids_batch(batch);
    REQUIRE(together.size() == 3);
    for (std::size_t i = 0; i < 3; ++i) CHECK(std::abs(together[i].reward - rm.score_ids(batch[i]).reward) <= 1e-5f);
  }
  // An input of the batch that the head cannot read is named before any work.
  RewardModel::Options options;
  options.threads = 1;
  const RewardModel armo = RewardModel::load(test::zoo_model_dir("armorm-llama3"), options);
  const std::vector<std::vector<std::int32_t>> bad = {test::zoo_ids(test::zoo_cases("armorm-llama3")[2]), {1, 2, 3}};
  CHECK_THROWS_WITH_AS(armo.score_ids_batch(bad),
                       "input 1: ArmoRM: the input does not contain the token pattern [128009, 128006, 78191, 128007, "
                       "271] (<|eot_id|><|start_header_id|>assistant<|end_header_id|>\\n\\n), the assistant header whose "
                       "last occurrence the gating network reads (the reference raises \"ValueError: Token pattern not "
                       "found in the list.\")",
                       Error);
  const std::vector<std::vector<std::int32_t>> out_of_range = {{1, 2, 3}, {1, 2, 128257}};
  const RewardModel sky = RewardModel::load(test::zoo_model_dir("skywork-llama31-scalar"), options);
  CHECK_THROWS_WITH_AS(sky.score_ids_batch(out_of_range),
                       "input 1: token id 128257 at position 2 is out of range [0, 128256)", Error);
}

TEST_CASE("zoo: fast mode stays within the documented 0.02 of exact mode") {
  for (const std::string& name : test::kZooFamilies) {
    RewardModel::Options options;
    options.threads = 2;
    const RewardModel exact = RewardModel::load(test::zoo_model_dir(name), options);
    options.compute = ComputeMode::Fast;
    const RewardModel fast = RewardModel::load(test::zoo_model_dir(name), options);
    float worst = 0;
    for (const auto& cs : test::zoo_cases(name)) {
      if (cs.contains("expect_error")) continue;
      const auto ids = test::zoo_ids(cs);
      worst = std::max(worst, std::abs(fast.score_ids(ids).reward - exact.score_ids(ids).reward));
    }
    MESSAGE(name << ": max |fast - exact| " << worst);
    CHECK(worst <= 0.02f);
  }
}

TEST_CASE("zoo: a Qwen3 checkpoint with a transformers 5.x config (rope_parameters, dtype) scores the same") {
  const std::filesystem::path src = test::zoo_model_dir("qwen3-rm");
  const std::filesystem::path dir = test::test_temp_dir() / "qwen3-5x";
  std::filesystem::create_directories(dir);
  std::error_code ec;
  std::filesystem::create_symlink(src / "model.safetensors", dir / "model.safetensors", ec);
  nlohmann::json cfg = test::read_json((src / "config.json").string());
  cfg.erase("rope_theta");
  cfg.erase("rope_scaling");
  cfg.erase("torch_dtype");
  cfg["rope_parameters"] = {{"rope_type", "default"}, {"rope_theta", 1000000}};
  cfg["dtype"] = "bfloat16";
  cfg["layer_types"] = {"full_attention", "full_attention"};
  std::ofstream(dir / "config.json") << cfg.dump();
  RewardModel::Options options;
  options.threads = 1;
  const RewardModel v4 = RewardModel::load(src.string(), options), v5 = RewardModel::load(dir.string(), options);
  for (const auto& cs : test::zoo_cases("qwen3-rm")) {
    const auto ids = test::zoo_ids(cs);
    CHECK(v5.score_ids(ids).reward == v4.score_ids(ids).reward);
  }
}
