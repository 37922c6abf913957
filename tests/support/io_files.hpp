// Helpers for the io tests: scratch folders and hand-built safetensors files.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

namespace urm::test {

namespace fs = std::filesystem;

inline const fs::path kModels = fs::path(URM_TEST_DATA_DIR) / "models";

// A fresh folder under the system temp dir, removed with everything in it.
class TempDir {
 public:
  explicit TempDir(const std::string& name)
      : path_(fs::temp_directory_path() / ("urm-io-test-" + std::to_string(::getpid()) + "-" + name)) {
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const fs::path& path() const { return path_; }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

inline void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

inline std::string le64(std::uint64_t v) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[static_cast<std::size_t>(i)] = static_cast<char>((v >> (8 * i)) & 0xffu);
  return s;
}

// [u64 length][header][data], the length being the header's unless overridden.
inline std::string safetensors_bytes(const std::string& header, const std::string& data) {
  return le64(header.size()) + header + data;
}

}  // namespace urm::test

#include <nlohmann/json.hpp>
#include <vector>

namespace urm::test {

struct TensorSpec {
  std::string name;
  std::string dtype;  // safetensors name
  std::vector<std::int64_t> shape;
};

// A valid safetensors file holding `specs` back to back; byte k of the data
// area is k mod 251 (a pattern that shows misplaced views).
inline std::string build_safetensors(const std::vector<TensorSpec>& specs) {
  nlohmann::json header = nlohmann::json::object();
  std::uint64_t offset = 0;
  for (const auto& s : specs) {
    std::uint64_t n = s.dtype == "F32" ? 4 : s.dtype == "F16" || s.dtype == "BF16" ? 2 : 1;
    for (auto d : s.shape) n *= static_cast<std::uint64_t>(d);
    header[s.name] = {{"dtype", s.dtype}, {"shape", s.shape}, {"data_offsets", {offset, offset + n}}};
    offset += n;
  }
  std::string data(offset, '\0');
  for (std::size_t k = 0; k < data.size(); ++k) data[k] = static_cast<char>(k % 251);
  return safetensors_bytes(header.dump(), data);
}

}  // namespace urm::test
