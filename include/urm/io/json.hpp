// JSON as the io layer reads it: small files of a model folder (config.json,
// the shard index) and values quoted in error messages.
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>
#include <system_error>

#include "urm/core/error.hpp"

namespace urm::detail {

// Real config and index files are a few kB; the cap bounds what a wrong path
// (say, a weights file) can make us read into memory.
inline constexpr std::uintmax_t kJsonFileMaxBytes = 100'000'000;

inline nlohmann::json read_json_file(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) throw Error(path + ": does not exist");
  if (!std::filesystem::is_regular_file(path, ec)) throw Error(path + ": not a regular file");
  const std::uintmax_t size = std::filesystem::file_size(path, ec);
  if (ec) throw Error(path + ": cannot read its size: " + ec.message());
  if (size > kJsonFileMaxBytes)
    throw Error(path + ": " + std::to_string(size) + " bytes is larger than the cap of " +
                std::to_string(kJsonFileMaxBytes) + " bytes for a JSON file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw Error(path + ": cannot read");
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw Error(path + ": not valid JSON: " + e.what());
  }
}

// A JSON value as quoted in an error message: scalars as JSON text (strings
// cut to 64 bytes), containers by kind only. Never dump() a container: its
// recursion depth is the input's nesting depth.
inline std::string describe_json(const nlohmann::json& v) {
  constexpr std::size_t kMaxString = 64;
  if (v.is_array()) return "an array";
  if (v.is_object()) return "an object";
  if (v.is_string() && v.get_ref<const std::string&>().size() > kMaxString) {
    // A cut may split a UTF-8 sequence: dump() replaces it instead of throwing.
    const nlohmann::json cut = v.get_ref<const std::string&>().substr(0, kMaxString);
    std::string s = cut.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    s.insert(s.size() - 1, "...");
    return s;
  }
  return v.dump();
}

}  // namespace urm::detail
