// Reading the JSON fixtures of tests/data and .cache.
#pragma once

#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "urm/core/error.hpp"

namespace urm::test {

inline nlohmann::json read_json_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Error(path + ": cannot open (run scripts/setup to fetch the test data)");
  return nlohmann::json::parse(in);
}

}  // namespace urm::test
