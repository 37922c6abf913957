#include <doctest/doctest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "support/io_files.hpp"
#include "urm/io/checkpoint.hpp"

using urm::test::kModels;
namespace fs = std::filesystem;

namespace {

const fs::path kTiny = kModels / "tiny-urm-llama3";
const std::string kShard1 = "model-00001-of-00002.safetensors";
const std::string kShard2 = "model-00002-of-00002.safetensors";

nlohmann::json tiny_index() {
  return nlohmann::json::parse(urm::test::read_file((kTiny / urm::Checkpoint::kIndexFile).string()));
}

// A copy of the tiny sharded checkpoint (shards linked, not copied) whose
// index is `index`; shards listed in `drop` are left out.
void make_sharded(const urm::test::TempDir& dir, const std::string& index, const std::vector<std::string>& drop = {}) {
  for (const auto& s : {kShard1, kShard2})
    if (std::find(drop.begin(), drop.end(), s) == drop.end()) fs::create_symlink(kTiny / s, dir.path() / s);
  urm::test::write_file(dir.file(urm::Checkpoint::kIndexFile), index);
}

}  // namespace

TEST_CASE("the sharded fixture: every indexed tensor, from the shard the index names") {
  const auto ckpt = urm::Checkpoint::open(kTiny.string());
  CHECK(ckpt.dir() == kTiny.string());
  const auto names = ckpt.names();
  CHECK(names.size() == 21);  // embed + 2 layers × 9 + norm + score
  CHECK(std::is_sorted(names.begin(), names.end()));
  CHECK(ckpt.shard_names() == std::vector<std::string>{kShard1, kShard2});
  const auto index = tiny_index()["weight_map"];
  CHECK(names.size() == index.size());
  const auto s1 = urm::SafetensorsFile::open((kTiny / kShard1).string());
  const auto s2 = urm::SafetensorsFile::open((kTiny / kShard2).string());
  for (const auto& n : names) {
    CAPTURE(n);
    CHECK(ckpt.has(n));
    CHECK(ckpt.shard_of(n) == index.at(n).get<std::string>());
    const auto* direct = (ckpt.shard_of(n) == kShard1 ? s1 : s2).find(n);
    REQUIRE(direct != nullptr);
    const auto& t = ckpt.tensor(n);
    CHECK(t.name == n);
    CHECK(t.shape == direct->shape);
    CHECK(t.nbytes == direct->nbytes);
    CHECK(std::equal(t.data, t.data + t.nbytes, direct->data));
  }
  CHECK(ckpt.tensor("model.embed_tokens.weight").shape == std::vector<std::int64_t>{128257, 32});
  CHECK_FALSE(ckpt.has("lm_head.weight"));
  CHECK_FALSE(ckpt.has("model.embed_tokens"));
  CHECK_THROWS_WITH_AS(ckpt.tensor("lm_head.weight"),
                       (kTiny.string() + ": no tensor \"lm_head.weight\" in the checkpoint").c_str(), urm::Error);
  CHECK_THROWS_WITH_AS(ckpt.shard_of("x"), (kTiny.string() + ": no tensor \"x\" in the checkpoint").c_str(),
                       urm::Error);
}

TEST_CASE("a single-file checkpoint exposes every tensor of model.safetensors") {
  const fs::path dir = kModels / "small-gqa-bf16";
  const auto ckpt = urm::Checkpoint::open(dir.string());
  CHECK(ckpt.names().size() == 30);  // embed + 3 layers × 9 + norm + score
  CHECK(ckpt.shard_names() == std::vector<std::string>{"model.safetensors"});
  CHECK(ckpt.shard_of("score.weight") == "model.safetensors");
  CHECK(ckpt.tensor("score.weight").dtype == urm::DType::BF16);
  // The checkpoint is movable and its views survive the move.
  const std::byte* data = ckpt.tensor("model.norm.weight").data;
  auto moved = std::move(const_cast<urm::Checkpoint&>(ckpt));
  CHECK(moved.tensor("model.norm.weight").data == data);
}

TEST_CASE("with both model.safetensors and an index, the single file is used (as in transformers)") {
  const urm::test::TempDir dir("both-layouts");
  make_sharded(dir, tiny_index().dump());
  urm::test::write_file(dir.file("model.safetensors"), urm::test::build_safetensors({{"only", "U8", {3}}}));
  const auto ckpt = urm::Checkpoint::open(dir.path().string());
  CHECK(ckpt.names() == std::vector<std::string>{"only"});
  CHECK(ckpt.shard_of("only") == "model.safetensors");
}

TEST_CASE("the index is authoritative: shard tensors it does not name are not exposed") {
  const urm::test::TempDir dir("index-subset");
  auto index = tiny_index();
  index["weight_map"].erase("score.weight");
  make_sharded(dir, index.dump());
  const auto ckpt = urm::Checkpoint::open(dir.path().string());
  CHECK(ckpt.names().size() == 20);
  CHECK_FALSE(ckpt.has("score.weight"));
}

