// RewardModel from messages: the chat template and tokenizer give the golden
// ids of tests/data/models/model_golden.json (tiny-urm-llama3) and the golden
// score, with the model card's double-BOS pipeline and with one BOS.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "support/llama3_tokenizers.hpp"
#include "urm/urm.hpp"

using namespace urm;

namespace {

const std::string kTiny = std::string(URM_TEST_DATA_DIR) + "/models/tiny-urm-llama3";
const std::string kDemo = std::string(URM_CACHE_DIR) + "/demo-model";

const nlohmann::json& cases() {
  static const nlohmann::json j = [] {
    std::ifstream f(std::string(URM_TEST_DATA_DIR) + "/models/model_golden.json");
    REQUIRE(f.good());
    return nlohmann::json::parse(f);
  }();
  return j["models"]["tiny-urm-llama3"]["cases"];
}

Conversation conversation(const nlohmann::json& c) {
  Conversation conv;
  for (const auto& m : c["messages"]) conv.push_back({m["role"].get<std::string>(), m["content"].get<std::string>()});
  return conv;
}

// The card's cases have two BOS; the others ("note": single BOS) one.
bool double_bos(const nlohmann::json& c) { return !c.contains("note"); }

RewardModel load(const std::string& dir, BosPolicy bos, std::string tokenizer_dir = "") {
  RewardModel::Options o;
  o.threads = 2;
  o.bos_policy = bos;
  o.tokenizer_dir = std::move(tokenizer_dir);
  return RewardModel::load(dir, o);
}

void check_all_cases(const RewardModel& card, const RewardModel& single) {
  std::size_t n_double = 0, n_single = 0;
  for (std::size_t i = 0; i < cases().size(); ++i) {
    const auto& c = cases()[i];
    const RewardModel& rm = double_bos(c) ? card : single;
    (double_bos(c) ? n_double : n_single)++;
    const Conversation conv = conversation(c);
    CHECK_MESSAGE(rm.tokenize(conv) == c["input_ids"].get<std::vector<std::int32_t>>(), "case " << i);
    const Score s = rm.score(conv);
    CHECK_MESSAGE(std::abs(s.reward - c["score"].get<float>()) <= 1e-4f, "case " << i);
    CHECK(s.n_tokens == c["n_tokens"].get<std::size_t>());
  }
  CHECK(n_double == 25);
  CHECK(n_single == 25);
}

}  // namespace

TEST_CASE("RewardModel::score from messages gives the golden ids and score (both BOS pipelines)") {
  const std::string tok = urm::test::llama3_tokenizer_dir("llama3-rm");
  check_all_cases(load(kTiny, BosPolicy::CardPipeline, tok), load(kTiny, BosPolicy::Single, tok));
}

TEST_CASE("the demo model folder (scripts/setup) holds the checkpoint and its tokenizer") {
  REQUIRE_MESSAGE(std::filesystem::exists(kDemo + "/tokenizer.json"), "run scripts/setup to make " << kDemo);
  const RewardModel card = load(kDemo, BosPolicy::CardPipeline);
  CHECK(card.has_tokenizer());
  check_all_cases(card, load(kDemo, BosPolicy::Single));
}

TEST_CASE("RewardModel::score_batch equals score one by one") {
  // Bitwise: the kernels are batch invariant (a row's result never depends
  // on how many rows ran with it), so batching and prefix reuse change only
  // the split of the work, on every ISA.
  const RewardModel rm = load(kTiny, BosPolicy::CardPipeline, urm::test::llama3_tokenizer_dir("llama3-rm"));
  std::vector<Conversation> batch;
  for (const auto& c : cases()) batch.push_back(conversation(c));
  const std::vector<Score> scores = rm.score_batch(batch);
  REQUIRE(scores.size() == batch.size());
  for (std::size_t i = 0; i < batch.size(); ++i) {
    const Score s = rm.score(batch[i]);
    CHECK(scores[i].reward == s.reward);
    CHECK(scores[i].reward_variance == s.reward_variance);
    CHECK(scores[i].n_tokens == s.n_tokens);
    REQUIRE(scores[i].attributes.size() == s.attributes.size());
    for (std::size_t a = 0; a < s.attributes.size(); ++a) {
      CHECK(scores[i].attributes[a].mean == s.attributes[a].mean);
      CHECK(scores[i].attributes[a].log_std == s.attributes[a].log_std);
    }
  }
  // Answers to one prompt: the prompt is run once (same scores).
  const std::vector<Conversation> answers = {batch[0], batch[2]};
  const auto two = rm.score_batch(answers);
  CHECK(two[0].reward == rm.score(batch[0]).reward);
  CHECK(two[1].reward == rm.score(batch[2]).reward);
}

TEST_CASE("RewardModel: conversations need a tokenizer") {
  const RewardModel rm = RewardModel::load(kTiny);  // the fixture folder has no tokenizer
  CHECK_FALSE(rm.has_tokenizer());
  const std::string msg = kTiny +
                          ": no tokenizer.json in the model folder (scoring a conversation needs tokenizer.json and "
                          "tokenizer_config.json: set Options::tokenizer_dir)";
  CHECK_THROWS_WITH_AS(rm.score({{"user", "hi"}}), msg.c_str(), Error);
  const std::vector<Conversation> batch = {{{"user", "hi"}}};
  CHECK_THROWS_WITH_AS(rm.score_batch(batch), ("input 0: " + msg).c_str(), Error);
  // An explicit tokenizer folder must load.
  CHECK_THROWS_AS(load(kTiny, BosPolicy::CardPipeline, kTiny), Error);
}

TEST_CASE("RewardModel: an empty conversation is an exact error") {
  const RewardModel rm = load(kTiny, BosPolicy::CardPipeline, urm::test::llama3_tokenizer_dir("llama3-rm"));
  CHECK_THROWS_WITH_AS(rm.score({}), "empty conversation: there is no message to score", Error);
  const std::vector<Conversation> batch = {{{"user", "hi"}}, {}};
  CHECK_THROWS_WITH_AS(rm.score_batch(batch), "input 1: empty conversation: there is no message to score", Error);
}

TEST_CASE("RewardModel: an over-long conversation is an exact error") {
  RewardModel::Options o;
  o.tokenizer_dir = urm::test::llama3_tokenizer_dir("llama3-rm");
  o.max_tokens = 8;
  const RewardModel rm = RewardModel::load(kTiny, o);
  CHECK_THROWS_WITH_AS(rm.score(conversation(cases()[0])),
                       "input has 24 tokens, more than the maximum of 8 (choose Truncation::Left to keep the last 8 "
                       "tokens)",
                       Error);
}
