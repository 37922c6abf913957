// RewardModel on the fixture checkpoints: scoring ids, errors with exact
// messages, truncation, batches with a shared prefix, thread-count
// independence and concurrent callers.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <fstream>
#include <optional>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "support/kernel_reference.hpp"
#include "support/model_fixtures.hpp"
#include "urm/model/reward_model.hpp"

using namespace urm;
using namespace urm::test;

TEST_CASE("RewardModel::score_ids gives the reference score and the Score fields") {
  RewardModel::Options o;
  o.threads = 2;
  const RewardModel rm = RewardModel::load(model_dir("tiny-urm-llama3"), o);
  CHECK(rm.threads() == 2);
  CHECK(rm.max_tokens() == 8192);
  for (const auto& c : cases("tiny-urm-llama3")) {
    const Score s = rm.score_ids(ids_of(c));
    CHECK(std::abs(s.reward - c["score"].get<float>()) <= 1e-4f);
    CHECK(s.n_tokens == c["n_tokens"].get<std::size_t>());
    REQUIRE(s.attributes.size() == 5);
    CHECK(s.attributes[0].name == "helpfulness");
    CHECK(s.attributes[4].name == "verbosity");
    float var = 0.0f;
    for (std::size_t i = 0; i < 5; ++i) {
      CHECK(std::abs(s.attributes[i].mean - c["mean"][i].get<float>()) <= 1e-4f);
      CHECK(std::abs(s.attributes[i].log_std - c["log_std"][i].get<float>()) <= 1e-4f);
      var += s.weights[i] * s.weights[i] * std::exp(2.0f * s.attributes[i].log_std);
    }
    CHECK(s.reward_variance == doctest::Approx(var));
  }
}

TEST_CASE("RewardModel: bad inputs get exact errors") {
  const RewardModel rm = RewardModel::load(model_dir("tiny-urm-llama3"));
  CHECK_THROWS_WITH_AS(rm.score_ids({}), "empty input: there is no token to score", Error);
  const std::vector<std::int32_t> bad = {128000, 128257};
  CHECK_THROWS_WITH_AS(rm.score_ids(bad), "token id 128257 at position 1 is out of range [0, 128257)", Error);
  const std::vector<std::int32_t> neg = {-1};
  CHECK_THROWS_WITH_AS(rm.score_ids(neg), "token id -1 at position 0 is out of range [0, 128257)", Error);
  const std::vector<std::vector<std::int32_t>> batch = {{1, 2}, {}};
  CHECK_THROWS_WITH_AS(rm.score_ids_batch(batch), "input 1: empty input: there is no token to score", Error);
}

TEST_CASE("RewardModel: over-long inputs are an error unless left truncation is chosen") {
  const auto ids = ids_of(cases("tiny-urm-llama3")[0]);  // 24 tokens
  RewardModel::Options o;
  o.max_tokens = 10;
  const RewardModel strict = RewardModel::load(model_dir("tiny-urm-llama3"), o);
  CHECK_THROWS_WITH_AS(strict.score_ids(ids),
                       "input has 24 tokens, more than the maximum of 10 (choose Truncation::Left to keep the last 10 "
                       "tokens)",
                       Error);
  CHECK(strict.score_ids(std::span(ids).last(10)).n_tokens == 10);

  o.truncation = Truncation::Left;
  const RewardModel left = RewardModel::load(model_dir("tiny-urm-llama3"), o);
  const Score s = left.score_ids(ids);
  CHECK(s.n_tokens == 10);
  CHECK(s.reward == strict.score_ids(std::span(ids).last(10)).reward);

  o.max_tokens = 8193;
  const std::string msg =
      model_dir("tiny-urm-llama3") + ": Options::max_tokens 8193 is more than the model's max_position_embeddings (8192)";
  CHECK_THROWS_WITH_AS(RewardModel::load(model_dir("tiny-urm-llama3"), o), msg.c_str(), Error);
}

