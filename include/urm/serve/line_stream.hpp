// Line streams — how the JSON Lines programs (urm-score, urm-tokenize) read
// their input and write their output, so that no line is lost in silence:
//   - LineReader reads lines from a file descriptor with a cap on the length
//     of one line (a longer line is reported as such, as soon as the cap is
//     passed, and skipped to its end with no memory held for it; so is a
//     line that memory cannot hold); a read that fails is an error, never
//     taken for the end of the input;
//   - LineWriter writes each line whole with write(2) and throws on any
//     failure (a full disk, a closed pipe, a closed descriptor);
//   - count_lines counts the lines still to come in a regular file with
//     pread(2), which moves no file offset: counting never consumes the
//     input (a pipe, FIFO or terminal is not counted at all);
//   - prepare_standard_streams makes the standard streams safe to use: it
//     ignores SIGPIPE and SIGXFSZ (a write to a pipe whose reader has gone,
//     or past the file size limit of `ulimit -f`, then fails with EPIPE or
//     EFBIG and the program reports it, instead of being killed), and
//     puts /dev/null on descriptors 0-2 that are closed, so that no file the
//     program opens later takes their number and receives what was meant for
//     standard output or standard error.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstddef>
#include <cstring>
#include <new>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "urm/core/error.hpp"

namespace urm {

// The default cap on one input line: 16 MiB, some 16 times the longest real
// input (a 128k-token conversation is about 0.5 MB of text, its ids about
// 1 MB of JSON), and small enough that the worst line to tokenize (a single
// 16 MB word) costs seconds and about 1 GB, not minutes and all of memory.
inline constexpr std::size_t kDefaultMaxLineBytes = std::size_t{16} << 20;

// A line is blank when it has nothing but spaces, tabs and a carriage return.
inline bool blank_line(std::string_view line) { return line.find_first_not_of(" \t\r") == std::string_view::npos; }

class LineReader {
 public:
  enum class Result {
    Line,         // a whole line (without its '\n')
    TooLong,      // a line longer than the cap: the caller answers it; its rest is skipped
    OutOfMemory,  // a line under the cap that memory could not hold: the same
    End,          // the end of the input
  };

  // Reads `fd` (not owned), named `name` in messages.
  LineReader(int fd, std::string name, std::size_t max_line_bytes)
      : fd_(fd), name_(std::move(name)), max_line_bytes_(max_line_bytes), buffer_(kChunk) {}

  std::size_t max_line_bytes() const { return max_line_bytes_; }

  // The next line into `line`. Throws urm::Error "<name>: cannot read: …".
  Result next(std::string& line) {
    line.clear();
    if (skipping_) {  // the rest of a line that was too long
      for (;;) {
        if (begin_ == end_ && !fill()) return Result::End;
        const char* nl = static_cast<const char*>(std::memchr(buffer_.data() + begin_, '\n', end_ - begin_));
        if (nl) {
          begin_ = static_cast<std::size_t>(nl - buffer_.data()) + 1;
          break;
        }
        begin_ = end_;
      }
      skipping_ = false;
    }
    for (;;) {
      if (begin_ == end_ && !fill()) return line.empty() ? Result::End : Result::Line;
      const char* start = buffer_.data() + begin_;
      const char* nl = static_cast<const char*>(std::memchr(start, '\n', end_ - begin_));
      const std::size_t n = nl ? static_cast<std::size_t>(nl - start) : end_ - begin_;
      const bool too_long = line.size() + n > max_line_bytes_;
      bool no_memory = false;
      if (!too_long) {
        try {
          line.append(start, n);
        } catch (const std::bad_alloc&) {  // a cap set above what memory holds
          no_memory = true;
        }
      }
      begin_ += nl ? n + 1 : n;
      if (too_long || no_memory) {
        std::string().swap(line);  // give the memory back
        skipping_ = !nl;
        return too_long ? Result::TooLong : Result::OutOfMemory;
      }
      if (nl) return Result::Line;
    }
  }

 private:
  static constexpr std::size_t kChunk = std::size_t{1} << 16;

