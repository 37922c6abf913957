// Regular files — how urm.cpp opens every file it reads (config.json, the
// shard index, the safetensors shards, tokenizer.json, tokenizer_config.json,
// chat_template.jinja), so that a wrong path is an error, never a hang or an
// unbounded read:
//   - a path with a NUL byte is refused (the C call would silently cut it);
//   - the file is opened with O_NONBLOCK, so that opening a FIFO returns at
//     once instead of waiting for a writer that may never come;
//   - the open descriptor is fstat'ed (no race between the check and the
//     read): only a regular file is accepted, anything else (a directory, a
//     FIFO, a socket, a device such as /dev/zero, which never ends) is an
//     error naming what it is;
//   - its size is checked against a cap the caller chooses, before anything
//     is read or mapped, and a read stops at the cap even if the file grows.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>
#include <utility>

#include "urm/core/error.hpp"

namespace urm {

// No cap: for memory maps, whose size costs address space, not memory.
inline constexpr std::uint64_t kNoFileSizeCap = std::numeric_limits<std::uint64_t>::max();

// An owned file descriptor (closed on destruction; move-only).
class FileDescriptor {
 public:
  FileDescriptor() = default;
  explicit FileDescriptor(int fd) : fd_(fd) {}
  FileDescriptor(FileDescriptor&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  FileDescriptor& operator=(FileDescriptor&& o) noexcept {
    if (this != &o) {
      reset();
      fd_ = std::exchange(o.fd_, -1);
    }
    return *this;
  }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  ~FileDescriptor() { reset(); }

  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }
  int release() { return std::exchange(fd_, -1); }  // the caller closes it (and can check close's result)
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

namespace detail {

// What a file that is not a regular file is, for messages: "a directory", ...
inline const char* file_kind(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO or pipe";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISREG(mode)) return "a regular file";
  return "not a file";
}

// The path as it can be printed: a NUL byte shown as \0.
inline std::string printable_path(std::string_view path) {
  std::string s;
  for (const char c : path) s += c == '\0' ? std::string("\\0") : std::string(1, c);
  return s;
}

}  // namespace detail

// An open regular file and its size at the time it was opened.
struct RegularFile {
  FileDescriptor fd;
  std::uint64_t size = 0;
};

// Opens `path` for reading if it is a regular file of at most `max_bytes`;
// otherwise urm::Error "<path>: …" (`what` names the kind of file in the cap
// message: "<path>: 123 bytes is larger than the cap of 100 bytes for a JSON file").
inline RegularFile open_regular_file(const std::string& path, std::uint64_t max_bytes = kNoFileSizeCap,
                                     std::string_view what = "a file") {
  if (path.find('\0') != std::string::npos)
    throw Error(detail::printable_path(path) + ": the path contains a NUL byte");
  RegularFile f;
  f.fd = FileDescriptor(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
  if (!f.fd) throw Error(path + ": cannot open: " + std::strerror(errno));
  struct stat st {};
  if (::fstat(f.fd.get(), &st) != 0) throw Error(path + ": cannot stat: " + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) throw Error(path + ": not a regular file (" + detail::file_kind(st.st_mode) + ")");
  f.size = static_cast<std::uint64_t>(st.st_size);
  if (f.size > max_bytes)
    throw Error(path + ": " + std::to_string(f.size) + " bytes is larger than the cap of " +
                std::to_string(max_bytes) + " bytes for " + std::string(what));
  // Reads of a regular file never block; clear the flag for whoever reads it next.
  ::fcntl(f.fd.get(), F_SETFL, ::fcntl(f.fd.get(), F_GETFL) & ~O_NONBLOCK);
  return f;
}

// The whole contents of the regular file `path`, at most `max_bytes` (see
// open_regular_file). Reads to the end of the file rather than trusting the
// size fstat gave (files in /proc say 0), and fails if it passes the cap.
inline std::string read_regular_file(const std::string& path, std::uint64_t max_bytes, std::string_view what) {
  const RegularFile f = open_regular_file(path, max_bytes, what);
  // One byte past the cap is read to see that the file has grown past it.
  const std::uint64_t limit = max_bytes < kNoFileSizeCap ? max_bytes + 1 : max_bytes;
  std::string text;
  text.resize(static_cast<std::size_t>(std::min(limit, f.size + 1)));
  std::size_t n = 0;
  for (;;) {
    if (n == text.size()) {
      if (n > max_bytes)
        throw Error(path + ": grew past the cap of " + std::to_string(max_bytes) + " bytes for " + std::string(what) +
                    " while it was read");
      text.resize(static_cast<std::size_t>(std::min<std::uint64_t>(limit, std::uint64_t{2} * n + 4096)));
    }
    const ::ssize_t got = ::read(f.fd.get(), text.data() + n, text.size() - n);
    if (got < 0) {
      if (errno == EINTR) continue;
      throw Error(path + ": cannot read: " + std::strerror(errno));
    }
    if (got == 0) break;
    n += static_cast<std::size_t>(got);
  }
  text.resize(n);
  return text;
}

}  // namespace urm
