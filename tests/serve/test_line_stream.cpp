// LineReader, LineWriter, count_lines and prepare_standard_streams: lines
// with a cap, reads and writes that fail loudly, counting that consumes
// nothing, and standard streams made safe.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <string>
#include <thread>
#include <vector>

#include "support/allocation_cap.hpp"
#include "support/io_files.hpp"
#include "urm/core/regular_file.hpp"
#include "urm/serve/line_stream.hpp"

using Result = urm::LineReader::Result;

namespace {

// Every line of `fd` as the reader gives it: the text, or "<too long>".
std::vector<std::string> read_all(int fd, std::size_t cap) {
  urm::LineReader reader(fd, "test input", cap);
  std::vector<std::string> lines;
  for (std::string line;;) {
    const Result r = reader.next(line);
    if (r == Result::End) break;
    lines.push_back(r == Result::TooLong ? "<too long>" : r == Result::OutOfMemory ? "<no memory>" : line);
  }
  return lines;
}

std::vector<std::string> read_text(const std::string& text, std::size_t cap) {
  const urm::test::TempDir dir("line-reader");
  urm::test::write_file(dir.file("in"), text);
  const urm::FileDescriptor fd(::open(dir.file("in").c_str(), O_RDONLY));
  return read_all(fd.get(), cap);
}

}  // namespace

TEST_CASE("LineReader gives each line, the last one without its newline too") {
  using V = std::vector<std::string>;
  CHECK(read_text("", 100).empty());
  CHECK(read_text("a\n\nb\r\nc", 100) == V{"a", "", "b\r", "c"});
  CHECK(read_text("a\n", 100) == V{"a"});
  CHECK(read_text(std::string("a\0b\n", 4), 100) == V{std::string("a\0b", 3)});  // bytes as they are
  // Lines across the reader's 64 KiB chunks.
  const std::string big(200'000, 'x');
  CHECK(read_text(big + "\n" + big, 1'000'000) == V{big, big});
}

TEST_CASE("LineReader reports a line over the cap and goes on with the next") {
  using V = std::vector<std::string>;
  CHECK(read_text("12345\n123456\n1\n", 5) == V{"12345", "<too long>", "1"});
  CHECK(read_text("123456", 5) == V{"<too long>"});
  CHECK(read_text(std::string(300'000, 'x') + "\nok\n" + std::string(300'000, 'y'), 1000) ==
        V{"<too long>", "ok", "<too long>"});
}

TEST_CASE("LineReader: a line under the cap that memory cannot hold is skipped, the next is read") {
  // (Row 10: before, getline failed on it and the loop took that for the end of the input.)
  const urm::test::TempDir dir("line-reader-memory");
  urm::test::write_file(dir.file("in"), "a\n" + std::string(3'000'000, 'x') + "\nb\n");
  const urm::FileDescriptor fd(::open(dir.file("in").c_str(), O_RDONLY));
  std::vector<std::string> lines;
  {
    const urm::test::AllocationCap cap(std::size_t{1} << 20);
    urm::LineReader reader(fd.get(), "test input", 10'000'000);
    std::string line;
    line.reserve(100);
    for (Result r; (r = reader.next(line)) != Result::End;)
      lines.push_back(r == Result::OutOfMemory ? "<no memory>" : r == Result::Line ? line : "?");
  }
  CHECK(lines == std::vector<std::string>{"a", "<no memory>", "b"});
}

TEST_CASE("LineReader reports an over-long line as soon as the cap is passed") {
  // The writer keeps the pipe open and never ends the line: the report may not wait for it.
  int p[2];
  REQUIRE(::pipe(p) == 0);
  const urm::FileDescriptor read_end(p[0]), write_end(p[1]);
  const std::string start(1000, 'x');
  REQUIRE(::write(write_end.get(), start.data(), start.size()) == 1000);
  urm::LineReader reader(read_end.get(), "pipe", 100);
  std::string line;
  CHECK(reader.next(line) == Result::TooLong);
  REQUIRE(::write(write_end.get(), "tail\nnext\n", 10) == 10);
  CHECK(reader.next(line) == Result::Line);
  CHECK(line == "next");
}

TEST_CASE("LineReader waits on a non-blocking descriptor instead of failing") {
  int p[2];
  REQUIRE(::pipe(p) == 0);
  const urm::FileDescriptor read_end(p[0]), write_end(p[1]);
  REQUIRE(::fcntl(read_end.get(), F_SETFL, O_NONBLOCK) == 0);
  std::thread writer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    CHECK(::write(write_end.get(), "late\n", 5) == 5);
  });
  urm::LineReader reader(read_end.get(), "pipe", 100);
  std::string line;
  CHECK(reader.next(line) == Result::Line);
  CHECK(line == "late");
  writer.join();
}

