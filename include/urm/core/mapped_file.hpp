// MappedFile — a read-only memory map of a whole file (RAII, move-only).
//
// Checkpoint weights are used in place from the map: no copy, and the page
// cache shares them between processes that load the same model.
//
// Caveat, inherent to memory maps: if the file is truncated while it is
// mapped (another process rewrites a shard in place), reading a page past
// the new end raises SIGBUS. Replace model files by writing a new file and
// renaming it over the old one, which leaves the mapped inode intact.
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>
#include <utility>

#include "urm/core/error.hpp"
#include "urm/core/regular_file.hpp"

namespace urm {

// Drops the whole pages inside [p, p + n) of a read-only file map from this
// process's resident set (madvise MADV_DONTNEED). No byte changes: a page read
// again is faulted back in from the page cache. Used once a mapped weight has
// been converted into a buffer of its own, so the map stops counting in RSS.
inline void release_resident_pages(const void* p, std::size_t n) {
  const auto page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
  const auto begin = (reinterpret_cast<std::uintptr_t>(p) + page - 1) / page * page;
  const auto end = (reinterpret_cast<std::uintptr_t>(p) + n) / page * page;
  if (p != nullptr && end > begin) ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);
}

// A read fault on a file map maps not one page but the cached pages around
// it (Linux "fault-around", fault_around_bytes = 64 KiB by default), and
// MADV_RANDOM does not stop it. Reading scattered rows of a large mapped
// table (embedding lookups) thus makes up to 64 KiB resident per row: 224
// MiB for 4,096 random rows of Llama-3's 1 GiB embedding.
inline constexpr std::size_t kFaultAroundBytes = std::size_t{64} << 10;

// Drops from the resident set the fault-around windows of the rows `rows` of
// a row-major table [p, p + rows_total · row_bytes) in a read-only file map,
// keeping to the whole pages of the table. As release_resident_pages: no
// byte changes, a later read faults the page back in from the page cache.
template <class Index>
void release_resident_rows(const void* p, std::size_t row_bytes, std::size_t rows_total, const Index* rows,
                           std::size_t n) {
  const auto page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
  const auto base = reinterpret_cast<std::uintptr_t>(p);
  const auto lo = (base + page - 1) / page * page, hi = (base + rows_total * row_bytes) / page * page;
  const std::uintptr_t w = kFaultAroundBytes;
  std::uintptr_t last_begin = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const std::uintptr_t row = base + static_cast<std::uintptr_t>(rows[i]) * row_bytes;
    const std::uintptr_t begin = std::max(lo, row / w * w), end = std::min(hi, (row + row_bytes + w - 1) / w * w);
    if (end > begin && begin != last_begin) ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);
    last_begin = begin;  // (consecutive ids often share a window)
  }
}

class MappedFile {
 public:
  MappedFile() = default;

  // Maps the regular file `path` (opened as open_regular_file does: a FIFO,
  // directory or device is an error, as is a size above `max_bytes`).
  static MappedFile open(const std::string& path, std::uint64_t max_bytes = kNoFileSizeCap,
                         std::string_view what = "a file") {
    MappedFile f;
    f.path_ = path;
    const RegularFile file = open_regular_file(path, max_bytes, what);
    if (file.size > std::numeric_limits<std::size_t>::max())
      throw Error(path + ": " + std::to_string(file.size) + " bytes do not fit in this process's address space");
    f.size_ = static_cast<std::size_t>(file.size);
    if (f.size_ > 0) {
      void* p = ::mmap(nullptr, f.size_, PROT_READ, MAP_PRIVATE, file.fd.get(), 0);
      if (p == MAP_FAILED) {
        f.size_ = 0;
        throw Error(path + ": cannot mmap: " + std::strerror(errno));
      }
      f.data_ = static_cast<const std::byte*>(p);
    }
    return f;
  }

  MappedFile(MappedFile&& o) noexcept
      : path_(std::move(o.path_)), data_(std::exchange(o.data_, nullptr)), size_(std::exchange(o.size_, 0)) {}
  MappedFile& operator=(MappedFile&& o) noexcept {
    if (this != &o) {
      release();
      path_ = std::move(o.path_);
      data_ = std::exchange(o.data_, nullptr);
      size_ = std::exchange(o.size_, 0);
    }
    return *this;
  }
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile() { release(); }

  const std::byte* data() const { return data_; }
  std::size_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  void release() {
    if (data_ != nullptr) ::munmap(const_cast<std::byte*>(data_), size_);
    data_ = nullptr;
    size_ = 0;
  }

  std::string path_;
  const std::byte* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace urm