  // Refills the empty buffer; false at the end of the input.
  bool fill() {
    begin_ = end_ = 0;
    for (;;) {
      const ::ssize_t got = ::read(fd_, buffer_.data(), buffer_.size());
      if (got > 0) {
        end_ = static_cast<std::size_t>(got);
        return true;
      }
      if (got == 0) return false;
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {  // a non-blocking descriptor we were handed: wait for data
        pollfd p{fd_, POLLIN, 0};
        ::poll(&p, 1, -1);
        continue;
      }
      throw Error(name_ + ": cannot read: " + std::strerror(errno));
    }
  }

  int fd_;
  std::string name_;
  std::size_t max_line_bytes_;
  std::vector<char> buffer_;
  std::size_t begin_ = 0, end_ = 0;  // unread bytes of buffer_
  bool skipping_ = false;
};

// The non-blank lines from the current offset of `fd` to its end (a line
// longer than `max_line_bytes` counts, as LineReader reports it), if `fd` is
// a regular file; otherwise, or if it cannot be read, nothing. Uses pread:
// the offset LineReader reads from does not move.
inline std::optional<std::size_t> count_lines(int fd, std::size_t max_line_bytes) {
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
  const ::off_t start = ::lseek(fd, 0, SEEK_CUR);
  if (start < 0) return std::nullopt;
  std::vector<char> buffer(std::size_t{1} << 20);
  std::size_t n = 0, length = 0;  // lines counted; bytes of the current line
  bool content = false;           // the current line has a non-blank byte
  for (::off_t at = start;;) {
    const ::ssize_t got = ::pread(fd, buffer.data(), buffer.size(), at);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return std::nullopt;
    if (got == 0) break;
    at += got;
    for (::ssize_t i = 0; i < got; ++i) {
      const char c = buffer[static_cast<std::size_t>(i)];
      if (c == '\n') {
        n += content || length > max_line_bytes;
        content = false;
        length = 0;
      } else {
        ++length;
        content = content || (c != ' ' && c != '\t' && c != '\r');
      }
    }
  }
  return n + (content || length > max_line_bytes);
}

class LineWriter {
 public:
  // Writes to `fd` (not owned), named `name` in messages.
  LineWriter(int fd, std::string name) : fd_(fd), name_(std::move(name)) {}

  // `text` and a '\n', whole (write(2) until every byte is out). Throws
  // urm::Error "<name>: cannot write: …" (e.g. "No space left on device",
  // "Broken pipe" once the reader of a pipe has exited).
  void write_line(std::string_view text) {
    line_.assign(text);
    line_ += '\n';
    for (std::size_t done = 0; done < line_.size();) {
      const ::ssize_t n = ::write(fd_, line_.data() + done, line_.size() - done);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {  // a non-blocking descriptor: wait for room
          pollfd p{fd_, POLLOUT, 0};
          ::poll(&p, 1, -1);
          continue;
        }
        throw Error(name_ + ": cannot write: " + std::strerror(errno));
      }
      done += static_cast<std::size_t>(n);
    }
  }

 private:
  int fd_;
  std::string name_;
  std::string line_;
};

// Which standard descriptors were closed when the program started.
struct StandardStreams {
  bool in_closed = false, out_closed = false, err_closed = false;
};

// Call first in main(): ignores SIGPIPE and SIGXFSZ and opens /dev/null on whichever of
// descriptors 0, 1, 2 is closed (see the top of this file). The program
// decides what a closed one means: urm-score refuses to read a closed
// standard input or write to a closed standard output.
inline StandardStreams prepare_standard_streams() {
  std::signal(SIGPIPE, SIG_IGN);
  std::signal(SIGXFSZ, SIG_IGN);
  StandardStreams s;
  bool* closed[] = {&s.in_closed, &s.out_closed, &s.err_closed};
  for (int fd = 0; fd < 3; ++fd) {
    if (::fcntl(fd, F_GETFD) != -1 || errno != EBADF) continue;
    *closed[fd] = true;
    // open() returns the lowest free descriptor: fd itself, the lower ones being open.
    const int got = ::open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
    if (got != fd && got >= 0) ::close(got);
  }
  return s;
}

}  // namespace urm
