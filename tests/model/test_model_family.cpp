#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "support/io_files.hpp"
#include "urm/model/model_family.hpp"

using urm::test::kModels;
using urm::test::TensorSpec;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

json fixture_config(const std::string& model) {
  return json::parse(urm::test::read_file((kModels / model / "config.json").string()));
}

// A one-layer model small enough to write by hand: hidden 8, 2 heads of 4,
// 1 kv head, ffn 12, vocab 16. Shapes are spelled out here, independently
// of the library's table.
json synthetic_config(int num_labels) {
  return json{{"model_type", "llama"},    {"hidden_size", 8},         {"num_hidden_layers", 1},
              {"num_attention_heads", 2}, {"num_key_value_heads", 1}, {"intermediate_size", 12},
              {"vocab_size", 16},         {"num_labels", num_labels}};
}

std::vector<TensorSpec> synthetic_tensors(std::int64_t labels, const std::string& score_dtype = "F32") {
  return {{"model.embed_tokens.weight", "F32", {16, 8}},
          {"model.layers.0.input_layernorm.weight", "F32", {8}},
          {"model.layers.0.self_attn.q_proj.weight", "BF16", {8, 8}},
          {"model.layers.0.self_attn.k_proj.weight", "BF16", {4, 8}},
          {"model.layers.0.self_attn.v_proj.weight", "BF16", {4, 8}},
          {"model.layers.0.self_attn.o_proj.weight", "BF16", {8, 8}},
          {"model.layers.0.post_attention_layernorm.weight", "F32", {8}},
          {"model.layers.0.mlp.gate_proj.weight", "F16", {12, 8}},
          {"model.layers.0.mlp.up_proj.weight", "F16", {12, 8}},
          {"model.layers.0.mlp.down_proj.weight", "F16", {8, 12}},
          {"model.norm.weight", "F32", {8}},
          {"score.weight", score_dtype, {labels, 8}}};
}

std::vector<TensorSpec> with_gate(std::vector<TensorSpec> t, std::vector<TensorSpec> gate) {
  t.insert(t.end(), gate.begin(), gate.end());
  return t;
}

const std::vector<TensorSpec> kGoodGate = {{"weights.fc.0.weight", "F16", {6, 8}}, {"weights.fc.0.bias", "F16", {6}},
                                           {"weights.fc.2.weight", "F16", {7, 6}}, {"weights.fc.2.bias", "F16", {7}},
                                           {"weights.fc.4.weight", "F16", {5, 7}}, {"weights.fc.4.bias", "F16", {5}}};

urm::Checkpoint write_checkpoint(const urm::test::TempDir& dir, const std::vector<TensorSpec>& tensors) {
  urm::test::write_file(dir.file("model.safetensors"), urm::test::build_safetensors(tensors));
  return urm::Checkpoint::open(dir.path().string());
}

}  // namespace

TEST_CASE("the fixture checkpoints validate against their configs, with the documented value heads") {
  const std::vector<std::pair<std::string, urm::ValueHeadKind>> fixtures = {
      {"tiny-urm-llama3", urm::ValueHeadKind::UrmPrior},
      {"small-gqa-bf16", urm::ValueHeadKind::UrmPrior},
      {"small-urm31-gated", urm::ValueHeadKind::UrmGated}};
  for (const auto& [name, kind] : fixtures) {
    CAPTURE(name);
    const auto dir = (kModels / name).string();
    const auto ckpt = urm::Checkpoint::open(dir);
    const auto cfg = urm::LlamaConfig::load(dir + "/config.json");
    CHECK(urm::detect_family(ckpt, cfg).head == kind);
    CHECK_NOTHROW(urm::validate_checkpoint(ckpt, cfg));
    // Every tensor the checkpoint holds is one the model uses.
    const auto expected = urm::model_tensors(cfg, urm::detect_family(ckpt, cfg));
    CHECK(expected.size() == ckpt.names().size());
  }
  CHECK(urm::to_string(urm::ValueHeadKind::UrmPrior) == "urm-prior");
  CHECK(urm::to_string(urm::ValueHeadKind::UrmGated) == "urm-gated");
  CHECK(urm::to_string(urm::ValueHeadKind::Scalar) == "scalar");
}

