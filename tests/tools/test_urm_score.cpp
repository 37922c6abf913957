// build/bin/urm-score run as a program: JSON Lines in and out, bad lines
// reported in place, exit status, options.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "support/llama3_tokenizers.hpp"
#include "support/run_program.hpp"
#include "urm/kernels/linear_dispatch.hpp"
#include "urm/text/tokenizer.hpp"

namespace {

const std::string kTiny = std::string(URM_TEST_DATA_DIR) + "/models/tiny-urm-llama3";

struct ScoreRun {
  int status = -1;
  std::vector<std::string> out;  // stdout lines
  std::string err;               // stderr
};

// Runs urm-score with `args` on `input` (written to a file, given as --input).
ScoreRun urm_score(const std::string& args, const std::string& input) {
  const urm::test::TempDir dir("urm-score-input");
  urm::test::write_file(dir.file("in.jsonl"), input);
  const urm::test::ProgramRun r = urm::test::run_program("urm-score", args + " --input " + dir.file("in.jsonl"));
  return {r.status, r.out_lines(), r.err};
}

const nlohmann::json& golden_case(std::size_t i) {
  static const nlohmann::json j = [] {
    std::ifstream f(std::string(URM_TEST_DATA_DIR) + "/models/model_golden.json");
    return nlohmann::json::parse(f);
  }();
  return j["models"]["tiny-urm-llama3"]["cases"][i];
}

std::string ids_line(std::size_t i) { return nlohmann::json{{"input_ids", golden_case(i)["input_ids"]}}.dump() + "\n"; }

void check_score_line(const std::string& line, const nlohmann::json& golden) {
  const auto j = nlohmann::json::parse(line);
  REQUIRE(j.is_object());
  // The documented keys, in the documented order.
  std::vector<std::string> keys;
  for (auto it = j.begin(); it != j.end(); ++it) keys.push_back(it.key());
  CHECK(line.find("{\"reward\":") == 0);
  CHECK(line.find("\"reward_variance\":") < line.find("\"attributes\":"));
  CHECK(line.find("\"attributes\":") < line.find("\"weights\":"));
  CHECK(line.find("\"weights\":") < line.find("\"n_tokens\":"));
  CHECK(std::abs(j["reward"].get<double>() - golden["score"].get<double>()) <= 1e-4);
  CHECK(j["n_tokens"] == golden["n_tokens"]);
  REQUIRE(j["attributes"].size() == 5);
  CHECK(j["attributes"][1]["name"] == "correctness");
  CHECK(std::abs(j["attributes"][1]["mean"].get<double>() - golden["mean"][1].get<double>()) <= 1e-4);
  CHECK(std::abs(j["attributes"][3]["log_std"].get<double>() - golden["log_std"][3].get<double>()) <= 1e-4);
  CHECK(j["weights"].size() == 5);
  double var = 0;
  for (std::size_t i = 0; i < 5; ++i)
    var += std::pow(golden["weights"][i].get<double>(), 2) * std::exp(2 * golden["log_std"][i].get<double>());
  CHECK(j["reward_variance"].get<double>() == doctest::Approx(var).epsilon(1e-4));
}

}  // namespace

TEST_CASE("urm-score: scores every line in order") {
  const ScoreRun r = urm_score("--model " + kTiny + " --threads 2", ids_line(0) + ids_line(3) + "\n" + ids_line(5));
  CHECK(r.status == 0);
  REQUIRE(r.out.size() == 3);
  check_score_line(r.out[0], golden_case(0));
  check_score_line(r.out[1], golden_case(3));
  check_score_line(r.out[2], golden_case(5));
  CHECK(r.err.empty());
}

