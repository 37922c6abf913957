// UncertainValueHead and Score: the URM head maths on small hand-made weights.
#include <doctest/doctest.h>

#include <cmath>
#include <random>
#include <vector>

#include "support/synthetic_model.hpp"
#include "urm/core/thread_pool.hpp"
#include "urm/model/value_head.hpp"

using namespace urm;

namespace {

// score.weight [10, 3] whose row r is (r + 1) · e_(r mod 3) / 10, so with
// h = (1, 2, 3): head[r] = (r + 1) · h[r mod 3] / 10.
TensorView score_weight(test::TensorStore& store) {
  std::vector<float> w(30, 0.0f);
  for (int r = 0; r < 10; ++r) w[r * 3 + r % 3] = static_cast<float>(r + 1) / 10.0f;
  return store.from("score.weight", {10, 3}, w);
}

const std::vector<float> h = {1.0f, 2.0f, 3.0f};

float head_at(int r) { return static_cast<float>(r + 1) * h[r % 3] / 10.0f; }

}  // namespace

TEST_CASE("UncertainValueHead: interleaved mean/log-std, prior weights, reward and its variance") {
  test::TensorStore store;
  const UncertainValueHead head(score_weight(store));
  ThreadPool pool(1);
  CHECK(head.n_attributes() == 5);
  CHECK_FALSE(head.is_scalar());
  CHECK_FALSE(head.is_gated());
  const Score s = head.evaluate(h, pool);
  REQUIRE(s.attributes.size() == 5);
  const char* names[] = {"helpfulness", "correctness", "coherence", "complexity", "verbosity"};
  float reward = 0.0f, var = 0.0f;
  for (int i = 0; i < 5; ++i) {
    CHECK(s.attributes[i].name == names[i]);
    CHECK(s.attributes[i].mean == doctest::Approx(head_at(2 * i)));
    CHECK(s.attributes[i].log_std == doctest::Approx(head_at(2 * i + 1)));
    CHECK(s.attributes[i].std_dev() == doctest::Approx(std::exp(head_at(2 * i + 1))));
    CHECK(s.attributes[i].variance() == doctest::Approx(std::exp(2 * head_at(2 * i + 1))));
    CHECK(s.weights[i] == kUrmPriorWeights[i]);
    reward += kUrmPriorWeights[i] * head_at(2 * i);
    var += kUrmPriorWeights[i] * kUrmPriorWeights[i] * std::exp(2 * head_at(2 * i + 1));
  }
  CHECK(s.reward == doctest::Approx(reward));
  CHECK(s.reward_variance == doctest::Approx(var));
  CHECK(s.reward_std() == doctest::Approx(std::sqrt(var)));
}

TEST_CASE("UncertainValueHead: overridden prior weights and names") {
  test::TensorStore store;
  const UncertainValueHead head(score_weight(store), {}, {1, 0, 0, 0, 2}, {"a", "b", "c", "d", "e"});
  ThreadPool pool(1);
  const Score s = head.evaluate(h, pool);
  CHECK(s.attributes[4].name == "e");
  CHECK(s.reward == doctest::Approx(head_at(0) + 2 * head_at(8)));
  CHECK(s.reward_variance == doctest::Approx(std::exp(2 * head_at(1)) + 4 * std::exp(2 * head_at(9))));
}

TEST_CASE("UncertainValueHead: the URM-3.1 gate is Linear, SELU, Linear, SELU, Linear without softmax") {
  test::TensorStore store;
  // fc0 [2, 3], fc2 [2, 2], fc4 [5, 2]
  std::vector<LinearLayer> gate = {
      {store.from("weights.fc.0.weight", {2, 3}, {1, 0, 0, 0, -1, 0}), {0.5f, 0.0f}},
      {store.from("weights.fc.2.weight", {2, 2}, {1, 1, 0, 1}), {0.0f, -1.0f}},
      {store.from("weights.fc.4.weight", {5, 2}, {1, 0, 0, 1, 1, 1, 2, 0, 0, -3}), {0, 0, 0, 0, 0.25f}},
  };
  const UncertainValueHead head(score_weight(store), gate);
  CHECK(head.is_gated());
  ThreadPool pool(1);
  const Score s = head.evaluate(h, pool);
  auto selu = [](float x) {
    return x > 0 ? 1.0507009873554805f * x : 1.0507009873554805f * 1.6732632423543772f * std::expm1(x);
  };
  const float a0 = selu(1 + 0.5f), a1 = selu(-2.0f);              // fc0 then SELU
  const float b0 = selu(a0 + a1), b1 = selu(a1 - 1.0f);           // fc2 then SELU
  const float w[5] = {b0, b1, b0 + b1, 2 * b0, -3 * b1 + 0.25f};  // fc4
  float reward = 0.0f;
  for (int i = 0; i < 5; ++i) {
    CHECK(s.weights[i] == doctest::Approx(w[i]));
    reward += w[i] * head_at(2 * i);
  }
  CHECK(s.reward == doctest::Approx(reward));
}