TEST_CASE("RewardModel: overridden prior weights") {
  RewardModel::Options o;
  o.prior_weights = {1, 0, 0, 0, 0};
  const RewardModel rm = RewardModel::load(model_dir("tiny-urm-llama3"), o);
  const auto& c = cases("tiny-urm-llama3")[0];
  const Score s = rm.score_ids(ids_of(c));
  CHECK(s.reward == s.attributes[0].mean);
  CHECK(std::abs(s.reward - c["mean"][0].get<float>()) <= 1e-4f);
}

TEST_CASE("RewardModel::score_ids_batch: a shared prefix is computed once, scores unchanged") {
  const RewardModel rm = RewardModel::load(model_dir("tiny-urm-llama3"));
  std::vector<std::vector<std::int32_t>> batch;
  for (const auto& c : cases("tiny-urm-llama3")) batch.push_back(ids_of(c));
  // Inputs of one token and an input that is a prefix of another.
  batch.push_back({128000});
  batch.push_back(std::vector<std::int32_t>(batch[0].begin(), batch[0].begin() + 5));
  for (std::size_t n : {std::size_t{1}, std::size_t{2}, batch.size()}) {
    const auto part = std::span(batch).first(n);
    const auto scores = rm.score_ids_batch(part);
    REQUIRE(scores.size() == n);
    for (std::size_t i = 0; i < n; ++i) {
      const Score s = rm.score_ids(part[i]);
      CHECK(scores[i].reward == s.reward);  // bitwise: kernels are batch invariant
      CHECK(scores[i].n_tokens == s.n_tokens);
      for (std::size_t a = 0; a < 5; ++a) {
        CHECK(scores[i].attributes[a].mean == s.attributes[a].mean);
        CHECK(scores[i].attributes[a].log_std == s.attributes[a].log_std);
      }
    }
  }
  // Same-prefix batch: the card pipeline's ids share "<bos><bos><|start_header_id|>user<|end_header_id|>\n\n".
  const std::vector<std::vector<std::int32_t>> shared = {batch[0], batch[2], batch[4]};
  const auto scores = rm.score_ids_batch(shared);
  for (std::size_t i = 0; i < shared.size(); ++i)
    CHECK(scores[i].reward == rm.score_ids(shared[i]).reward);
  CHECK(rm.score_ids_batch(std::span<const std::vector<std::int32_t>>{}).empty());
}

namespace {

// Score i's bits in every field score_batch can change.
void check_same_score(const Score& a, const Score& b) {
  CHECK(a.reward == b.reward);
  CHECK(a.reward_variance == b.reward_variance);
  CHECK(a.n_tokens == b.n_tokens);
  REQUIRE(a.attributes.size() == b.attributes.size());
  for (std::size_t i = 0; i < a.attributes.size(); ++i) {
    CHECK(a.attributes[i].mean == b.attributes[i].mean);
    CHECK(a.attributes[i].log_std == b.attributes[i].log_std);
  }
}

}  // namespace