TEST_CASE("broken checkpoint folders are rejected with exact messages") {
  SUBCASE("not a folder") {
    const std::string p = (kTiny / "config.json").string();
    CHECK_THROWS_WITH_AS(urm::Checkpoint::open(p), (p + ": not a checkpoint folder (not a directory)").c_str(),
                         urm::Error);
  }
  SUBCASE("no weights") {
    const urm::test::TempDir dir("no-weights");
    CHECK_THROWS_WITH_AS(
        urm::Checkpoint::open(dir.path().string()),
        (dir.path().string() + ": no model.safetensors or model.safetensors.index.json in the folder").c_str(),
        urm::Error);
  }
  SUBCASE("missing shard") {
    const urm::test::TempDir dir("missing-shard");
    make_sharded(dir, tiny_index().dump(), {kShard1});
    CHECK_THROWS_WITH_AS(
        urm::Checkpoint::open(dir.path().string()),
        (dir.file(urm::Checkpoint::kIndexFile) + ": weight_map[\"model.embed_tokens.weight\"]: shard file " +
         dir.file(kShard1) + " does not exist")
            .c_str(),
        urm::Error);
  }
  SUBCASE("index naming a tensor that is not in its shard") {
    const urm::test::TempDir dir("index-extra");
    auto index = tiny_index();
    index["weight_map"]["model.layers.2.input_layernorm.weight"] = kShard2;
    make_sharded(dir, index.dump());
    CHECK_THROWS_WITH_AS(urm::Checkpoint::open(dir.path().string()),
                         (dir.file(urm::Checkpoint::kIndexFile) +
                          ": weight_map[\"model.layers.2.input_layernorm.weight\"]: tensor is not in shard " + kShard2)
                             .c_str(),
                         urm::Error);
  }
  SUBCASE("index naming a shard outside the folder") {
    const urm::test::TempDir dir("index-escape");
    auto index = tiny_index();
    index["weight_map"]["score.weight"] = "../" + kShard2;
    make_sharded(dir, index.dump());
    CHECK_THROWS_WITH_AS(urm::Checkpoint::open(dir.path().string()),
                         (dir.file(urm::Checkpoint::kIndexFile) + ": weight_map[\"score.weight\"]: \"../" + kShard2 +
                          "\" is not a file name in the checkpoint folder")
                             .c_str(),
                         urm::Error);
  }
  SUBCASE("index value not a string") {
    const urm::test::TempDir dir("index-number");
    auto index = tiny_index();
    index["weight_map"]["score.weight"] = 2;
    make_sharded(dir, index.dump());
    CHECK_THROWS_WITH_AS(
        urm::Checkpoint::open(dir.path().string()),
        (dir.file(urm::Checkpoint::kIndexFile) + ": weight_map[\"score.weight\"]: expected a shard file name").c_str(),
        urm::Error);
  }
  SUBCASE("index without weight_map") {
    const urm::test::TempDir dir("index-no-map");
    make_sharded(dir, R"({"metadata": {}})");
    CHECK_THROWS_WITH_AS(
        urm::Checkpoint::open(dir.path().string()),
        (dir.file(urm::Checkpoint::kIndexFile) + ": weight_map: expected an object mapping tensor names to shard files")
            .c_str(),
        urm::Error);
  }
  SUBCASE("index not an object") {
    const urm::test::TempDir dir("index-array");
    make_sharded(dir, "[]");
    CHECK_THROWS_WITH_AS(urm::Checkpoint::open(dir.path().string()),
                         (dir.file(urm::Checkpoint::kIndexFile) + ": expected a JSON object").c_str(), urm::Error);
  }
  SUBCASE("index not JSON") {
    const urm::test::TempDir dir("index-invalid");
    make_sharded(dir, "{\"weight_map\": ");
    CHECK_THROWS_WITH_AS(urm::Checkpoint::open(dir.path().string()),
                         (dir.file(urm::Checkpoint::kIndexFile) +
                          ": not valid JSON: [json.exception.parse_error.101] parse error at line 1, column 16: syntax "
                          "error while parsing value - unexpected end of input; expected '[', '{', or a literal")
                             .c_str(),
                         urm::Error);
  }
  SUBCASE("a corrupted shard") {
    const urm::test::TempDir dir("bad-shard");
    fs::create_symlink(kTiny / kShard1, dir.path() / kShard1);
    // The second shard cut in the middle of its data area.
    urm::test::write_file(dir.file(kShard2), urm::test::read_file((kTiny / kShard2).string()).substr(0, 3000));
    urm::test::write_file(dir.file(urm::Checkpoint::kIndexFile), tiny_index().dump());
    CHECK_THROWS_WITH_AS(
        urm::Checkpoint::open(dir.path().string()),
        (dir.file(kShard2) + ": tensor \"model.layers.0.mlp.down_proj.weight\": data_offsets [64, 5184] run past the "
                             "end of the data area (1000 bytes)")
            .c_str(),
        urm::Error);
  }
}
