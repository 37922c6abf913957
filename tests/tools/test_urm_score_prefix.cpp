// urm-score's additions for serving-shaped input: {"text": …} lines (the
// model card's pipeline for a templated string), the prefix cache across
// lines (bitwise the output of --prefix-cache-mb 0), seeded reward samples.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "support/run_program.hpp"

namespace {

const std::string kDemo = std::string(URM_CACHE_DIR) + "/demo-model";

urm::test::ProgramRun score(const std::string& args, const std::string& input) {
  const urm::test::TempDir dir("urm-score-prefix");
  urm::test::write_file(dir.file("in.jsonl"), input);
  return urm::test::run_program("urm-score", "--model " + kDemo + " --threads 2 " + args + " --input " + dir.file("in.jsonl"));
}

std::string chat(const std::string& user, const std::string& assistant) {
  return nlohmann::json{{"messages", {{{"role", "user"}, {"content", user}}, {{"role", "assistant"}, {"content", assistant}}}}}
             .dump() +
         "\n";
}

}  // namespace

TEST_CASE("urm-score: {\"text\"} lines parse special-token text and add the post-processor's tokens") {
  const auto r = score("--emit-ids", R"({"text": "<|eot_id|>hello world"})"
                                     "\n"
                                     R"({"text": 5})"
                                     "\n");
  CHECK(r.status == 1);
  const auto lines = r.out_lines();
  REQUIRE(lines.size() == 2);
  CHECK(nlohmann::json::parse(lines[0])["input_ids"] == nlohmann::json({128000, 128009, 15339, 1917}));
  CHECK(lines[1] == R"({"error":"line 2: text: expected a string, got 5"})");
  const auto single = score("--emit-ids --single-bos", R"({"text": "<|eot_id|>hello world"})"
                                                       "\n");
  CHECK(nlohmann::json::parse(single.out_lines().at(0))["input_ids"] == nlohmann::json({128009, 15339, 1917}));
}

TEST_CASE("urm-score: lines that share a prompt reuse it, and the output is byte for byte the same") {
  std::string input;
  const std::string prompt = "Give me three reasons to learn the cello, and explain each of them in a sentence.";
  for (const char* response : {"It is beautiful.", "Bach, teamwork, and patience.", "It is beautiful.",
                               "Because the repertoire is vast and it trains your ear."})
    input += chat(prompt, response);
  input += chat("Something else entirely.", "Yes.");
  const auto cached = score("--stats", input);
  const auto plain = score("--prefix-cache-mb 0", input);
  CHECK(cached.status == 0);
  CHECK(plain.status == 0);
  CHECK(cached.out_lines().size() == 5);
  CHECK(cached.out == plain.out);
  CHECK(score("--prefix-cache-mb x", input).err.rfind(
            "urm-score: --prefix-cache-mb expects a whole number from 0 to 1073741824, got \"x\"\n", 0) == 0);
}

TEST_CASE("urm-score: --samples N --seed S draws N samples for line k with seed S + k") {
  const std::string input = R"({"input_ids": [128000, 9906]})"
                            "\n"
                            R"({"input_ids": [128000, 9906]})"
                            "\n";
  const auto r = score("--samples 3 --seed 40", input);
  REQUIRE(r.status == 0);
  const auto a = nlohmann::json::parse(r.out_lines().at(0)), b = nlohmann::json::parse(r.out_lines().at(1));
  REQUIRE(a["reward_samples"].size() == 3);
  CHECK(a["reward"] == b["reward"]);
  CHECK(a["reward_samples"] != b["reward_samples"]);  // seeds 40 and 41
  const auto again = score("--samples 3 --seed 41", R"({"input_ids": [128000, 9906]})"
                                                    "\n");
  CHECK(nlohmann::json::parse(again.out_lines().at(0))["reward_samples"] == b["reward_samples"]);
  CHECK_FALSE(nlohmann::json::parse(score("", input).out_lines().at(0)).contains("reward_samples"));
}
