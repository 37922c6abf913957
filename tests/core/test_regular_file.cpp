// open_regular_file / read_regular_file / MappedFile::open: only regular files,
// never a hang on a FIFO, never an unbounded read of a device, a size cap
// checked before anything is read, and the cause named exactly.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>

#include "support/io_files.hpp"
#include "urm/core/mapped_file.hpp"
#include "urm/core/regular_file.hpp"

namespace fs = std::filesystem;
using urm::test::TempDir;
using urm::test::write_file;

TEST_CASE("read_regular_file reads a whole regular file, a /proc file too") {
  const TempDir dir("regular-read");
  write_file(dir.file("a.txt"), std::string("x\0y", 3));
  CHECK(urm::read_regular_file(dir.file("a.txt"), 3, "a test file") == std::string("x\0y", 3));
  write_file(dir.file("empty"), "");
  CHECK(urm::read_regular_file(dir.file("empty"), 0, "a test file").empty());
  // fstat says 0 bytes; the contents are read to their end all the same.
  CHECK(urm::read_regular_file("/proc/self/status", 1'000'000, "a test file").find("Name:") == 0);
}

TEST_CASE("open_regular_file names what a path that is not a regular file is") {
  const TempDir dir("regular-kinds");
  CHECK_THROWS_WITH_AS(urm::read_regular_file(dir.file("missing"), 100, "a test file"),
                       (dir.file("missing") + ": cannot open: No such file or directory").c_str(), urm::Error);
  CHECK_THROWS_WITH_AS(urm::read_regular_file(dir.path().string(), 100, "a test file"),
                       (dir.path().string() + ": not a regular file (a directory)").c_str(), urm::Error);
  // /dev/zero never ends: reading it would never stop.
  CHECK_THROWS_WITH_AS(urm::read_regular_file("/dev/zero", 100, "a test file"),
                       "/dev/zero: not a regular file (a character device)", urm::Error);
  fs::create_symlink("/dev/zero", dir.path() / "zero-link");
  CHECK_THROWS_WITH_AS(urm::MappedFile::open(dir.file("zero-link")),
                       (dir.file("zero-link") + ": not a regular file (a character device)").c_str(), urm::Error);
  fs::create_symlink(dir.path() / "loop", dir.path() / "loop");
  CHECK_THROWS_WITH_AS(urm::read_regular_file(dir.file("loop"), 100, "a test file"),
                       (dir.file("loop") + ": cannot open: Too many levels of symbolic links").c_str(), urm::Error);
  CHECK_THROWS_WITH_AS(urm::read_regular_file(std::string("a\0b", 3), 100, "a test file"),
                       "a\\0b: the path contains a NUL byte", urm::Error);
}

TEST_CASE("a FIFO is refused at once, not waited on") {
  // Opening a FIFO for reading blocks until a writer comes; this one has none.
  const TempDir dir("regular-fifo");
  const std::string fifo = dir.file("tokenizer.json");
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  const auto start = std::chrono::steady_clock::now();
  CHECK_THROWS_WITH_AS(urm::read_regular_file(fifo, 100, "a test file"),
                       (fifo + ": not a regular file (a FIFO or pipe)").c_str(), urm::Error);
  CHECK_THROWS_WITH_AS(urm::MappedFile::open(fifo), (fifo + ": not a regular file (a FIFO or pipe)").c_str(),
                       urm::Error);
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(5));
}

TEST_CASE("the size cap is checked before reading or mapping") {
  const TempDir dir("regular-cap");
  write_file(dir.file("big"), std::string(101, 'x'));
  CHECK(urm::read_regular_file(dir.file("big"), 101, "a test file").size() == 101);
  CHECK_THROWS_WITH_AS(urm::read_regular_file(dir.file("big"), 100, "a test file"),
                       (dir.file("big") + ": 101 bytes is larger than the cap of 100 bytes for a test file").c_str(),
                       urm::Error);
  CHECK_THROWS_WITH_AS(urm::MappedFile::open(dir.file("big"), 100, "a mapped test file"),
                       (dir.file("big") + ": 101 bytes is larger than the cap of 100 bytes for a mapped test file").c_str(),
                       urm::Error);
  // A sparse file of 1 TiB is refused from its size alone (nothing is read).
  {
    const urm::FileDescriptor fd(::open(dir.file("sparse").c_str(), O_WRONLY | O_CREAT, 0600));
    REQUIRE(::ftruncate(fd.get(), off_t{1} << 40) == 0);
  }
  CHECK_THROWS_WITH_AS(urm::read_regular_file(dir.file("sparse"), 100'000'000, "a JSON file"),
                       (dir.file("sparse") + ": 1099511627776 bytes is larger than the cap of 100000000 bytes for a "
                                             "JSON file")
                           .c_str(),
                       urm::Error);
}
