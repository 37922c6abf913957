// The reward-model zoo fixtures (tests/data/zoo, tests/data/README.md): four
// random checkpoints of other families with their goldens, and the tokenizer
// folders their conversation cases were encoded with.
#pragma once

#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/llama3_tokenizers.hpp"
#include "support/tokenizer_fixtures.hpp"
#include "urm/text/conversation.hpp"

namespace urm::test {

inline const std::vector<std::string> kZooFamilies = {"qwen3-rm", "armorm-llama3", "skywork-llama31-scalar",
                                                      "inform-mlp-llama31"};

inline std::string zoo_model_dir(const std::string& family) {
  return std::string(URM_TEST_DATA_DIR) + "/zoo/models/" + family;
}

inline const nlohmann::json& zoo_golden() { return read_json(URM_TEST_DATA_DIR "/zoo/models/model_golden.json"); }
inline const nlohmann::json& zoo_cases(const std::string& family) { return zoo_golden().at("models").at(family).at("cases"); }
inline const nlohmann::json& zoo_spec(const std::string& family) { return zoo_golden().at("models").at(family).at("spec"); }

inline std::vector<std::int32_t> zoo_ids(const nlohmann::json& c) {
  return c.at("input_ids").get<std::vector<std::int32_t>>();
}

inline Conversation zoo_messages(const nlohmann::json& c) {
  Conversation conv;
  for (const auto& m : c.at("messages")) conv.push_back({m.at("role"), m.at("content")});
  return conv;
}

// Largest |got_i − want_i| (want: a JSON array); `worst` keeps the largest seen.
inline float golden_diff(const std::vector<float>& got, const nlohmann::json& want, float& worst) {
  REQUIRE(got.size() == want.size());
  float d = 0.0f;
  for (std::size_t i = 0; i < got.size(); ++i) d = std::max(d, std::abs(got[i] - want[i].get<float>()));
  worst = std::max(worst, d);
  return d;
}

// The tokenizer folder a family's conversation cases were encoded with
// (its tokenizer_source.json): the npm tokenizer.json scripts/setup fetches
// into .cache/<name> (with llama3_1-pad.patch.json applied for
// "llama3_1-pad") and the family's chat template as tokenizer_config.json.
// nullopt, with the reason in *why, when that tokenizer.json is not there.
inline std::optional<std::string> zoo_tokenizer_dir(const std::string& family, std::string* why) {
  const nlohmann::json& spec = zoo_spec(family);
  const std::string tokenizer = spec.at("tokenizer"), chat = spec.at("chat");
  const std::string base = tokenizer == "llama3_1-pad" ? "llama3_1" : tokenizer;
  const std::filesystem::path json = std::filesystem::path(URM_CACHE_DIR) / base / "tokenizer.json";
  if (!std::filesystem::exists(json)) {
    *why = json.string() + " is missing (scripts/setup fetches it)";
    return std::nullopt;
  }
  const std::filesystem::path dir = test_temp_dir() / ("zoo-" + family);
  std::filesystem::create_directories(dir);
  if (tokenizer == "llama3_1-pad") {
    nlohmann::json j = read_json(json.string());
    for (const auto& t : read_json(URM_TEST_DATA_DIR "/tokenizer/llama3_1-pad.patch.json").at("append_added_tokens"))
      j.at("added_tokens").push_back(t);
    std::ofstream(dir / "tokenizer.json") << j.dump();
  } else {
    std::filesystem::copy_file(json, dir / "tokenizer.json", std::filesystem::copy_options::overwrite_existing);
  }
  std::filesystem::copy_file(std::string(URM_TEST_DATA_DIR) + "/zoo/tokenizer/tokenizer_config." + chat + ".json",
                             dir / "tokenizer_config.json", std::filesystem::copy_options::overwrite_existing);
  return dir.string();
}

}  // namespace urm::test