TEST_CASE("a config that disagrees with the fixture: the first mismatch is named with both shapes") {
  const auto dir = (kModels / "small-gqa-bf16").string();
  const auto ckpt = urm::Checkpoint::open(dir);
  struct Case {
    const char* key;
    json value;
    std::string message;  // after "<dir>: "
  };
  const std::vector<Case> cases = {
      {"vocab_size", 1000, "tensor \"model.embed_tokens.weight\" has shape [1024, 256], expected [1000, 256]"},
      {"num_key_value_heads", 2,
       "tensor \"model.layers.0.self_attn.k_proj.weight\" has shape [64, 256], expected [128, 256]"},
      {"head_dim", 32, "tensor \"model.layers.0.self_attn.q_proj.weight\" has shape [256, 256], expected [128, 256]"},
      {"intermediate_size", 700,
       "tensor \"model.layers.0.mlp.gate_proj.weight\" has shape [704, 256], expected [700, 256]"},
      {"num_hidden_layers", 4,
       "config.json has num_hidden_layers = 4, but the checkpoint has 3 (model.layers.0 to model.layers.2)"},
      {"num_labels", 1, "tensor \"score.weight\" has shape [10, 256], expected [1, 256]"},
      {"num_labels", 3,
       "num_labels = 3 is not a supported value head (expected 10 for a URM head or 1 for a scalar score head)"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.key);
    auto j = fixture_config("small-gqa-bf16");
    j[c.key] = c.value;
    const auto cfg = urm::LlamaConfig::from_json(j, "config.json");
    CHECK_THROWS_WITH_AS(urm::validate_checkpoint(ckpt, cfg), (dir + ": " + c.message).c_str(), urm::Error);
  }
  auto j = fixture_config("small-gqa-bf16");
  j["num_labels"] = 1;
  CHECK(urm::detect_family(ckpt, urm::LlamaConfig::from_json(j, "config.json")).head == urm::ValueHeadKind::Scalar);
}

TEST_CASE("the gated fixture with num_labels other than 10 is rejected") {
  const auto dir = (kModels / "small-urm31-gated").string();
  const auto ckpt = urm::Checkpoint::open(dir);
  auto j = fixture_config("small-urm31-gated");
  j["num_labels"] = 1;
  CHECK_THROWS_WITH_AS(urm::detect_family(ckpt, urm::LlamaConfig::from_json(j, "config.json")),
                       (dir + ": weights.fc.0.weight (a URM-3.1 gate) needs num_labels = 10, but config has 1").c_str(),
                       urm::Error);
}

