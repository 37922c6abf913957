// score_line: one input line becomes its result or its error line, whatever
// goes wrong, std::bad_alloc included, and the next line is scored as usual.
#include <doctest/doctest.h>

#include <string>

#include "support/allocation_cap.hpp"
#include "support/model_fixtures.hpp"
#include "urm/serve/score_json.hpp"

namespace {

const urm::RewardModel& tiny_model() {
  static const urm::RewardModel rm = [] {
    urm::RewardModel::Options options;
    options.threads = 2;
    return urm::RewardModel::load(urm::test::model_dir("tiny-urm-llama3"), options);
  }();
  return rm;
}

std::string ids_line(const nlohmann::json& c) { return nlohmann::json{{"input_ids", c["input_ids"]}}.dump(); }

}  // namespace

TEST_CASE("score_line: a result line, or the line's error") {
  const auto& c = urm::test::cases("tiny-urm-llama3")[0];
  urm::LineResult r = urm::score_line(tiny_model(), ids_line(c), 1, /*emit_ids=*/true);
  REQUIRE(r.ok);
  CHECK(r.n_tokens == c["n_tokens"]);
  CHECK(r.json["reward"].get<double>() == doctest::Approx(c["score"].get<double>()).epsilon(1e-4));
  CHECK(r.json["input_ids"] == c["input_ids"]);

  r = urm::score_line(tiny_model(), R"({"input_ids": [1, 128257]})", 7, false);
  CHECK_FALSE(r.ok);
  CHECK(r.n_tokens == 0);
  CHECK(urm::json_line(r.json) == R"j({"error":"line 7: token id 128257 at position 1 is out of range [0, 128257)"})j");
}

TEST_CASE("score_line: running out of memory is that line's error, and the next line is scored") {
  // 300,000 ids: the id vector outgrows 1 MiB while the line is read.
  std::string line = "{\"input_ids\": [";
  for (int i = 0; i < 300'000; ++i) line += i ? ",1" : "1";
  line += "]}";
  const urm::LineResult r = [&] {
    const urm::test::AllocationCap cap(std::size_t{1} << 20);
    return urm::score_line(tiny_model(), line, 2, false);
  }();
  CHECK_FALSE(r.ok);
  CHECK(urm::json_line(r.json) == R"({"error":"line 2: out of memory"})");

  const auto& c = urm::test::cases("tiny-urm-llama3")[1];
  const urm::LineResult next = urm::score_line(tiny_model(), ids_line(c), 3, false);
  REQUIRE(next.ok);
  CHECK(next.json["reward"].get<double>() == doctest::Approx(c["score"].get<double>()).epsilon(1e-4));
}