namespace {

// Batch invariance: a score depends only on its input, never on what else is
// in the batch (the shared prefix, and so the rows each forward pass runs,
// change with it) nor on the thread count. For each path (nullopt: exact
// mode). One test case per mode below, so that CTest runs them in parallel.
void check_batch_invariance(const std::vector<std::optional<kernels::LinearPath>>& paths) {
  const auto& cs = cases("small-gqa-bf16");
  std::vector<std::vector<std::int32_t>> inputs;
  for (const auto& c : cs) inputs.push_back(ids_of(c));
  const auto long_prompt = inputs[6];  // 129 tokens
  for (std::size_t i : {0u, 1u, 2u}) {  // a long shared prompt + different tails
    auto ids = long_prompt;
    ids.insert(ids.end(), inputs[i].begin(), inputs[i].end());
    inputs.push_back(ids);
  }
  inputs.push_back(std::vector<std::int32_t>(long_prompt.begin(), long_prompt.begin() + 40));  // a prefix of others
  const std::vector<std::vector<std::size_t>> batches = {
      {0}, {cs.size(), cs.size() + 1, cs.size() + 2}, {cs.size() + 3, cs.size(), cs.size() + 2, 6},
      {2, cs.size() + 1}, {cs.size() + 2, cs.size() + 2}};
  for (const auto& path : paths) {
    CAPTURE(path ? kernels::linear_path_name(*path) : std::string("exact"));
    std::vector<Score> alone;  // every input scored alone on 1 thread
    for (std::size_t threads : {1u, 2u, 7u}) {
      RewardModel::Options o;
      o.threads = threads;
      if (path && path->kind == kernels::LinearKind::PackedInt8) {
        o.compute = ComputeMode::Int8;
        o.int8_path = *path;
      } else if (path) {
        o.compute = ComputeMode::Fast;
        o.fast_path = *path;
      }
      const RewardModel rm = RewardModel::load(model_dir("small-gqa-bf16"), o);
      CAPTURE(threads);
      for (std::size_t i = 0; i < inputs.size(); ++i) {
        const Score s = rm.score_ids(inputs[i]);
        if (threads == 1) alone.push_back(s);
        else check_same_score(s, alone[i]);
      }
      for (const auto& b : batches) {
        std::vector<std::vector<std::int32_t>> batch;
        for (std::size_t i : b) batch.push_back(inputs[i]);
        const auto scores = rm.score_ids_batch(batch);
        REQUIRE(scores.size() == b.size());
        for (std::size_t i = 0; i < b.size(); ++i) check_same_score(scores[i], alone[b[i]]);
      }
    }
  }
}

}  // namespace

TEST_CASE("RewardModel: score_ids_batch, prefix reuse and score_ids give the same bits for any batch and thread count") {
  check_batch_invariance({std::nullopt});
}
TEST_CASE("RewardModel: the same bits for any batch and thread count, on every bf16 path this machine runs") {
  std::vector<std::optional<kernels::LinearPath>> paths;
  for (const auto& p : bf16_paths()) paths.push_back(p);
  check_batch_invariance(paths);
}
TEST_CASE("RewardModel: the same bits for any batch and thread count, on every int8 path this machine runs") {
  std::vector<std::optional<kernels::LinearPath>> paths;
  for (const auto& p : int8_paths()) paths.push_back(p);
  check_batch_invariance(paths);
}

TEST_CASE("RewardModel: scores are bitwise identical for 1, 2 and 7 threads") {
  for (const char* name : {"small-gqa-bf16", "small-urm31-gated"}) {
    std::vector<std::vector<float>> per_threads;
    for (std::size_t t : {1u, 2u, 7u}) {
      RewardModel::Options o;
      o.threads = t;
      per_threads.push_back(rewards(RewardModel::load(model_dir(name), o), cases(name)));
    }
    CHECK(per_threads[0] == per_threads[1]);
    CHECK(per_threads[0] == per_threads[2]);
  }
}

TEST_CASE("RewardModel: several threads may score at once") {
  RewardModel::Options o;
  o.threads = 2;
  const RewardModel rm = RewardModel::load(model_dir("small-gqa-bf16"), o);
  nlohmann::json cs = nlohmann::json::array();
  for (const auto& c : cases("small-gqa-bf16"))
    if (c["n_tokens"].get<int>() <= 300) cs.push_back(c);
  const std::vector<float> expected = rewards(rm, cs);
  std::vector<std::vector<float>> got(4);
  std::vector<std::thread> callers;
  for (std::size_t t = 0; t < got.size(); ++t)
    callers.emplace_back([&, t] {
      for (std::size_t i = 0; i < cs.size(); ++i) {
        const std::size_t c = (i + t) % cs.size();  // different inputs at the same time
        got[t].resize(cs.size());
        got[t][c] = rm.score_ids(ids_of(cs[c])).reward;
      }
    });
  for (auto& c : callers) c.join();
  for (const auto& g : got) CHECK(g == expected);
}