TEST_CASE("a read that fails is an error, not the end of the input") {
  // Reading /proc/self/mem at offset 0 (no page is mapped there) fails with EIO.
  const urm::FileDescriptor fd(::open("/proc/self/mem", O_RDONLY));
  REQUIRE(fd);
  urm::LineReader reader(fd.get(), "/proc/self/mem", 100);
  std::string line;
  CHECK_THROWS_WITH_AS(reader.next(line), "/proc/self/mem: cannot read: Input/output error", urm::Error);
}

TEST_CASE("count_lines counts a regular file from its offset without moving it, and never a pipe") {
  const urm::test::TempDir dir("count-lines");
  urm::test::write_file(dir.file("in"), "a\n \t\r\n\nb\n" + std::string(50, 'x') + "\n    \nc");
  const urm::FileDescriptor fd(::open(dir.file("in").c_str(), O_RDONLY));
  CHECK(urm::count_lines(fd.get(), 1000) == 4);  // a, b, x…, c
  CHECK(urm::count_lines(fd.get(), 10) == 4);    // the long line counts: it gets an error line
  CHECK(urm::count_lines(fd.get(), 3) == 5);     // and so does a blank one over the cap
  REQUIRE(::lseek(fd.get(), 2, SEEK_SET) == 2);
  CHECK(urm::count_lines(fd.get(), 1000) == 3);
  CHECK(::lseek(fd.get(), 0, SEEK_CUR) == 2);  // not moved
  CHECK(read_all(fd.get(), 1000).size() == 6);  // still all there to read

  int p[2];
  REQUIRE(::pipe(p) == 0);
  const urm::FileDescriptor read_end(p[0]), write_end(p[1]);
  REQUIRE(::write(write_end.get(), "a\nb\n", 4) == 4);
  CHECK_FALSE(urm::count_lines(read_end.get(), 1000).has_value());
  CHECK(::close(write_end.get()) == 0);
  CHECK(read_all(read_end.get(), 1000) == std::vector<std::string>{"a", "b"});  // nothing consumed
}

TEST_CASE("LineWriter: a full disk and a reader that has gone are errors") {
  const urm::FileDescriptor full(::open("/dev/full", O_WRONLY));
  REQUIRE(full);
  urm::LineWriter to_full(full.get(), "/dev/full");
  CHECK_THROWS_WITH_AS(to_full.write_line("{}"), "/dev/full: cannot write: No space left on device", urm::Error);

  std::signal(SIGPIPE, SIG_IGN);  // as prepare_standard_streams does
  int p[2];
  REQUIRE(::pipe(p) == 0);
  const urm::FileDescriptor write_end(p[1]);
  ::close(p[0]);
  urm::LineWriter to_pipe(write_end.get(), "standard output");
  CHECK_THROWS_WITH_AS(to_pipe.write_line("{}"), "standard output: cannot write: Broken pipe", urm::Error);
}

TEST_CASE("LineWriter writes a line longer than a pipe holds, whole") {
  int p[2];
  REQUIRE(::pipe(p) == 0);
  const urm::FileDescriptor read_end(p[0]);
  urm::FileDescriptor write_end(p[1]);
  const std::string big(1'000'000, 'z');
  std::thread writer([&] {
    urm::LineWriter w(write_end.get(), "pipe");
    w.write_line(big);
    write_end.reset();
  });
  const auto lines = read_all(read_end.get(), 2'000'000);
  writer.join();
  CHECK(lines == std::vector<std::string>{big});
}

TEST_CASE("prepare_standard_streams puts /dev/null on closed standard descriptors") {
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    ::close(STDOUT_FILENO);
    ::close(STDERR_FILENO);
    const urm::StandardStreams s = urm::prepare_standard_streams();
    // A file opened now does not become "standard output".
    const int fd = ::open("/dev/null", O_RDONLY);
    const bool ok = !s.in_closed && s.out_closed && s.err_closed && fd > STDERR_FILENO &&
                    ::fcntl(STDOUT_FILENO, F_GETFD) != -1 && ::write(STDOUT_FILENO, "x", 1) == 1 &&
                    std::signal(SIGPIPE, SIG_IGN) == SIG_IGN && std::signal(SIGXFSZ, SIG_IGN) == SIG_IGN;
    ::_exit(ok ? 0 : 1);
  }
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}