TEST_CASE("UncertainValueHead: a scalar head gives its logit and no attributes") {
  test::TensorStore store;
  const UncertainValueHead head(store.from("score.weight", {1, 3}, {0.5f, -1.0f, 2.0f}));
  CHECK(head.is_scalar());
  ThreadPool pool(1);
  const Score s = head.evaluate(h, pool);
  CHECK(s.reward == doctest::Approx(0.5f - 2.0f + 6.0f));
  CHECK(s.attributes.empty());
  CHECK(s.weights.empty());
  CHECK(s.reward_variance == 0.0f);
  CHECK(s.sample_reward(std::vector<float>{}) == s.reward);
  CHECK(s.sample_rewards(3, 1) == std::vector<float>(3, s.reward));
}

TEST_CASE("Score: reparameterised samples") {
  test::TensorStore store;
  const UncertainValueHead head(score_weight(store));
  ThreadPool pool(1);
  const Score s = head.evaluate(h, pool);
  const std::vector<float> eps = {0.0f, 1.0f, -1.0f, 2.0f, 0.5f};
  const auto x = s.sample_attributes(eps);
  float r = 0.0f;
  for (int i = 0; i < 5; ++i) {
    CHECK(x[i] == doctest::Approx(s.attributes[i].mean + eps[i] * std::exp(s.attributes[i].log_std)));
    r += s.weights[i] * x[i];
  }
  CHECK(s.sample_reward(eps) == doctest::Approx(r));
  CHECK(s.sample_reward(std::vector<float>(5, 0.0f)) == doctest::Approx(s.reward));

  // Seeded: reproducible, and the sample mean/variance approach reward/reward_variance.
  const auto a = s.sample_rewards(20000, 42);
  CHECK(a == s.sample_rewards(20000, 42));
  CHECK(a != s.sample_rewards(20000, 43));
  double mean = 0, var = 0;
  for (float v : a) mean += v;
  mean /= static_cast<double>(a.size());
  for (float v : a) var += (v - mean) * (v - mean);
  var /= static_cast<double>(a.size() - 1);
  CHECK(std::abs(mean - s.reward) < 4 * s.reward_std() / std::sqrt(20000.0));
  CHECK(var == doctest::Approx(s.reward_variance).epsilon(0.05));

  std::mt19937_64 gen(5);
  CHECK(s.sample_attributes(gen).size() == 5);
  CHECK_THROWS_WITH_AS(s.sample_attributes(std::vector<float>{1.0f}),
                       "Score: eps has 1 values, expected one per attribute (5)", Error);
}

TEST_CASE("UncertainValueHead: bad weights") {
  test::TensorStore store;
  CHECK_THROWS_WITH_AS(UncertainValueHead(store.from("score.weight", {3, 2}, std::vector<float>(6))),
                       "value head: score.weight has shape [3, 2], expected [1, hidden] (scalar reward) or [2K, "
                       "hidden] (interleaved mean/log-std of K attributes)",
                       Error);
  CHECK_THROWS_WITH_AS(UncertainValueHead(store.from("score.weight", {4, 2}, std::vector<float>(8))),
                       "value head: score.weight has 2 attributes; the default prior weights are for 5, give 2 weights",
                       Error);
  CHECK_THROWS_WITH_AS(UncertainValueHead(score_weight(store), {}, {1, 2, 3}),
                       "value head: 3 prior weights given, score.weight has 5 attributes", Error);
  CHECK_THROWS_WITH_AS(UncertainValueHead(score_weight(store), {}, {}, {"x"}),
                       "value head: 1 attribute names given, score.weight has 5 attributes", Error);
  CHECK_THROWS_WITH_AS(UncertainValueHead(score_weight(store),
                                          {{store.from("weights.fc.0.weight", {2, 4}, std::vector<float>(8)), {0, 0}}}),
                       "value head: gate weight weights.fc.0.weight has shape [2, 4], expected [n, 3]", Error);
  CHECK_THROWS_WITH_AS(UncertainValueHead(score_weight(store),
                                          {{store.from("weights.fc.0.weight", {2, 3}, std::vector<float>(6)), {0, 0}}}),
                       "value head: gate output has 2 values, expected one per attribute (5)", Error);
  CHECK_THROWS_WITH_AS(UncertainValueHead(store.from("score.weight", {1, 3}, std::vector<float>(3)), {}, {1}),
                       "value head: score.weight is a scalar head [1, hidden]; it takes no attribute weights, gate or "
                       "names",
                       Error);
  const UncertainValueHead head(score_weight(store));
  ThreadPool pool(1);
  CHECK_THROWS_WITH_AS(head.evaluate(std::vector<float>(4), pool), "value head: hidden state has 4 values, expected 3",
                       Error);
}