TEST_CASE("urm-score: bad lines get an error object, the others continue, exit status 1") {
  const std::string input = ids_line(0) + "not json\n" + R"j({"input_ids": [1, 128257]})j" + "\n" + ids_line(2) +
                            R"j({"input_ids": []})j" + "\n" + R"j({"input_ids": [1.5]})j" + "\n" + R"j([1, 2])j" +
                            "\n" + R"j({"messages": [{"role": "user"}]})j" + "\n" + R"j({"messages": "hi"})j" + "\n" +
                            R"j({"messages": [], "input_ids": [1]})j" + "\n" + R"j({"input_ids": [4294967296]})j" +
                            "\n";
  const ScoreRun r = urm_score("--model " + kTiny, input);
  CHECK(r.status == 1);
  REQUIRE(r.out.size() == 11);
  check_score_line(r.out[0], golden_case(0));
  CHECK(nlohmann::json::parse(r.out[1])["error"].get<std::string>().rfind(
            "line 2: invalid JSON: [json.exception.parse_error.101] parse error at line 1, column 2", 0) == 0);
  CHECK(r.out[2] == R"j({"error":"line 3: token id 128257 at position 1 is out of range [0, 128257)"})j");
  check_score_line(r.out[3], golden_case(2));
  CHECK(r.out[4] == R"j({"error":"line 5: empty input: there is no token to score"})j");
  CHECK(r.out[5] == R"j({"error":"line 6: input_ids[0]: expected a 32-bit integer, got 1.5"})j");
  CHECK(r.out[6] == R"j({"error":"line 7: expected a JSON object with one of \"messages\", \"input_ids\" or \"text\""})j");
  CHECK(r.out[7] == R"j({"error":"line 8: messages[0].content: missing (a string, null or a list of parts)"})j");
  CHECK(r.out[8] == R"j({"error":"line 9: messages: expected an array of {\"role\", \"content\"} objects"})j");
  CHECK(r.out[9] == R"j({"error":"line 10: expected a JSON object with one of \"messages\", \"input_ids\" or \"text\""})j");
  CHECK(r.out[10] == R"j({"error":"line 11: input_ids[0]: expected a 32-bit integer, got 4294967296"})j");
  CHECK(r.err == "urm-score: 9 of 11 lines failed\n");
}

TEST_CASE("urm-score: --emit-ids, --max-tokens and --truncate-left") {
  ScoreRun r = urm_score("--model " + kTiny + " --emit-ids", ids_line(1));
  CHECK(r.status == 0);
  REQUIRE(r.out.size() == 1);
  CHECK(nlohmann::json::parse(r.out[0])["input_ids"] == golden_case(1)["input_ids"]);

  r = urm_score("--model " + kTiny + " --max-tokens 5", ids_line(1));
  CHECK(r.status == 1);
  REQUIRE(r.out.size() == 1);
  CHECK(
      r.out[0] ==
      R"j({"error":"line 1: input has 23 tokens, more than the maximum of 5 (choose --truncate-left to keep the last 5 tokens)"})j");

  r = urm_score("--model " + kTiny + " --max-tokens 5 --truncate-left --emit-ids", ids_line(1));
  CHECK(r.status == 0);
  REQUIRE(r.out.size() == 1);
  const auto j = nlohmann::json::parse(r.out[0]);
  const auto ids = golden_case(1)["input_ids"].get<std::vector<int>>();
  CHECK(j["n_tokens"] == 5);
  CHECK(j["input_ids"].get<std::vector<int>>() == std::vector<int>(ids.end() - 5, ids.end()));
}

TEST_CASE("urm-score: --stats reports throughput on standard error") {
  const ScoreRun r = urm_score("--model " + kTiny + " --stats", ids_line(0) + ids_line(1));
  CHECK(r.status == 0);
  CHECK(r.out.size() == 2);
  CHECK(r.err.rfind("scored 2 inputs, 47 tokens in ", 0) == 0);
  CHECK(r.err.find(" tokens/s\n") != std::string::npos);
  CHECK(r.err.find(" tokens/s\nexact mode, matmul path float32 (float32 FMA on the stored weights, xsimd ") !=
        std::string::npos);
}

TEST_CASE("urm-score: --stats says which path fast mode chose on this CPU") {
  const ScoreRun r = urm_score("--model " + kTiny + " --mode fast --stats", ids_line(0));
  CHECK(r.status == 0);
  const urm::kernels::LinearPath path = urm::kernels::fast_mode_path(urm::DType::F16);  // tiny-urm-llama3: F16
  CHECK(r.err.find("\nfast mode, matmul path " + urm::kernels::linear_path_name(path) + " (" +
                   urm::kernels::linear_path_description(path) + ")\n") != std::string::npos);
}

