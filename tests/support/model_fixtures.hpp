// The fixture checkpoints (tests/data/models) and their golden cases
// (model_golden.json), for the tests that load a RewardModel.
#pragma once

#include <doctest/doctest.h>

#include <cstdint>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "urm/model/reward_model.hpp"

namespace urm::test {

inline std::string model_dir(const std::string& name) { return std::string(URM_TEST_DATA_DIR) + "/models/" + name; }

inline const nlohmann::json& cases(const std::string& name) {
  static const nlohmann::json j = [] {
    std::ifstream f(std::string(URM_TEST_DATA_DIR) + "/models/model_golden.json");
    REQUIRE(f.good());
    return nlohmann::json::parse(f);
  }();
  return j["models"][name]["cases"];
}

inline std::vector<std::int32_t> ids_of(const nlohmann::json& c) {
  return c["input_ids"].get<std::vector<std::int32_t>>();
}

// The reward of every case, one score_ids call each.
inline std::vector<float> rewards(const RewardModel& rm, const nlohmann::json& cs) {
  std::vector<float> out;
  for (const auto& c : cs) out.push_back(rm.score_ids(ids_of(c)).reward);
  return out;
}

}  // namespace urm::test
