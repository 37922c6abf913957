// release_resident_pages / release_resident_rows on a real file map: the
// pages leave this process's resident set, the bytes read back unchanged.
#include <doctest/doctest.h>

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "urm/core/mapped_file.hpp"

namespace {

// Resident kB of the mapping that contains p (/proc/self/smaps), -1 if none.
long mapping_rss_kb(const void* p) {
  std::ifstream f("/proc/self/smaps");
  const auto a = reinterpret_cast<std::uintptr_t>(p);
  bool inside = false;
  for (std::string line; std::getline(f, line);) {
    std::uintptr_t lo = 0, hi = 0;
    char dash = 0;
    std::istringstream head(line);
    if (head >> std::hex >> lo >> dash >> hi && dash == '-' && line.find(' ') > line.find('-')) {
      inside = lo <= a && a < hi;
      continue;
    }
    if (inside && line.rfind("Rss:", 0) == 0) return std::atol(line.c_str() + 4);
  }
  return -1;
}

}  // namespace

TEST_CASE("release_resident_rows drops the rows read and what fault-around mapped next to them") {
  const std::size_t row_bytes = 8192, rows = 512;  // 4 MiB, like a slice of an embedding table
  const std::string path = (std::filesystem::temp_directory_path() / ("urm_rows_" + std::to_string(::getpid()))).string();
  std::vector<std::uint8_t> bytes(row_bytes * rows);
  for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<std::uint8_t>(i * 7 + i / 4096);
  {
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  }
  {
    const urm::MappedFile f = urm::MappedFile::open(path);
    REQUIRE(f.size() == bytes.size());
    const std::int32_t ids[] = {0, 37, 38, 100, 255, 300, 411, 511};
    long sum = 0;
    for (std::int32_t id : ids)
      for (std::size_t b = 0; b < row_bytes; b += 512) sum += std::to_integer<int>(f.data()[id * row_bytes + b]);
    CHECK(sum > 0);
    const long before = mapping_rss_kb(f.data());
    CHECK(before >= static_cast<long>(8 * row_bytes / 1024 - 8));  // 37 and 38 share pages
    urm::release_resident_rows(f.data(), row_bytes, rows, ids, std::size(ids));
    CHECK(mapping_rss_kb(f.data()) == 0);
    // Nothing changed: every byte reads back as written.
    CHECK(std::memcmp(f.data(), bytes.data(), bytes.size()) == 0);
    CHECK(mapping_rss_kb(f.data()) == static_cast<long>(bytes.size() / 1024));
    urm::release_resident_pages(f.data(), f.size());
    CHECK(mapping_rss_kb(f.data()) == 0);
  }
  std::filesystem::remove(path);
}
