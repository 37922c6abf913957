// The two Llama-3 tokenizers of the fixtures (tests/data/README.md), for any
// test that needs real token ids:
//   llama3-base  the tokenizer.json scripts/setup fetches into .cache/llama3,
//                with tokenizer_config.llama3-base.json;
//   llama3-rm    the reward-model tokenizer: the same file with
//                llama3-rm.patch.json applied (post_processor replaced so
//                that it prepends <|begin_of_text|>, [PAD] = 128256
//                appended to added_tokens), with tokenizer_config.llama3-rm.json.
// llama3_tokenizer_dir(variant) writes a Hugging Face tokenizer folder
// (tokenizer.json + tokenizer_config.json) under the system temp directory,
// once per process (removed at exit), and returns its path.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "urm/core/error.hpp"

namespace urm::test {

inline nlohmann::json read_json_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Error(path + ": cannot open (run scripts/setup to fetch the test data)");
  return nlohmann::json::parse(in);
}

inline std::string llama3_tokenizer_json_path() { return URM_CACHE_DIR "/llama3/tokenizer.json"; }

inline nlohmann::json llama3_rm_tokenizer_json() {
  nlohmann::json j = read_json_file(llama3_tokenizer_json_path());
  const nlohmann::json patch = read_json_file(URM_TEST_DATA_DIR "/tokenizer/llama3-rm.patch.json");
  j["post_processor"] = patch.at("post_processor");
  for (const auto& token : patch.at("append_added_tokens")) j["added_tokens"].push_back(token);
  return j;
}

// A folder of this process under the temp directory, removed at exit.
inline const std::filesystem::path& test_temp_dir() {
  struct TempDir {
    std::filesystem::path path =
        std::filesystem::temp_directory_path() / ("urm-test-" + std::to_string(::getpid()));
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
  const std::filesystem::path dir = test_temp_dir() / variant;
  std::filesystem::create_directories(dir);
  if (variant == "llama3-rm") {
    std::ofstream(dir / "tokenizer.json") << llama3_rm_tokenizer_json().dump();
  } else {
    std::filesystem::copy_file(llama3_tokenizer_json_path(), dir / "tokenizer.json",
                               std::filesystem::copy_options::overwrite_existing);
  }
  std::filesystem::copy_file(URM_TEST_DATA_DIR "/tokenizer/tokenizer_config." + variant + ".json",
                             dir / "tokenizer_config.json", std::filesystem::copy_options::overwrite_existing);
  return written[variant] = dir.string();
}

}  // namespace urm::test
