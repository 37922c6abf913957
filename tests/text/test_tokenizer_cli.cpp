// build/bin/urm-tokenize, run as a program.
#include <doctest/doctest.h>

#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "test_tokenizer_fixtures.hpp"

namespace {

struct Run {
  int status;  // exit status
  std::string out, err;
};

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// Runs urm-tokenize with `args`, `input` on its stdin.
Run run(const std::string& args, const std::string& input) {
  const std::string in = urm_test::write_temp_file("cli_in.jsonl", input);
  const std::string out = in + ".out", err = in + ".err";
  const std::string cmd = std::string(URM_BIN_DIR) + "/urm-tokenize " + args + " < " + in + " > " + out + " 2> " + err;
  const int raw = std::system(cmd.c_str());
  REQUIRE(WIFEXITED(raw));
  return {WEXITSTATUS(raw), read_file(out), read_file(err)};
}

}  // namespace

TEST_CASE("urm-tokenize: one id array per JSON string line, errors in place, exit 1 if any") {
  urm_test::require_llama3_tokenizer();
  const std::string tok = "--tokenizer " + urm_test::llama3_tokenizer_path();

  Run r = run(tok, "\"Hi\"\n\"<|begin_of_text|>Hi\"\n\"\"\n");
  CHECK(r.status == 0);
  CHECK(r.out == "[13347]\n[128000,13347]\n[]\n");

  r = run(tok + " --add-special-tokens", "\"Hi\"\n");
  CHECK(r.status == 0);
  CHECK(r.out == "[13347]\n");  // this tokenizer.json's post-processor adds nothing

  r = run(tok, "\"Hi\"\n42\nnot json\n\n[\"Hi\"]\n\"Hi\"\n");
  CHECK(r.status == 1);
  CHECK(r.out ==
        "[13347]\n"
        "{\"error\":\"line 2: expected a JSON string, got number\"}\n"
        "{\"error\":\"line 3: not valid JSON\"}\n"
        "{\"error\":\"line 5: expected a JSON string, got array\"}\n"
        "[13347]\n");
}

TEST_CASE("urm-tokenize: blank lines are skipped, as urm-score skips them; line numbers still count them") {
  urm_test::require_llama3_tokenizer();
  const Run r = run("--tokenizer " + urm_test::llama3_tokenizer_path(), "\n  \t\r\n\"Hi\"\n\r\n42\n");
  CHECK(r.status == 1);
  CHECK(r.out == "[13347]\n{\"error\":\"line 5: expected a JSON string, got number\"}\n");
  CHECK(run("--tokenizer " + urm_test::llama3_tokenizer_path(), "").out.empty());  // an empty input is fine
  CHECK(run("--tokenizer " + urm_test::llama3_tokenizer_path(), "").status == 0);
}

TEST_CASE("urm-tokenize: a closed standard input is an error, not an empty input") {
  urm_test::require_llama3_tokenizer();
  const std::string err = urm_test::write_temp_file("closed.err", "");
  const std::string cmd = std::string(URM_BIN_DIR) + "/urm-tokenize --tokenizer " + urm_test::llama3_tokenizer_path() + " <&- 2> " + err;
  const int raw = std::system(cmd.c_str());
  REQUIRE(WIFEXITED(raw));
  CHECK(WEXITSTATUS(raw) == 1);
  CHECK(read_file(err) == "urm-tokenize: standard input: Bad file descriptor\n");
}

TEST_CASE("urm-tokenize: Qwen3 (NFC normalizer, \\p{N} digits)") {
  urm_test::require_tokenizer("qwen3");
  const Run r = run("--tokenizer " + urm_test::cached_tokenizer_path("qwen3"), "\"<|im_start|>2024 e\\u0301\"\n");
  CHECK(r.status == 0);
  CHECK(r.out == "[151644,17,15,17,19,3958]\n");  // " é" is one token
}

TEST_CASE("urm-tokenize: the reward-model tokenizer adds <|begin_of_text|> with --add-special-tokens") {
  const std::string rm = urm_test::write_temp_file("llama3-rm.json", urm_test::llama3_rm_json().dump());
  const Run r = run("--tokenizer " + rm + " --add-special-tokens", "\"Hi\"\n");
  CHECK(r.status == 0);
  CHECK(r.out == "[128000,13347]\n");
}

TEST_CASE("urm-tokenize: bad arguments and a bad tokenizer file") {
  Run r = run("", "");
  CHECK(r.status == 2);
  CHECK(r.err.find("--tokenizer is required") != std::string::npos);
  r = run("--tokenizer", "");
  CHECK(r.status == 2);
  CHECK(r.err.find("unknown or incomplete argument \"--tokenizer\"") != std::string::npos);
  r = run("--tokenizer /nonexistent/tokenizer.json", "\"Hi\"\n");
  CHECK(r.status == 1);
  CHECK(r.out.empty());
  CHECK(r.err == "urm-tokenize: /nonexistent/tokenizer.json: cannot open: No such file or directory\n");
}
