// urm-tokenize — token ids of texts, one per line, as Hugging Face would give.
//
//   urm-tokenize --tokenizer PATH/tokenizer.json [--add-special-tokens]
//
// Reads JSON Lines from stdin, each line one JSON string, and writes for each
// a JSON array of token ids to stdout, in order. Blank lines (only spaces,
// tabs, CR) are skipped, as urm-score skips them. A line that is not a JSON
// string gets {"error": "..."} instead and the rest go on; the exit status is
// then 1. Output is flushed after every line, so another program can drive
// this one line by line through pipes. A standard input that is closed or
// cannot be read is an error (exit status 1), not an empty input.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>

#include <nlohmann/json.hpp>

#include "urm/core/error.hpp"
#include "urm/text/tokenizer.hpp"

namespace {

constexpr const char* kUsage =
    "usage: urm-tokenize --tokenizer PATH/tokenizer.json [--add-special-tokens]\n"
    "Reads one JSON string per line from stdin; writes one JSON array of token ids per line.\n";

}  // namespace

int main(int argc, char** argv) {
  std::string tokenizer_path;
  bool add_special_tokens = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--tokenizer" && i + 1 < argc) {
      tokenizer_path = argv[++i];
    } else if (arg == "--add-special-tokens") {
      add_special_tokens = true;
    } else if (arg == "--help" || arg == "-h") {
      std::cout << kUsage;
      return 0;
    } else {
      std::cerr << "urm-tokenize: unknown or incomplete argument \"" << arg << "\"\n" << kUsage;
      return 2;
    }
  }
  if (tokenizer_path.empty()) {
    std::cerr << "urm-tokenize: --tokenizer is required\n" << kUsage;
    return 2;
  }

  try {
    if (::fcntl(STDIN_FILENO, F_GETFD) == -1)
      throw urm::Error(std::string("standard input: ") + std::strerror(errno));
    const urm::Tokenizer tokenizer = urm::Tokenizer::load(tokenizer_path);
    bool any_failed = false;
    std::string line;
    for (std::size_t line_no = 1; std::getline(std::cin, line); ++line_no) {
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      nlohmann::json out;
      const nlohmann::json in = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
      if (in.is_discarded()) {
        out = {{"error", "line " + std::to_string(line_no) + ": not valid JSON"}};
      } else if (!in.is_string()) {
        out = {{"error", "line " + std::to_string(line_no) + ": expected a JSON string, got " + std::string(in.type_name())}};
      } else {
        try {
          out = tokenizer.encode(in.get_ref<const std::string&>(), add_special_tokens);
        } catch (const urm::Error& e) {
          out = {{"error", "line " + std::to_string(line_no) + ": " + e.what()}};
        }
      }
      if (out.is_object()) any_failed = true;
      std::cout << out.dump() << std::endl;
    }
    if (std::cin.bad()) throw urm::Error("standard input: read error");
    return any_failed ? 1 : 0;
  } catch (const urm::Error& e) {
    std::cerr << "urm-tokenize: " << e.what() << "\n";
    return 1;
  }
}