TEST_CASE("urm-score: --mode int8 scores and --stats names its path") {
  const ScoreRun r = urm_score("--model " + kTiny + " --mode int8 --stats", ids_line(0));
  CHECK(r.status == 0);
  REQUIRE(r.out.size() == 1);
  // tiny-urm-llama3's int8 deviation is at most 0.0193 (tests/model/test_int8_mode.cpp).
  CHECK(std::abs(nlohmann::json::parse(r.out[0])["reward"].get<double>() - golden_case(0)["score"].get<double>()) <= 0.03);
  const urm::kernels::LinearPath path = urm::kernels::int8_mode_path();
  CHECK(r.err.find("\nint8 mode, matmul path " + urm::kernels::linear_path_name(path) + " (" +
                   urm::kernels::linear_path_description(path) + ")\n") != std::string::npos);
}

TEST_CASE("urm-score: --mode fast scores within 0.02 of the reference") {
  const ScoreRun r = urm_score("--model " + kTiny + " --mode fast", ids_line(0) + ids_line(3));
  CHECK(r.status == 0);
  REQUIRE(r.out.size() == 2);
  for (std::size_t i = 0; i < 2; ++i) {
    const auto j = nlohmann::json::parse(r.out[i]);
    CHECK(std::abs(j["reward"].get<double>() - golden_case(i == 0 ? 0 : 3)["score"].get<double>()) <= 0.02);
  }
  CHECK(r.err.empty());
}

TEST_CASE("urm-score: fatal errors exit 2") {
  ScoreRun r = urm_score("--model /nonexistent-urm-model", ids_line(0));
  CHECK(r.status == 2);
  CHECK(r.err == "urm-score: /nonexistent-urm-model: not a checkpoint folder (not a directory)\n");

  r = urm_score("--model " + kTiny + " --threads 0", ids_line(0));
  CHECK(r.status == 2);
  CHECK(r.err.rfind("urm-score: --threads expects a whole number from 1 to 1024, got \"0\"\n", 0) == 0);

  r = urm_score("--model " + kTiny + " --mode slow", ids_line(0));
  CHECK(r.status == 2);
  CHECK(r.err.rfind("urm-score: --mode expects exact or fast or int8, got \"slow\"\n", 0) == 0);

  r = urm_score("--bogus", "");
  CHECK(r.status == 2);
  CHECK(r.err.rfind("urm-score: unknown argument \"--bogus\"\n", 0) == 0);
}

std::string messages_line(std::size_t i) {
  return nlohmann::json{{"messages", golden_case(i)["messages"]}}.dump() + "\n";
}

TEST_CASE("urm-score: without --model it uses the demo model and says its rewards are meaningless") {
  const ScoreRun r = urm_score("--emit-ids", messages_line(0) + ids_line(2) + messages_line(4));
  CHECK(r.status == 0);
  REQUIRE(r.out.size() == 3);
  check_score_line(r.out[0], golden_case(0));
  check_score_line(r.out[1], golden_case(2));
  check_score_line(r.out[2], golden_case(4));
  CHECK(nlohmann::json::parse(r.out[0])["input_ids"] == golden_case(0)["input_ids"]);
  CHECK(r.err ==
        "urm-score: no --model given, using the bundled demo model (" URM_CACHE_DIR
        "/demo-model). Its weights are random: its rewards are meaningless. Pass --model DIR to score with a real "
        "reward model.\n");
}

