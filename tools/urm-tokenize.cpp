// urm-tokenize — token ids of texts, one per line, as Hugging Face would give.
//
//   urm-tokenize --tokenizer PATH/tokenizer.json [--add-special-tokens]
//
// Reads JSON Lines from stdin, each line one JSON string, and writes for each
// a JSON array of token ids to stdout, in order. Blank lines (only spaces,
// tabs, CR) are skipped, as urm-score skips them. A line that is not a JSON
// string gets {"error": "..."} instead and the rest go on; the exit status is
// then 1. Output is written line by line, so another program can drive this
// one line by line through pipes. Exit status 2 on a fatal error: bad
// arguments, a tokenizer that does not load, standard input or output closed,
// a read or write that fails (SIGPIPE is ignored: a reader that closes the
// pipe is a write error).
#include <cstdio>
#include <iostream>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "urm/core/error.hpp"
#include "urm/core/json.hpp"
#include "urm/serve/line_stream.hpp"
#include "urm/text/tokenizer.hpp"

namespace {

constexpr const char* kUsage =
    "usage: urm-tokenize --tokenizer PATH/tokenizer.json [--add-special-tokens] [--max-line-bytes N]\n"
    "Reads one JSON string per line from stdin; writes one JSON array of token ids per line.\n"
    "A line longer than --max-line-bytes (default 16777216, 16 MiB) gets an error.\n";

}  // namespace

int main(int argc, char** argv) {
  const urm::StandardStreams standard = urm::prepare_standard_streams();
  std::string tokenizer_path;
  bool add_special_tokens = false;
  std::size_t max_line_bytes = urm::kDefaultMaxLineBytes;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--tokenizer" && i + 1 < argc) {
      tokenizer_path = argv[++i];
    } else if (arg == "--add-special-tokens") {
      add_special_tokens = true;
    } else if (arg == "--max-line-bytes" && i + 1 < argc) {
      const std::string v = argv[++i];
      std::size_t pos = 0;
      try {
        max_line_bytes = v.empty() || v[0] == '-' ? 0 : std::stoull(v, &pos);
      } catch (const std::exception&) {
        pos = 0;
      }
      if (pos != v.size() || max_line_bytes < 1 || max_line_bytes > (std::size_t{1} << 40)) {
        std::cerr << "urm-tokenize: --max-line-bytes expects a whole number from 1 to " << (std::size_t{1} << 40)
                  << ", got \"" << v << "\"\n"
                  << kUsage;
        return 2;
      }
    } else if (arg == "--help" || arg == "-h") {
      std::cout << kUsage << std::flush;
      return std::cout ? 0 : 2;
    } else {
      std::cerr << "urm-tokenize: unknown or incomplete argument \"" << arg << "\"\n" << kUsage;
      return 2;
    }
  }
  if (tokenizer_path.empty()) {
    std::cerr << "urm-tokenize: --tokenizer is required\n" << kUsage;
    return 2;
  }

  std::optional<std::size_t> answered;  // lines answered, once standard input is being read
  try {
    if (standard.in_closed) throw urm::Error("standard input is closed");
    if (standard.out_closed) throw urm::Error("standard output is closed");
    const urm::Tokenizer tokenizer = urm::Tokenizer::load(tokenizer_path);
    bool any_failed = false;
    urm::LineReader reader(STDIN_FILENO, "standard input", max_line_bytes);
    urm::LineWriter writer(STDOUT_FILENO, "standard output");
    std::size_t line_no = 0;
    answered = 0;
    for (std::string line;;) {
      const urm::LineReader::Result got = reader.next(line);
      if (got == urm::LineReader::Result::End) break;
      ++line_no;
      if (got == urm::LineReader::Result::Line && line.find_first_not_of(" \t\r") == std::string::npos) continue;
      const std::string at = "line " + std::to_string(line_no) + ": ";
      nlohmann::json out;
      try {
        if (got == urm::LineReader::Result::TooLong)
          throw urm::Error("longer than the cap of " + std::to_string(max_line_bytes) + " bytes (--max-line-bytes)");
        if (got == urm::LineReader::Result::OutOfMemory)
          throw urm::Error("out of memory reading the line (lower --max-line-bytes to refuse such lines)");
        // (nlohmann's parser would take a NUL for the end of the line.)
        const std::string nul = urm::detail::find_nul_byte(line);
        const nlohmann::json in =
            nul.empty() ? nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false) : nlohmann::json();
        if (!nul.empty()) {
          out = {{"error", at + "not valid JSON: " + nul}};
        } else if (in.is_discarded()) {
          out = {{"error", at + "not valid JSON"}};
        } else if (!in.is_string()) {
          out = {{"error", at + "expected a JSON string, got " + std::string(in.type_name())}};
        } else {
          out = tokenizer.encode(in.get_ref<const std::string&>(), add_special_tokens);
        }
      } catch (...) {  // every exception is this line's error (std::bad_alloc included)
        out = {{"error", at + urm::current_exception_message()}};
      }
      if (out.is_object()) any_failed = true;
      writer.write_line(out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
      answered = line_no;
    }
    return any_failed ? 1 : 0;
  } catch (...) {
    std::cerr << "urm-tokenize: " << urm::current_exception_message();
    if (answered) std::cerr << " (" << *answered << " lines answered before it)";
    std::cerr << "\n";
    return 2;
  }
}