TEST_CASE("synthetic checkpoints: scalar head, extra tensors, gate shapes, dtypes") {
  const urm::test::TempDir dir("synthetic");
  const std::string d = dir.path().string();
  const auto scalar = urm::LlamaConfig::from_json(synthetic_config(1), "config.json");
  const auto urm10 = urm::LlamaConfig::from_json(synthetic_config(10), "config.json");

  SUBCASE("scalar score head, with an lm_head that is simply not needed") {
    auto t = synthetic_tensors(1);
    t.push_back({"lm_head.weight", "F32", {16, 8}});
    const auto ckpt = write_checkpoint(dir, t);
    CHECK(urm::detect_family(ckpt, scalar).head == urm::ValueHeadKind::Scalar);
    CHECK_NOTHROW(urm::validate_checkpoint(ckpt, scalar));
  }
  SUBCASE("a gate with its own hidden widths") {
    const auto ckpt = write_checkpoint(dir, with_gate(synthetic_tensors(10), kGoodGate));
    CHECK(urm::detect_family(ckpt, urm10).head == urm::ValueHeadKind::UrmGated);
    CHECK_NOTHROW(urm::validate_checkpoint(ckpt, urm10));
    const auto tensors = urm::model_tensors(urm10, urm::detect_family(ckpt, urm10));
    CHECK(urm::find_tensor(tensors, urm::TensorRole::GateWeight, 1)->shape == std::vector<std::int64_t>{7, 6});
  }
  SUBCASE("gate layers that do not chain") {
    auto gate = kGoodGate;
    gate[2].shape = {7, 5};
    const auto ckpt = write_checkpoint(dir, with_gate(synthetic_tensors(10), gate));
    CHECK_THROWS_WITH_AS(urm::validate_checkpoint(ckpt, urm10),
                         (d + ": tensor \"weights.fc.2.weight\" has shape [7, 5], expected [n, 6]").c_str(),
                         urm::Error);
  }
  SUBCASE("gate output not the five attributes") {
    auto gate = kGoodGate;
    gate[4].shape = {4, 7};
    const auto ckpt = write_checkpoint(dir, with_gate(synthetic_tensors(10), gate));
    CHECK_THROWS_WITH_AS(urm::validate_checkpoint(ckpt, urm10),
                         (d + ": tensor \"weights.fc.4.weight\" has shape [4, 7], expected [5, 7]").c_str(),
                         urm::Error);
  }
  SUBCASE("gate input not a matrix over the hidden state") {
    auto gate = kGoodGate;
    gate[0].shape = {48};
    const auto ckpt = write_checkpoint(dir, with_gate(synthetic_tensors(10), gate));
    CHECK_THROWS_WITH_AS(urm::validate_checkpoint(ckpt, urm10),
                         (d + ": tensor \"weights.fc.0.weight\" has shape [48], expected [n, 8]").c_str(), urm::Error);
  }
  SUBCASE("gate missing a bias") {
    auto gate = kGoodGate;
    gate.erase(gate.begin() + 3);
    const auto ckpt = write_checkpoint(dir, with_gate(synthetic_tensors(10), gate));
    CHECK_THROWS_WITH_AS(urm::validate_checkpoint(ckpt, urm10),
                         (d + ": missing tensor \"weights.fc.2.bias\" (expected shape [7])").c_str(), urm::Error);
  }
  SUBCASE("an integer tensor where the model needs floats") {
    const auto ckpt = write_checkpoint(dir, synthetic_tensors(1, "I8"));
    CHECK_THROWS_WITH_AS(urm::validate_checkpoint(ckpt, scalar),
                         (d + ": tensor \"score.weight\" has dtype I8, expected F32, F16 or BF16").c_str(), urm::Error);
  }
  SUBCASE("the synthetic views hold the written byte pattern") {
    const auto ckpt = write_checkpoint(dir, synthetic_tensors(1, "U8"));
    // score.weight is last: it starts after all other tensors' bytes.
    std::size_t before = 0;
    for (const auto& n : ckpt.names())
      if (n != "score.weight") before += ckpt.tensor(n).nbytes;
    const auto& s = ckpt.tensor("score.weight");
    for (std::size_t k = 0; k < s.nbytes; ++k) CHECK(s.get_f32(k) == static_cast<float>((before + k) % 251));
  }
}

