// The files of a model folder as the io layer opens them, made hostile
// (issue 10): FIFOs and devices refused at once, NUL bytes refused instead
// of cutting the file short, nesting and sizes bounded, causes named.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "support/io_files.hpp"
#include "urm/core/regular_file.hpp"
#include "urm/io/checkpoint.hpp"
#include "urm/io/llama_config.hpp"
#include "urm/io/safetensors.hpp"

namespace fs = std::filesystem;
using urm::test::kModels;
using urm::test::TempDir;
using urm::test::write_file;

namespace {

const fs::path kTinyModel = kModels / "tiny-urm-llama3";
const std::string kTinyShard1 = "model-00001-of-00002.safetensors";
const std::string kTinyShard2 = "model-00002-of-00002.safetensors";

urm::SafetensorsHeader parse_header(const std::string& bytes) {
  return urm::parse_safetensors_header(std::as_bytes(std::span(bytes.data(), bytes.size())), "t.safetensors");
}

// The tiny sharded checkpoint with its index replaced by `index`.
void sharded_with_index(const TempDir& dir, const std::string& index) {
  for (const auto& s : {kTinyShard1, kTinyShard2}) fs::create_symlink(kTinyModel / s, dir.path() / s);
  write_file(dir.file(urm::Checkpoint::kIndexFile), index);
}

}  // namespace

TEST_CASE("row 14: a NUL byte in a safetensors header is an error (the reference reader rejects it)") {
  const std::string entry = R"({"w":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}})";
  CHECK(parse_header(urm::test::safetensors_bytes(entry, "ab")).entries.size() == 1);
  // Without the check nlohmann stops at the NUL and accepts the header.
  const std::string padded = entry + std::string("\0\0\0", 3);
  CHECK_THROWS_WITH_AS(parse_header(urm::test::safetensors_bytes(padded, "ab")),
                       "t.safetensors: header is not valid JSON: a NUL byte at byte 53", urm::Error);
  const std::string deep = R"({"w":)" + std::string(200, '[') + std::string(200, ']') + "}";
  CHECK_THROWS_WITH_AS(parse_header(urm::test::safetensors_bytes(deep, "")),
                       "t.safetensors: header is not valid JSON: containers nest deeper than 128 levels", urm::Error);
  // Names in messages are quoted and cut: a 1 MB tensor name does not make a 1 MB message.
  const std::string long_name(1'000'000, 'n');
  CHECK_THROWS_WITH_AS(parse_header(urm::test::safetensors_bytes("{\"" + long_name + "\": 5}", "")),
                       ("t.safetensors: tensor \"" + std::string(64, 'n') +
                        "...\": expected an object with dtype, shape and data_offsets")
                           .c_str(),
                       urm::Error);
}

TEST_CASE("row 14: a NUL byte in config.json or the shard index is an error") {
  const TempDir dir("files-nul");
  const std::string config = urm::test::read_file((kTinyModel / "config.json").string());
  write_file(dir.file("config.json"), config + std::string("\0{\"junk\"", 8));
  CHECK_THROWS_WITH_AS(urm::LlamaConfig::load(dir.file("config.json")),
                       (dir.file("config.json") + ": not valid JSON: a NUL byte at byte " + std::to_string(config.size()))
                           .c_str(),
                       urm::Error);
  const TempDir sharded("files-nul-index");
  const std::string index = urm::test::read_file((kTinyModel / urm::Checkpoint::kIndexFile).string());
  sharded_with_index(sharded, index + std::string("\0", 1));
  CHECK_THROWS_WITH_AS(urm::Checkpoint::open(sharded.path().string()),
                       (sharded.file(urm::Checkpoint::kIndexFile) + ": not valid JSON: a NUL byte at byte " +
                        std::to_string(index.size()))
                           .c_str(),
                       urm::Error);
}

