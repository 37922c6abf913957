// The tokenizer folder's files as the text layer opens them, made hostile
// (issue 10): tokenizer.json, tokenizer_config.json and chat_template.jinja
// as a FIFO, a device or a directory, or with a NUL byte: errors at once,
// naming the file and the cause.
#include <doctest/doctest.h>

#include <sys/stat.h>

#include <filesystem>
#include <string>

#include "support/io_files.hpp"
#include "support/tokenizer_fixtures.hpp"
#include "urm/text/conversation_encoder.hpp"
#include "urm/text/tokenizer.hpp"
#include "urm/text/tokenizer_config.hpp"

namespace fs = std::filesystem;
using urm::test::TempDir;
using urm::test::write_file;

TEST_CASE("row 14: a NUL byte in tokenizer.json or tokenizer_config.json is an error") {
  const TempDir dir("tokenizer-nul");
  const std::string tok = urm::test::tiny_tokenizer_json().dump();
  write_file(dir.file("tokenizer.json"), tok + std::string("\0junk", 5));
  CHECK_THROWS_WITH_AS(urm::Tokenizer::load(dir.file("tokenizer.json")),
                       (dir.file("tokenizer.json") + ": invalid JSON: a NUL byte at byte " + std::to_string(tok.size()))
                           .c_str(),
                       urm::Error);
  write_file(dir.file("tokenizer_config.json"), std::string("{\"chat_template\": \"x\"}\0{", 24));
  CHECK_THROWS_WITH_AS(urm::TokenizerConfig::load(dir.file("tokenizer_config.json")),
                       (dir.file("tokenizer_config.json") + ": invalid JSON: a NUL byte at byte 22").c_str(), urm::Error);
  CHECK_THROWS_WITH_AS(urm::TokenizerConfig::parse(std::string("{}\0", 3), "cfg.json"),
                       "cfg.json: invalid JSON: a NUL byte at byte 2", urm::Error);
}

TEST_CASE("row 8: a FIFO, /dev/zero or a directory as a tokenizer file is an error at once") {
  const TempDir dir("tokenizer-kinds");
  for (const char* name : {"tokenizer.json", "tokenizer_config.json"}) {
    CAPTURE(name);
    const std::string fifo = dir.file(std::string("fifo-") + name);
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    const std::string zero = dir.file(std::string("zero-") + name);
    fs::create_symlink("/dev/zero", zero);
    const auto load = [&](const std::string& path) {
      if (std::string(name) == "tokenizer.json")
        (void)urm::Tokenizer::load(path);
      else
        (void)urm::TokenizerConfig::load(path);
    };
    CHECK_THROWS_WITH_AS(load(fifo), (fifo + ": not a regular file (a FIFO or pipe)").c_str(), urm::Error);
    CHECK_THROWS_WITH_AS(load(zero), (zero + ": not a regular file (a character device)").c_str(), urm::Error);
    CHECK_THROWS_WITH_AS(load(dir.path().string()), (dir.path().string() + ": not a regular file (a directory)").c_str(),
                         urm::Error);
  }
}

TEST_CASE("a chat_template.jinja that is not a regular file is an error, not a fall-back to the config's template") {
  const TempDir dir("tokenizer-jinja");
  write_file(dir.file("tokenizer.json"), urm::test::tiny_tokenizer_json().dump());
  write_file(dir.file("tokenizer_config.json"), R"({"chat_template": "{{ messages[0].content }}"})");
  CHECK(urm::ConversationEncoder::load(dir.path().string()).render({{"user", "hi"}}) == "hi");
  REQUIRE(::mkfifo(dir.file("chat_template.jinja").c_str(), 0600) == 0);
  CHECK_THROWS_WITH_AS(urm::ConversationEncoder::load(dir.path().string()),
                       (dir.file("chat_template.jinja") + ": not a regular file (a FIFO or pipe)").c_str(), urm::Error);
  fs::remove(dir.path() / "chat_template.jinja");
  fs::create_symlink(dir.path() / "nowhere", dir.path() / "chat_template.jinja");
  CHECK_THROWS_WITH_AS(urm::ConversationEncoder::load(dir.path().string()),
                       (dir.file("chat_template.jinja") + ": cannot open: No such file or directory").c_str(),
                       urm::Error);
}