namespace {

// A folder holding a zoo checkpoint's weights (linked) and its config.json
// with `edit` applied.
template <class Edit>
urm::LlamaConfig zoo_copy(const urm::test::TempDir& dir, const std::string& family, Edit&& edit) {
  const fs::path src = fs::path(URM_TEST_DATA_DIR) / "zoo" / "models" / family;
  fs::create_symlink(src / "model.safetensors", dir.path() / "model.safetensors");
  json cfg = json::parse(urm::test::read_file((src / "config.json").string()));
  edit(cfg);
  urm::test::write_file(dir.file("config.json"), cfg.dump());
  return urm::LlamaConfig::from_json(cfg, dir.file("config.json"));
}

std::string validate_error(const urm::test::TempDir& dir, const urm::LlamaConfig& cfg) {
  try {
    urm::validate_checkpoint(urm::Checkpoint::open(dir.path().string()), cfg);
  } catch (const urm::Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("families: architectures and tensors decide the family; unknown or mixed ones are exact errors") {
  const urm::test::TempDir dir("family-errors");
  const std::string d = dir.path().string();
  SUBCASE("an unknown architecture with a known model_type lists what is supported") {
    const auto cfg = zoo_copy(dir, "skywork-llama31-scalar", [](json& j) {
      j["architectures"] = {"MistralForSequenceClassification"};
    });
    CHECK(validate_error(dir, cfg) ==
          d + ": config.json architectures [\"MistralForSequenceClassification\"] is not a reward model urm.cpp runs "
              "(model_type \"llama\"); supported: LlamaForSequenceClassificationWithNormal_Weights (llama), "
              "LlamaForSequenceClassification (llama), Qwen3ForSequenceClassification (qwen3), "
              "LlamaForRewardModelWithGating (llama), INFORMForSequenceClassification (llama)");
  }
  SUBCASE("an architecture of another model_type") {
    const auto cfg = zoo_copy(dir, "skywork-llama31-scalar", [](json& j) {
      j["architectures"] = {"Qwen3ForSequenceClassification"};
    });
    CHECK(validate_error(dir, cfg) == d + ": config.json names architecture Qwen3ForSequenceClassification, a qwen3 "
                                          "model, but its model_type is \"llama\"");
  }
  SUBCASE("Qwen3 weights under a Llama config: q_norm is no Llama tensor") {
    const auto cfg = zoo_copy(dir, "qwen3-rm", [](json& j) {
      j["model_type"] = "llama";
      j["architectures"] = {"LlamaForSequenceClassification"};
    });
    CHECK(validate_error(dir, cfg) ==
          d + ": tensor \"model.layers.0.self_attn.k_norm.weight\" is not part of a LlamaForSequenceClassification "
              "(llama backbone, scalar head) checkpoint (a checkpoint that mixes families is not supported)");
  }
  SUBCASE("ArmoRM weights under a scalar architecture") {
    const auto cfg = zoo_copy(dir, "armorm-llama3", [](json& j) {
      j["architectures"] = {"LlamaForSequenceClassification"};
    });
    CHECK(validate_error(dir, cfg) ==
          d + ": tensor \"regression_layer.weight\" makes the value head \"armorm\", but "
              "LlamaForSequenceClassification carries a \"scalar\" head (a checkpoint that mixes families is not "
              "supported)");
  }
  SUBCASE("ArmoRM weights under a config without architectures") {
    const auto cfg = zoo_copy(dir, "armorm-llama3", [](json& j) { j.erase("architectures"); });
    CHECK(validate_error(dir, cfg) ==
          d + ": tensor \"regression_layer.weight\" makes the value head \"armorm\", but a llama config without "
              "architectures carries a \"urm-prior\" or \"urm-gated\" or \"scalar\" head (a checkpoint that mixes "
              "families is not supported)");
  }
  SUBCASE("a head tensor of the wrong shape is named with both shapes") {
    const auto cfg = zoo_copy(dir, "armorm-llama3", [](json& j) { j["gating_hidden_dim"] = 40; });
    CHECK(validate_error(dir, cfg) ==
          d + ": tensor \"gating.layers.0.weight\" has shape [48, 32], expected [40, 32]");
  }
  SUBCASE("ArmoRM's objectives") {
    const auto cfg = zoo_copy(dir, "armorm-llama3", [](json& j) { j["num_objectives"] = 5; });
    CHECK(validate_error(dir, cfg) == d + ": tensor \"regression_layer.weight\" has shape [19, 32], expected [5, 32]");
  }
  SUBCASE("ArmoRM's gating layers are counted before any is named") {
    const auto cfg = zoo_copy(dir, "armorm-llama3", [](json& j) { j["gating_n_hidden"] = 1000000000; });
    CHECK(validate_error(dir, cfg) == d + ": config.json has gating_n_hidden + 1 = 1000000001, but the checkpoint "
                                          "has 4 (gating.layers.0 to gating.layers.3)");
  }
  SUBCASE("Qwen3's head_dim decides q_norm's shape") {
    const auto cfg = zoo_copy(dir, "qwen3-rm", [](json& j) {
      j["head_dim"] = 8;
      j["num_attention_heads"] = 8;
      j["num_key_value_heads"] = 4;
    });
    CHECK(validate_error(dir, cfg) == d + ": tensor \"model.layers.0.self_attn.q_norm.weight\" has shape [16], "
                                          "expected [8]");
  }
  SUBCASE("INF-ORM scores with one label") {
    const auto cfg = zoo_copy(dir, "inform-mlp-llama31", [](json& j) { j["num_labels"] = 2; });
    CHECK(validate_error(dir, cfg) ==
          d + ": num_labels = 2 is not supported for an INF-ORM head (expected 1: it scores with one logit)");
  }
  SUBCASE("a Qwen3 config without architectures is Qwen3ForSequenceClassification's family") {
    const auto cfg = zoo_copy(dir, "qwen3-rm", [](json& j) { j.erase("architectures"); });
    const auto f = urm::validate_checkpoint(urm::Checkpoint::open(d), cfg);
    CHECK(f.head == urm::ValueHeadKind::Scalar);
    CHECK(f.backbone() == urm::Backbone::Qwen3);
    CHECK(f.architecture.name.empty());
    CHECK(urm::describe(f) == "qwen3 backbone, scalar head");
  }
}

TEST_CASE("families: a config's layer count is checked against the checkpoint before anything is built for it") {
  const urm::test::TempDir dir("family-layers");
  for (const std::int64_t layers : {1000000000ll, 3ll, 1ll}) {
    CAPTURE(layers);
    std::error_code ec;
    fs::remove(dir.path() / "model.safetensors", ec);
    const auto cfg = zoo_copy(dir, "qwen3-rm", [&](json& j) { j["num_hidden_layers"] = layers; });
    const auto start = std::chrono::steady_clock::now();
    CHECK(validate_error(dir, cfg) == dir.path().string() + ": config.json has num_hidden_layers = " +
                                          std::to_string(layers) +
                                          ", but the checkpoint has 2 (model.layers.0 to model.layers.1)");
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(1));
  }
}

TEST_CASE("families: the description names every tensor once, and each head's traits") {
  for (const urm::Architecture& a : urm::kArchitectures) {
    CAPTURE(a.name);
    for (const urm::HeadTraits& h : urm::kHeads) {
      if (!a.heads[static_cast<std::size_t>(h.kind)]) continue;
      CHECK(urm::architecture_for(a.backbone, h.kind) != nullptr);
    }
  }
  CHECK(urm::architecture_for(urm::Backbone::Qwen3, urm::ValueHeadKind::ArmoRM) == nullptr);
  CHECK(urm::head_traits(urm::ValueHeadKind::UrmPrior).bos == urm::BosPolicy::CardPipeline);
  CHECK(urm::head_traits(urm::ValueHeadKind::Scalar).bos == urm::BosPolicy::StripTemplateBos);
  CHECK(urm::head_traits(urm::ValueHeadKind::ArmoRM).bos == urm::BosPolicy::Single);
  CHECK(urm::head_traits(urm::ValueHeadKind::InformMlp).bos == urm::BosPolicy::Single);
  CHECK(urm::head_traits(urm::ValueHeadKind::Scalar).pooling == urm::Pooling::LastNonPad);
  CHECK(urm::head_traits(urm::ValueHeadKind::ArmoRM).pooling == urm::Pooling::BeforeFirstPad);
  CHECK(urm::head_traits(urm::ValueHeadKind::UrmGated).pooling == urm::Pooling::Last);
  // Names are unique within a model's description.
  const auto cfg = urm::LlamaConfig::load(std::string(URM_TEST_DATA_DIR) + "/zoo/models/armorm-llama3/config.json");
  const auto tensors = urm::model_tensors(cfg, {urm::kArchitectures[3], urm::ValueHeadKind::ArmoRM, {}});
  std::vector<std::string> names;
  for (const auto& t : tensors) names.push_back(t.name);
  std::sort(names.begin(), names.end());
  CHECK(std::adjacent_find(names.begin(), names.end()) == names.end());
  CHECK(names.size() == 2 + 2 * 9 + 1 + 4 * 2 + 2);
}

TEST_CASE("pooling rules: last token, last non-pad (transformers 5.x), token before the first pad (older code)") {
  using urm::Pooling;
  using urm::pooled_position;
  const std::vector<std::int32_t> ids = {5, 9, 7, 9, 9}, all_pad = {9, 9}, lead_pad = {9, 1, 2};
  CHECK(pooled_position(Pooling::Last, ids, 9) == 4);
  CHECK(pooled_position(Pooling::LastNonPad, ids, 9) == 2);
  CHECK(pooled_position(Pooling::LastNonPad, ids, std::nullopt) == 4);
  CHECK(pooled_position(Pooling::LastNonPad, all_pad, 9) == 0);
  CHECK(pooled_position(Pooling::LastNonPad, ids, 3) == 4);
  CHECK(pooled_position(Pooling::BeforeFirstPad, ids, 9) == 0);          // first pad at 1
  CHECK(pooled_position(Pooling::BeforeFirstPad, lead_pad, 9) == 2);     // (0 − 1) mod 3
  CHECK(pooled_position(Pooling::BeforeFirstPad, ids, 3) == 4);          // no pad: (0 − 1) mod 5
  CHECK(pooled_position(Pooling::BeforeFirstPad, ids, std::nullopt) == 4);
}