TEST_CASE("row 15: a shard name with \\u0000 in the index is refused, not cut at the NUL") {
  const TempDir dir("files-nul-shard");
  nlohmann::json index = nlohmann::json::parse(urm::test::read_file((kTinyModel / urm::Checkpoint::kIndexFile).string()));
  index["weight_map"]["model.embed_tokens.weight"] = kTinyShard1 + std::string(1, '\0') + "junk";
  sharded_with_index(dir, index.dump());
  CHECK_THROWS_WITH_AS(urm::Checkpoint::open(dir.path().string()),
                       (dir.file(urm::Checkpoint::kIndexFile) + ": weight_map[\"model.embed_tokens.weight\"]: \"" +
                        kTinyShard1 + "\\u0000junk\" is not a file name in the checkpoint folder")
                           .c_str(),
                       urm::Error);
}

TEST_CASE("row 8: a FIFO or a device as a shard, config.json or index is an error at once") {
  SUBCASE("a FIFO as the single weights file") {
    const TempDir dir("files-fifo-single");
    REQUIRE(::mkfifo(dir.file("model.safetensors").c_str(), 0600) == 0);
    CHECK_THROWS_WITH_AS(urm::Checkpoint::open(dir.path().string()),
                         (dir.file("model.safetensors") + ": not a regular file (a FIFO or pipe)").c_str(), urm::Error);
  }
  SUBCASE("a dangling link as the weights file is named, not taken for no weights") {
    const TempDir dir("files-dangling");
    fs::create_symlink(dir.path() / "nowhere", dir.path() / "model.safetensors");
    CHECK_THROWS_WITH_AS(urm::Checkpoint::open(dir.path().string()),
                         (dir.file("model.safetensors") + ": cannot open: No such file or directory").c_str(),
                         urm::Error);
  }
  SUBCASE("/dev/zero as a shard") {
    const TempDir dir("files-zero-shard");
    sharded_with_index(dir, urm::test::read_file((kTinyModel / urm::Checkpoint::kIndexFile).string()));
    fs::remove(dir.path() / kTinyShard2);
    fs::create_symlink("/dev/zero", dir.path() / kTinyShard2);
    CHECK_THROWS_WITH_AS(urm::Checkpoint::open(dir.path().string()),
                         (dir.file(kTinyShard2) + ": not a regular file (a character device)").c_str(), urm::Error);
  }
  SUBCASE("a FIFO as the index and as config.json") {
    const TempDir dir("files-fifo-index");
    REQUIRE(::mkfifo(dir.file(urm::Checkpoint::kIndexFile).c_str(), 0600) == 0);
    CHECK_THROWS_WITH_AS(urm::Checkpoint::open(dir.path().string()),
                         (dir.file(urm::Checkpoint::kIndexFile) + ": not a regular file (a FIFO or pipe)").c_str(),
                         urm::Error);
    REQUIRE(::mkfifo(dir.file("config.json").c_str(), 0600) == 0);
    CHECK_THROWS_WITH_AS(urm::LlamaConfig::load(dir.file("config.json")),
                         (dir.file("config.json") + ": not a regular file (a FIFO or pipe)").c_str(), urm::Error);
  }
}

TEST_CASE("a config.json nested deeper than 128 levels, or larger than its cap, is an error") {
  const TempDir dir("files-config-bounds");
  write_file(dir.file("config.json"),
             R"({"model_type": "llama", "x": )" + std::string(100000, '[') + std::string(100000, ']') + "}");
  CHECK_THROWS_WITH_AS(urm::LlamaConfig::load(dir.file("config.json")),
                       (dir.file("config.json") + ": not valid JSON: containers nest deeper than 128 levels").c_str(),
                       urm::Error);
  {
    const urm::FileDescriptor fd(::open(dir.file("big.json").c_str(), O_WRONLY | O_CREAT, 0600));
    REQUIRE(::ftruncate(fd.get(), 100'000'001) == 0);
  }
  CHECK_THROWS_WITH_AS(
      urm::LlamaConfig::load(dir.file("big.json")),
      (dir.file("big.json") + ": 100000001 bytes is larger than the cap of 100000000 bytes for a JSON file").c_str(),
      urm::Error);
}
