// reward_api without HTTP: each endpoint's body parsed into inputs (and the
// exact error for a bad one), inputs tokenized and checked, and scores turned
// into each peer's response shape.
#include <doctest/doctest.h>

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "support/async.hpp"
#include "urm/serve/reward_api.hpp"

using namespace urm;

namespace {

Score score(float reward, std::size_t n_tokens) {
  Score s;
  s.reward = reward;
  s.n_tokens = n_tokens;
  s.attributes = {{"helpfulness", reward, -1.0f}, {"verbosity", 0.5f, 0.25f}};
  s.weights = {1.0f, 0.0f};
  s.reward_variance = std::exp(-2.0f);
  return s;
}

const ApiResponseInfo kInfo{"classify-0123", 1700000000, "urm"};

std::string demo_dir() { return std::string(URM_CACHE_DIR) + "/demo-model"; }

}  // namespace

TEST_CASE("parse_api_request: each endpoint's inputs") {
  ApiRequest r = parse_api_request(ApiEndpoint::GetReward, R"({"query": ["a", "b"], "prompts": ["p", "q"], "labels": [null, 1]})");
  CHECK(r.shape == ApiShape::OpenRlhfReward);
  REQUIRE(r.inputs.size() == 2);
  CHECK(r.inputs[1].where == "query[1]");
  CHECK(*r.inputs[1].input.text == "b");

  r = parse_api_request(ApiEndpoint::Classify, R"({"model": "x", "input": "t", "activation": false})");
  CHECK(r.shape == ApiShape::VllmClassify);
  CHECK_FALSE(r.use_activation);
  CHECK(r.inputs[0].where == "input");
  r = parse_api_request(ApiEndpoint::Classify, R"({"input": [[1, 2], "s"], "use_activation": true, "add_special_tokens": false})");
  REQUIRE(r.inputs.size() == 2);
  CHECK(r.inputs[0].input.ids == std::vector<std::int32_t>{1, 2});
  CHECK(*r.inputs[1].input.text == "s");
  CHECK(r.add_special_tokens == false);
  r = parse_api_request(ApiEndpoint::Classify, R"({"messages": [{"role": "user", "content": "hi"}]})");
  REQUIRE(r.inputs[0].input.conversation);
  CHECK((*r.inputs[0].input.conversation)[0].content == "hi");
  CHECK(r.use_activation);
  r = parse_api_request(ApiEndpoint::Classify, R"({"model": "x", "text": "one"})");
  CHECK(r.shape == ApiShape::SglangClassify);
  CHECK(r.single);

  r = parse_api_request(ApiEndpoint::Pooling, R"({"input": [5, 6, 7], "task": "classify"})");
  CHECK(r.shape == ApiShape::VllmPooling);
  CHECK(r.inputs[0].input.ids == std::vector<std::int32_t>{5, 6, 7});
  r = parse_api_request(ApiEndpoint::Embeddings, R"({"input": ["a", "b", "c"]})");
  CHECK(r.inputs.size() == 3);
  r = parse_api_request(ApiEndpoint::Score, R"({"inputs": [{"text": "a"}, {"input_ids": [1]}], "samples": 3, "seed": 18446744073709551615})");
  CHECK(r.samples == 3);
  CHECK(r.seed == 18446744073709551615ull);
  CHECK(r.inputs[1].where == "inputs[1]");
}

TEST_CASE("parse_api_request: errors name the field") {
  CHECK_THROWS_WITH(parse_api_request(ApiEndpoint::GetReward, "null"), "expected a JSON object, got null");
  CHECK_THROWS_WITH(parse_api_request(ApiEndpoint::GetReward, R"({"query": [true]})"),
                    "query[0]: expected a string, got a boolean");
  CHECK_THROWS_WITH(parse_api_request(ApiEndpoint::GetReward, R"({"query": ["a"], "labels": []})"),
                    "labels: 0 entries, but query has 1");
  CHECK_THROWS_WITH(parse_api_request(ApiEndpoint::Classify, R"({"input": "a", "softmax": 1})"),
                    "softmax: expected a boolean, got a number");
  CHECK_THROWS_WITH(parse_api_request(ApiEndpoint::Classify, R"({"input": "a", "add_special_tokens": "yes"})"),
                    "add_special_tokens: expected a boolean, got a string");
  CHECK_THROWS_WITH(parse_api_request(ApiEndpoint::Classify, R"({"input": [4294967296]})"),
                    "input[0]: expected a 32-bit integer token id, got a number");
  CHECK_THROWS_WITH(parse_api_request(ApiEndpoint::Classify, R"({"text": 3})"),
                    "text: expected a string or an array of strings, got a number");
  CHECK_THROWS_WITH(parse_api_request(ApiEndpoint::Pooling, R"({"input": "a", "task": 1})"),
                    "task: expected a string, got a number");
  CHECK_THROWS_WITH(parse_api_request(ApiEndpoint::Score, R"({"inputs": {}})"), "inputs: expected an array, got an object");
  CHECK_THROWS_WITH(parse_api_request(ApiEndpoint::Score, R"({"inputs": [], "seed": "7"})"),
                    "seed: expected a non-negative integer, got a string");
}