TEST_CASE("urm-score: messages with --tokenizer-dir, card pipeline and --single-bos") {
  const std::string tok = urm::test::llama3_tokenizer_dir("llama3-rm");
  ScoreRun r =
      urm_score("--model " + kTiny + " --tokenizer-dir " + tok + " --emit-ids", messages_line(6) + messages_line(8));
  CHECK(r.status == 0);
  REQUIRE(r.out.size() == 2);
  check_score_line(r.out[0], golden_case(6));
  check_score_line(r.out[1], golden_case(8));
  CHECK(nlohmann::json::parse(r.out[1])["input_ids"] == golden_case(8)["input_ids"]);

  r = urm_score("--model " + kTiny + " --tokenizer-dir " + tok + " --single-bos --emit-ids", messages_line(6));
  CHECK(r.status == 0);
  REQUIRE(r.out.size() == 1);
  check_score_line(r.out[0], golden_case(7));  // the single-BOS twin of case 6
  CHECK(nlohmann::json::parse(r.out[0])["input_ids"] == golden_case(7)["input_ids"]);

  r = urm_score("--model " + kTiny + " --tokenizer-dir " + tok, R"j({"messages": []})j"
                                                                "\n");
  CHECK(r.status == 1);
  REQUIRE(r.out.size() == 1);
  CHECK(r.out[0] == R"j({"error":"line 1: empty conversation: there is no message to score"})j");

  // Without a tokenizer, messages fail and ids still work.
  r = urm_score("--model " + kTiny, messages_line(0) + ids_line(0));
  CHECK(r.status == 1);
  REQUIRE(r.out.size() == 2);
  CHECK(r.out[0] == "{\"error\":\"line 1: " + kTiny +
                        ": no tokenizer.json in the model folder (scoring a conversation needs tokenizer.json and "
                        "tokenizer_config.json: set --tokenizer-dir)\"}");
  check_score_line(r.out[1], golden_case(0));
}

TEST_CASE("urm-score: a progress bar only when standard error is a terminal") {
  // Not a terminal (every other test): no bar. A terminal: script(1) runs the
  // program on a pseudo-terminal and records what it shows.
  if (std::system("command -v script >/dev/null 2>&1") != 0) return;
  const urm::test::TempDir dir("urm-score-tty");
  urm::test::write_file(dir.file("in.jsonl"), ids_line(0) + ids_line(1) + ids_line(2));
  urm::test::write_file(dir.file("one.jsonl"), ids_line(0));
  auto shown = [&](const std::string& input) {
    const std::string cmd = "script -qec '" + std::string(URM_BIN_DIR) + "/urm-score --model " + kTiny + " --input " +
                            dir.file(input) + " --output " + dir.file("out.jsonl") + "' /dev/null > " +
                            dir.file("tty.txt") + " 2>&1";
    CHECK(std::system(cmd.c_str()) == 0);
    return urm::test::read_file(dir.file("tty.txt"));
  };
  const std::string three = shown("in.jsonl");
  CHECK(three.find("] 1/3") != std::string::npos);
  CHECK(three.find("[==============================] 3/3") != std::string::npos);
  CHECK(shown("one.jsonl").find("1/1") == std::string::npos);  // one line: no bar
}

TEST_CASE("urm-score: --date fixes the date a chat template prints; message fields and kwargs reach the template") {
  namespace fs = std::filesystem;
  const urm::test::TempDir dir("urm-score-date");
  const std::string rm = urm::test::llama3_tokenizer_dir("llama3-rm");
  fs::copy_file(rm + "/tokenizer.json", dir.path() / "tokenizer.json", fs::copy_options::overwrite_existing);
  fs::copy_file(rm + "/tokenizer_config.json", dir.path() / "tokenizer_config.json", fs::copy_options::overwrite_existing);
  urm::test::write_file(dir.file("chat_template.jinja"),
      "{{ strftime_now('%d %b %Y') }}{% for m in messages %}{{ m.content }}{{ m.reasoning_content }}{% endfor %}{{ x }}");
  const std::string line = R"j({"messages": [{"role": "user", "content": "Hi", "reasoning_content": "R"}], "chat_template_kwargs": {"x": "X"}})j";
  auto ids = [&](const std::string& date) {
    const ScoreRun r = urm_score("--model " + kTiny + " --tokenizer-dir " + dir.path().string() + " --single-bos --emit-ids --date " + date, line);
    REQUIRE(r.status == 0);
    REQUIRE(r.out.size() == 1);
    return nlohmann::json::parse(r.out[0]).at("input_ids").get<std::vector<int>>();
  };
  const auto a = ids("2024-07-26"), b = ids("2024-07-26"), c = ids("2025-01-01");
  CHECK(a == b);
  CHECK(a != c);
  const urm::Tokenizer tokenizer = urm::Tokenizer::load(rm + "/tokenizer.json");
  CHECK(tokenizer.decode(std::vector<std::int32_t>(a.begin(), a.end())) == "26 Jul 2024HiRX");
  const ScoreRun bad = urm_score("--model " + kTiny + " --date 2024-13-01", line);
  CHECK(bad.status == 2);
  CHECK(bad.err.rfind("urm-score: --date expects a date YYYY-MM-DD, got \"2024-13-01\"\n", 0) == 0);
}

