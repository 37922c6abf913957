// The README's embedding snippets cannot rot: a fenced code block whose first
// line is `// full program: FILE`, `// from: FILE` or `# from: FILE` must be
// lines of FILE (compared without indentation and blank lines, so the file
// may nest them in main()), and FILE is built and run by CTest
// (examples/CMakeLists.txt).
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace {

const std::filesystem::path kRoot = std::filesystem::path(URM_TEST_DATA_DIR).parent_path().parent_path();

std::string trimmed(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r") - b + 1);
}

// The non-blank lines of `text`, trimmed.
std::vector<std::string> code_lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (!trimmed(line).empty()) out.push_back(trimmed(line));
  return out;
}

std::string read(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

struct Snippet {
  std::string readme, file;
  std::size_t line = 0;  // of the block's first line in the README
  std::vector<std::string> lines;
};

// The marked code blocks of a Markdown text.
std::vector<Snippet> snippets(const std::string& readme, const std::string& text) {
  static const std::regex marker(R"(^(//|#) (full program|from): (\S+)$)");
  std::vector<Snippet> out;
  std::istringstream in(text);
  std::string line;
  std::size_t n = 0;
  bool in_block = false;
  std::string body;
  std::size_t start = 0;
  while (std::getline(in, line)) {
    ++n;
    if (line.rfind("```", 0) == 0) {
      if (in_block) {
        std::vector<std::string> lines = code_lines(body);
        std::smatch m;
        if (!lines.empty() && std::regex_match(lines[0], m, marker))
          out.push_back({readme, m[3], start, std::vector<std::string>(lines.begin() + 1, lines.end())});
        body.clear();
      }
      in_block = !in_block;
      start = n + 1;
    } else if (in_block) {
      body += line + "\n";
    }
  }
  return out;
}

}  // namespace

TEST_CASE("README snippets are lines of programs that CI builds and runs") {
  std::set<std::string> referenced;
  for (const char* readme : {"README.md"}) {
    const auto path = kRoot / readme;
    if (!std::filesystem::exists(path)) continue;
    for (const Snippet& s : snippets(readme, read(path))) {
      INFO(s.readme << ":" << s.line << ": snippet from " << s.file);
      const auto file = kRoot / s.file;
      REQUIRE(std::filesystem::exists(file));
      CHECK(!s.lines.empty());
      const std::vector<std::string> source = code_lines(read(file));
      const bool found = std::search(source.begin(), source.end(), s.lines.begin(), s.lines.end()) != source.end();
      CHECK(found);
      referenced.insert(s.file);
    }
  }
  // Every embedding use keeps its snippet (the check cannot pass by losing them).
  for (const char* file : {"examples/snippets/rl_trainer.cpp", "examples/snippets/simulator.cpp",
                           "examples/snippets/c_api.c", "examples/vendored/build.sh", "examples/mpi_score.cpp"}) {
    INFO("no README snippet from " << file);
    CHECK(referenced.count(file) == 1);
  }
}

TEST_CASE("the snippet check finds a changed line") {
  const std::string md = "text\n```cpp\n// from: x.cpp\n  int a = 1;\n\nint b = 2;\n```\n```sh\nls\n```\n";
  const auto s = snippets("R.md", md);
  REQUIRE(s.size() == 1);
  CHECK(s[0].file == "x.cpp");
  CHECK(s[0].line == 3);
  CHECK(s[0].lines == std::vector<std::string>{"int a = 1;", "int b = 2;"});
  const auto source = code_lines("int main() {\n    int a = 1;\n    int b = 2;\n}\n");
  CHECK(std::search(source.begin(), source.end(), s[0].lines.begin(), s[0].lines.end()) != source.end());
  const auto changed = code_lines("int main() {\n    int a = 1;\n    int b = 3;\n}\n");
  CHECK(std::search(changed.begin(), changed.end(), s[0].lines.begin(), s[0].lines.end()) == changed.end());
}