TEST_CASE("api_response: each peer's shape") {
  ApiRequest r = parse_api_request(ApiEndpoint::GetReward, R"({"query": ["a", "b"]})");
  const std::vector<Score> scores = {score(0.5f, 3), score(-2.0f, 4)};
  CHECK(api_response(r, scores, kInfo).dump() ==
        R"({"rewards":[0.5,-2.0],"scores":[0.5,-2.0],"extra_logs":{"helpfulness_mean":[0.5,-2.0],)"
        R"("helpfulness_log_std":[-1.0,-1.0],"verbosity_mean":[0.5,0.5],"verbosity_log_std":[0.25,0.25],)"
        R"("reward_std":[0.3678794503211975,0.3678794503211975]}})");
  Score scalar;
  scalar.reward = 1.5f;
  CHECK(api_response(r, {scalar}, kInfo).dump() == R"({"rewards":[1.5],"scores":[1.5],"extra_logs":{}})");

  r = parse_api_request(ApiEndpoint::Classify, R"({"input": ["a", "b"], "use_activation": false})");
  CHECK(api_response(r, scores, kInfo).dump() ==
        R"({"id":"classify-0123","object":"list","created":1700000000,"model":"urm","data":[)"
        R"({"index":0,"label":"reward","probs":[0.5],"num_classes":1},)"
        R"({"index":1,"label":"reward","probs":[-2.0],"num_classes":1}],)"
        R"("usage":{"prompt_tokens":7,"total_tokens":7,"completion_tokens":0,"prompt_tokens_details":null}})");
  r.use_activation = true;
  CHECK(api_response(r, scores, kInfo)["data"][1]["probs"][0].get<double>() == doctest::Approx(1 / (1 + std::exp(2.0))));

  r = parse_api_request(ApiEndpoint::Pooling, R"({"input": "a", "use_activation": false})");
  CHECK(api_response(r, {scores[0]}, {"pool-9", 5, "urm"}).dump() ==
        R"({"id":"pool-9","object":"list","created":5,"model":"urm","data":[{"index":0,"object":"pooling","data":[0.5]}],)"
        R"("usage":{"prompt_tokens":3,"total_tokens":3,"completion_tokens":0,"prompt_tokens_details":null}})");

  r = parse_api_request(ApiEndpoint::Embeddings, R"({"input": ["a", "b"]})");
  CHECK(api_response(r, scores, kInfo).dump() ==
        R"({"object":"list","data":[{"object":"embedding","embedding":[0.5],"index":0},)"
        R"({"object":"embedding","embedding":[-2.0],"index":1}],"model":"urm","usage":{"prompt_tokens":7,"total_tokens":7}})");

  r = parse_api_request(ApiEndpoint::Classify, R"({"text": ["a", "b"]})");
  CHECK(api_response(r, scores, kInfo).dump() ==
        R"([{"embedding":[0.5],"meta_info":{"id":"classify-0123-0","prompt_tokens":3}},)"
        R"({"embedding":[-2.0],"meta_info":{"id":"classify-0123-1","prompt_tokens":4}}])");
  r = parse_api_request(ApiEndpoint::Classify, R"({"text": "a"})");
  CHECK(api_response(r, {scores[0]}, kInfo).dump() == R"({"embedding":[0.5],"meta_info":{"id":"classify-0123-0","prompt_tokens":3}})");

  r = parse_api_request(ApiEndpoint::Score, R"({"inputs": [{"text": "a"}, {"text": "b"}], "samples": 2, "seed": 9})");
  const auto out = api_response(r, scores, kInfo);
  CHECK(out["results"][1]["reward_samples"] == nlohmann::json(scores[1].sample_rewards(2, 10)));
  CHECK(out["results"][0]["n_tokens"] == 3);
  CHECK(out["usage"].dump() == R"({"prompt_tokens":7,"total_tokens":7})");

  CHECK(api_error(503, "ServiceUnavailableError", "busy").dump() ==
        R"({"error":{"message":"busy","type":"ServiceUnavailableError","code":503}})");
  CHECK(api_request_id("pool").size() == 5 + 32);
}

TEST_CASE("api_input_ids: tokenized, checked and truncated as the server scores them") {
  RewardModel::Options o;
  o.threads = 1;
  o.max_tokens = 8;
  const RewardModel rm = RewardModel::load(demo_dir(), o);
  ApiRequest r = parse_api_request(ApiEndpoint::Classify, R"({"input": ["<|eot_id|>hello", [1, 2]]})");
  auto ids = api_input_ids(rm, r);
  CHECK(ids[0] == std::vector<std::int32_t>{128000, 128009, 15339});  // special-token text parsed, BOS added
  CHECK(ids[1] == std::vector<std::int32_t>{1, 2});
  r.add_special_tokens = false;
  CHECK(api_input_ids(rm, r)[0] == std::vector<std::int32_t>{128009, 15339});
  r = parse_api_request(ApiEndpoint::Classify, R"({"input": ["a", [1, 2, 3, 4, 5, 6, 7, 8, 9]]})");
  CHECK_THROWS_WITH(api_input_ids(rm, r),
                    "input[1]: 9 tokens, more than the maximum of 8 (start urm-serve with --truncate-left to keep the "
                    "last 8)");
  o.truncation = Truncation::Left;
  const RewardModel left = RewardModel::load(demo_dir(), o);
  CHECK(api_input_ids(left, r)[1] == std::vector<std::int32_t>{2, 3, 4, 5, 6, 7, 8, 9});

  const RewardModel no_tokenizer = RewardModel::load(urm::test::model_dir(), {});
  r = parse_api_request(ApiEndpoint::GetReward, R"({"query": ["a"]})");
  CHECK_THROWS_WITH(api_input_ids(no_tokenizer, r),
                    ("query[0]: " + urm::test::model_dir() +
                     ": no tokenizer.json in the model folder (scoring a text needs tokenizer.json and "
                     "tokenizer_config.json: give a tokenizer folder)")
                        .c_str());
  r.add_special_tokens = true;
  CHECK_THROWS_WITH(api_input_ids(no_tokenizer, r),
                    ("query[0]: " + urm::test::model_dir() +
                     ": no tokenizer.json in the model folder (scoring a text needs tokenizer.json and "
                     "tokenizer_config.json: give a tokenizer folder)")
                        .c_str());
}