TEST_CASE("urm-score: other families' Scores, and --bos card|single") {
  const std::string zoo = std::string(URM_TEST_DATA_DIR) + "/zoo/models/";
  const nlohmann::json golden = [&] {
    std::ifstream f(zoo + "model_golden.json");
    return nlohmann::json::parse(f);
  }();
  const auto zoo_line = [&](const std::string& family, std::size_t i) {
    return nlohmann::json{{"input_ids", golden["models"][family]["cases"][i]["input_ids"]}}.dump() + "\n";
  };
  // ArmoRM: 19 objectives with their means and coefficients, no log_std (no uncertainty).
  ScoreRun r = urm_score("--model " + zoo + "armorm-llama3", zoo_line("armorm-llama3", 2) + zoo_line("armorm-llama3", 0));
  CHECK(r.status == 1);
  REQUIRE(r.out.size() == 2);
  const auto j = nlohmann::json::parse(r.out[0]);
  const auto& want = golden["models"]["armorm-llama3"]["cases"][2];
  CHECK(std::abs(j["reward"].get<double>() - want["score"].get<double>()) <= 1e-4);
  CHECK(j["reward_variance"] == 0.0);
  REQUIRE(j["attributes"].size() == 19);
  CHECK(j["attributes"][10] == nlohmann::json{{"name", "beavertails-is_safe"},
                                              {"mean", j["attributes"][10]["mean"]}});
  CHECK(std::abs(j["attributes"][10]["mean"].get<double>() - want["multi_obj_rewards"][10].get<double>()) <= 1e-4);
  CHECK(std::abs(j["weights"][3].get<double>() - want["multi_obj_coeffs"][3].get<double>()) <= 1e-4);
  CHECK(r.out[1].rfind("{\"error\":\"line 2: ArmoRM: the input does not contain the token pattern", 0) == 0);

  // A scalar head: the reward alone.
  r = urm_score("--model " + zoo + "qwen3-rm", zoo_line("qwen3-rm", 4));
  CHECK(r.status == 0);
  REQUIRE(r.out.size() == 1);
  const auto q = nlohmann::json::parse(r.out[0]);
  CHECK(std::abs(q["reward"].get<double>() - golden["models"]["qwen3-rm"]["cases"][4]["score"].get<double>()) <= 1e-4);
  CHECK(q["attributes"].empty());

  // --bos card is the default, single is --single-bos; anything else is a usage error.
  const std::string tok = urm::test::llama3_tokenizer_dir("llama3-rm");
  r = urm_score("--model " + kTiny + " --tokenizer-dir " + tok + " --bos single --emit-ids", messages_line(6));
  CHECK(r.status == 0);
  REQUIRE(r.out.size() == 1);
  CHECK(nlohmann::json::parse(r.out[0])["input_ids"] == golden_case(7)["input_ids"]);
  r = urm_score("--model " + kTiny + " --tokenizer-dir " + tok + " --bos card --emit-ids", messages_line(6));
  REQUIRE(r.out.size() == 1);
  CHECK(nlohmann::json::parse(r.out[0])["input_ids"] == golden_case(6)["input_ids"]);
  r = urm_score("--model " + kTiny + " --bos double", ids_line(0));
  CHECK(r.status == 2);
  CHECK(r.err.rfind("urm-score: --bos expects card or single, got \"double\"\n", 0) == 0);
}
