// build/bin/urm-tokenize, run as a program.
#include <doctest/doctest.h>

#include <string>

#include "support/run_program.hpp"
#include "support/tokenizer_fixtures.hpp"

namespace {

// Runs urm-tokenize with `args`, `input` on its stdin.
urm::test::ProgramRun run(const std::string& args, const std::string& input) {
  urm::test::ProgramRun r = urm::test::run_program("urm-tokenize", args, input);
  REQUIRE(r.status >= 0);
  return r;
}

}  // namespace

TEST_CASE("urm-tokenize: one id array per JSON string line, errors in place, exit 1 if any") {
  urm::test::require_llama3_tokenizer();
  const std::string tok = "--tokenizer " + urm::test::llama3_tokenizer_path();

  auto r = run(tok, "\"Hi\"\n\"<|begin_of_text|>Hi\"\n\"\"\n");
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
  urm::test::require_llama3_tokenizer();
  const auto r = run("--tokenizer " + urm::test::llama3_tokenizer_path(), "\n  \t\r\n\"Hi\"\n\r\n42\n");
  CHECK(r.status == 1);
  CHECK(r.out == "[13347]\n{\"error\":\"line 5: expected a JSON string, got number\"}\n");
  CHECK(run("--tokenizer " + urm::test::llama3_tokenizer_path(), "").out.empty());  // an empty input is fine
  CHECK(run("--tokenizer " + urm::test::llama3_tokenizer_path(), "").status == 0);
}

TEST_CASE("urm-tokenize: a closed standard input is an error, not an empty input") {
  urm::test::require_llama3_tokenizer();
  const std::string err = urm::test::write_temp_file("closed.err", "");
  const std::string cmd = std::string(URM_BIN_DIR) + "/urm-tokenize --tokenizer " + urm::test::llama3_tokenizer_path() + " <&- 2> " + err;
  const int raw = std::system(cmd.c_str());
  REQUIRE(WIFEXITED(raw));
  CHECK(WEXITSTATUS(raw) == 2);
  CHECK(urm::test::read_file(err) == "urm-tokenize: standard input is closed\n");
}

TEST_CASE("urm-tokenize: Qwen3 (NFC normalizer, \\p{N} digits)") {
  urm::test::require_tokenizer("qwen3");
  const auto r = run("--tokenizer " + urm::test::cached_tokenizer_path("qwen3"), "\"<|im_start|>2024 e\\u0301\"\n");
  CHECK(r.status == 0);
  CHECK(r.out == "[151644,17,15,17,19,3958]\n");  // " é" is one token
}

TEST_CASE("urm-tokenize: the reward-model tokenizer adds <|begin_of_text|> with --add-special-tokens") {
  const std::string rm = urm::test::write_temp_file("llama3-rm.json", urm::test::llama3_rm_json().dump());
  const auto r = run("--tokenizer " + rm + " --add-special-tokens", "\"Hi\"\n");
  CHECK(r.status == 0);
  CHECK(r.out == "[128000,13347]\n");
}

TEST_CASE("urm-tokenize: bad arguments and a bad tokenizer file") {
  auto r = run("", "");
  CHECK(r.status == 2);
  CHECK(r.err.find("--tokenizer is required") != std::string::npos);
  r = run("--tokenizer", "");
  CHECK(r.status == 2);
  CHECK(r.err.find("unknown or incomplete argument \"--tokenizer\"") != std::string::npos);
  r = run("--tokenizer /nonexistent/tokenizer.json", "\"Hi\"\n");
  CHECK(r.status == 2);
  CHECK(r.out.empty());
  CHECK(r.err == "urm-tokenize: /nonexistent/tokenizer.json: cannot open: No such file or directory\n");
}
