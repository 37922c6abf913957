// The two Llama-3 tokenizers of the fixtures (tests/data/README.md) as
// Hugging Face tokenizer folders, for any test that needs a
// ConversationEncoder (or a model) with real token ids:
//   llama3-base  the tokenizer.json scripts/setup fetches into .cache/llama3,
//                with tokenizer_config.llama3-base.json;
//   llama3-rm    the reward-model tokenizer (llama3-rm.patch.json applied,
//                see ::urm::test::llama3_rm_json), with tokenizer_config.llama3-rm.json.
// llama3_tokenizer_dir(variant) writes tokenizer.json + tokenizer_config.json
// under this process's temp folder (removed at exit), once per process.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "support/tokenizer_fixtures.hpp"
#include "urm/core/error.hpp"

namespace urm::test {

// A folder of this process under the temp directory, removed at exit.
inline const std::filesystem::path& test_temp_dir() {
  struct TempDir {
    std::filesystem::path path = std::filesystem::temp_directory_path() / ("urm-test-" + std::to_string(::getpid()));
    ~TempDir() {
      std::error_code ec;
      std::filesystem::remove_all(path, ec);
    }
  };
  static const TempDir dir;
  return dir.path;
}

inline std::string llama3_tokenizer_dir(const std::string& variant) {
  static std::map<std::string, std::string> written;
  if (const auto it = written.find(variant); it != written.end()) return it->second;
  if (variant != "llama3-base" && variant != "llama3-rm") throw Error("no Llama-3 tokenizer variant '" + variant + "'");
  ::urm::test::require_llama3_tokenizer();
  const std::filesystem::path dir = test_temp_dir() / variant;
  std::filesystem::create_directories(dir);
  if (variant == "llama3-rm") {
    std::ofstream(dir / "tokenizer.json") << ::urm::test::llama3_rm_json().dump();
  } else {
    std::filesystem::copy_file(::urm::test::llama3_tokenizer_path(), dir / "tokenizer.json",
                               std::filesystem::copy_options::overwrite_existing);
  }
  std::filesystem::copy_file(URM_TEST_DATA_DIR "/tokenizer/tokenizer_config." + variant + ".json",
                             dir / "tokenizer_config.json", std::filesystem::copy_options::overwrite_existing);
  return written[variant] = dir.string();
}

}  // namespace urm::test
