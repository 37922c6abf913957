#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "support/io_files.hpp"
#include "urm/io/llama_config.hpp"

using urm::test::kModels;
using nlohmann::json;

namespace {

// A minimal valid config; tests change one thing at a time.
json minimal() {
  return json{{"model_type", "llama"},    {"hidden_size", 64},        {"num_hidden_layers", 2},
              {"num_attention_heads", 4}, {"intermediate_size", 128}, {"vocab_size", 100}};
}

urm::LlamaConfig parse(const json& j) { return urm::LlamaConfig::from_json(j, "config.json"); }

}  // namespace

TEST_CASE("the three fixture configs") {
  SUBCASE("tiny-urm-llama3 (float16, Llama-3 vocabulary + [PAD], default RoPE)") {
    const auto c = urm::LlamaConfig::load((kModels / "tiny-urm-llama3" / "config.json").string());
    CHECK(c.hidden_size == 32);
    CHECK(c.num_hidden_layers == 2);
    CHECK(c.num_attention_heads == 4);
    CHECK(c.num_key_value_heads == 2);
    CHECK(c.head_dim == 8);
    CHECK(c.intermediate_size == 80);
    CHECK(c.vocab_size == 128257);
    CHECK(c.max_position_embeddings == 8192);
    CHECK(c.num_labels == 10);
    CHECK(c.rms_norm_eps == 1e-5);
    CHECK(c.torch_dtype == "float16");
    CHECK_FALSE(c.tie_word_embeddings);
    CHECK(c.pad_token_id == 128256);
    CHECK(c.bos_token_id == 128000);
    CHECK(c.eos_token_ids == std::vector<std::int64_t>{128001});
    CHECK(c.rope.type == "default");
    CHECK(c.rope.theta == 500000.0);
  }
  SUBCASE("small-gqa-bf16 (no pad token)") {
    const auto c = urm::LlamaConfig::load((kModels / "small-gqa-bf16" / "config.json").string());
    CHECK(c.hidden_size == 256);
    CHECK(c.num_hidden_layers == 3);
    CHECK(c.num_key_value_heads == 1);
    CHECK(c.head_dim == 64);
    CHECK(c.intermediate_size == 704);
    CHECK(c.torch_dtype == "bfloat16");
    CHECK_FALSE(c.pad_token_id.has_value());
    CHECK(c.bos_token_id == 0);
    CHECK(c.eos_token_ids == std::vector<std::int64_t>{1});
    CHECK(c.rope.type == "default");
  }
  SUBCASE("small-urm31-gated (llama3 RoPE scaling in the 4.x style)") {
    const auto c = urm::LlamaConfig::load((kModels / "small-urm31-gated" / "config.json").string());
    CHECK(c.head_dim == 128);
    CHECK(c.max_position_embeddings == 131072);
    CHECK(c.rope.type == "llama3");
    CHECK(c.rope.theta == 500000.0);
    CHECK(c.rope.factor == 8.0);
    CHECK(c.rope.low_freq_factor == 1.0);
    CHECK(c.rope.high_freq_factor == 4.0);
    CHECK(c.rope.original_max_position_embeddings == 8192);
  }
}

TEST_CASE("defaults and derived values follow transformers") {
  const auto c = parse(minimal());
  CHECK(c.num_key_value_heads == 4);  // = num_attention_heads
  CHECK(c.head_dim == 16);            // = hidden_size / num_attention_heads
  CHECK(c.max_position_embeddings == 2048);
  CHECK(c.rms_norm_eps == 1e-6);
  CHECK(c.num_labels == 2);
  CHECK(c.torch_dtype == "float32");
  CHECK_FALSE(c.tie_word_embeddings);
  CHECK_FALSE(c.pad_token_id.has_value());
  CHECK_FALSE(c.bos_token_id.has_value());
  CHECK(c.eos_token_ids.empty());
  CHECK(c.rope.type == "default");
  CHECK(c.rope.theta == 10000.0);

  auto j = minimal();
  j["head_dim"] = 32;                                    // explicit head_dim need not be hidden / heads
  j["id2label"] = {{"0", "a"}, {"1", "b"}, {"2", "c"}};  // num_labels from id2label
  j["eos_token_id"] = {7, 8, 9};                         // Llama-3.1 style list
  j["dtype"] = "bfloat16";                               // 5.x name of torch_dtype
  j["tie_word_embeddings"] = true;
  j["pad_token_id"] = nullptr;
  const auto d = parse(j);
  CHECK(d.head_dim == 32);
  CHECK(d.num_labels == 3);
  CHECK(d.eos_token_ids == std::vector<std::int64_t>{7, 8, 9});
  CHECK(d.torch_dtype == "bfloat16");
  CHECK(d.tie_word_embeddings);
  CHECK_FALSE(d.pad_token_id.has_value());
  j["num_labels"] = 1;  // explicit num_labels wins over id2label
  CHECK(parse(j).num_labels == 1);
}

TEST_CASE("RoPE in the transformers 4.x and 5.x styles") {
  const json llama3 = {
      {"factor", 8.0}, {"low_freq_factor", 1.0}, {"high_freq_factor", 4.0}, {"original_max_position_embeddings", 8192}};
  SUBCASE("4.x: rope_theta + rope_scaling with rope_type") {
    auto j = minimal();
    j["rope_theta"] = 500000.0;
    j["rope_scaling"] = llama3;
    j["rope_scaling"]["rope_type"] = "llama3";
    const auto c = parse(j);
    CHECK(c.rope.type == "llama3");
    CHECK(c.rope.theta == 500000.0);
    CHECK(c.rope.factor == 8.0);
  }
  SUBCASE("4.x: the older key \"type\"") {
    auto j = minimal();
    j["rope_scaling"] = llama3;
    j["rope_scaling"]["type"] = "llama3";
    const auto c = parse(j);
    CHECK(c.rope.type == "llama3");
    CHECK(c.rope.theta == 10000.0);
  }
  SUBCASE("4.x: rope_theta only inside rope_scaling") {
    auto j = minimal();
    j["rope_scaling"] = {{"rope_type", "default"}, {"rope_theta", 250000.0}};
    CHECK(parse(j).rope.theta == 250000.0);
  }
  SUBCASE("5.x: rope_parameters") {
    auto j = minimal();
    j["rope_parameters"] = llama3;
    j["rope_parameters"]["rope_type"] = "llama3";
    j["rope_parameters"]["rope_theta"] = 500000.0;
    j["rope_parameters"]["factor"] = 32.0;
    const auto c = parse(j);
    CHECK(c.rope.type == "llama3");
    CHECK(c.rope.theta == 500000.0);
    CHECK(c.rope.factor == 32.0);
    CHECK(c.rope.original_max_position_embeddings == 8192);
  }
  SUBCASE("5.x: default rope_parameters") {
    auto j = minimal();
    j["rope_parameters"] = {{"rope_type", "default"}, {"rope_theta", 1e6}};
    const auto c = parse(j);
    CHECK(c.rope.type == "default");
    CHECK(c.rope.theta == 1e6);
  }
}

TEST_CASE("unsupported or malformed configs are rejected with exact messages") {
  struct Case {
    const char* what;
    json config;
    const char* message;  // after "config.json: "
  };
  const auto with = [](const char* key, const json& value) {
    auto j = minimal();
    j[key] = value;
    return j;
  };
  const auto without = [](const char* key) {
    auto j = minimal();
    j.erase(key);
    return j;
  };
  const json llama3 = {{"rope_type", "llama3"},
                       {"factor", 8.0},
                       {"low_freq_factor", 1.0},
                       {"high_freq_factor", 4.0},
                       {"original_max_position_embeddings", 8192}};
  auto no_factor = llama3;
  no_factor.erase("factor");
  auto inverted = llama3;
  inverted["high_freq_factor"] = 0.5;
  const std::vector<Case> cases = {
      {"not an object", json::array({1}), "expected a JSON object"},
      {"another model_type", with("model_type", "mistral"),
       "model_type: \"mistral\" is not supported (expected \"llama\" or \"qwen3\")"},
      {"no model_type", without("model_type"), "model_type: missing (expected \"llama\" or \"qwen3\")"},
      {"attention_bias", with("attention_bias", true), "attention_bias: true is not supported (expected false)"},
      {"mlp_bias", with("mlp_bias", true), "mlp_bias: true is not supported (expected false)"},
      {"attention_bias not a bool", with("attention_bias", "no"), "attention_bias: expected true or false, got \"no\""},
      {"another activation", with("hidden_act", "gelu"), "hidden_act: \"gelu\" is not supported (expected \"silu\")"},
      {"missing size", without("hidden_size"), "hidden_size: missing (expected an integer in [1, 2147483647])"},
      {"size as a string", with("hidden_size", "64"),
       "hidden_size: expected an integer in [1, 2147483647], got \"64\""},
      {"size as an array", with("hidden_size", {64}),
       "hidden_size: expected an integer in [1, 2147483647], got an array"},
      {"size as a long string", with("hidden_size", std::string(100, 'x')),
       "hidden_size: expected an integer in [1, 2147483647], got "
       "\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...\""},
      {"size as a long string cut before a UTF-8 sequence it would split",
       with("hidden_size", std::string(63, 'x') + "\u00e9\u00e9"),
       "hidden_size: expected an integer in [1, 2147483647], got "
       "\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...\""},
      {"size as a float", with("intermediate_size", 128.0),
       "intermediate_size: expected an integer in [1, 2147483647], got 128.0"},
      {"zero layers", with("num_hidden_layers", 0), "num_hidden_layers: expected an integer in [1, 2147483647], got 0"},
      {"negative size", with("vocab_size", -5), "vocab_size: expected an integer in [1, 2147483647], got -5"},
      {"huge size", with("vocab_size", 1ll << 40),
       "vocab_size: expected an integer in [1, 2147483647], got 1099511627776"},
      {"size beyond int64", with("vocab_size", 18446744073709551615ull),
       "vocab_size: expected an integer in [1, 2147483647], got 18446744073709551615"},
      {"kv heads not dividing heads", with("num_key_value_heads", 3),
       "num_key_value_heads: 3 does not divide num_attention_heads (4)"},
      {"head_dim not derivable", with("num_attention_heads", 3),
       "head_dim: absent, and hidden_size (64) is not a multiple of num_attention_heads (3)"},
      {"odd head_dim", with("head_dim", 7), "head_dim: 7 is odd (RoPE rotates pairs)"},
      {"zero eps", with("rms_norm_eps", 0), "rms_norm_eps: expected a positive number, got 0"},
      {"num_labels zero", with("num_labels", 0), "num_labels: expected an integer in [1, 2147483647], got 0"},
      {"empty id2label", with("id2label", json::object()), "id2label: is empty (expected at least one label)"},
      {"bos outside the vocabulary", with("bos_token_id", 100),
       "bos_token_id: expected an integer in [0, 99], got 100"},
      {"eos list with a bad entry", with("eos_token_id", {1, "2"}),
       "eos_token_id[1]: expected an integer in [0, 99], got \"2\""},
      {"negative pad", with("pad_token_id", -1), "pad_token_id: expected an integer in [0, 99], got -1"},
      {"torch_dtype not a string", with("torch_dtype", 16), "torch_dtype: expected a string, got 16"},
      {"negative rope_theta", with("rope_theta", -1.0), "rope_theta: expected a positive number, got -1.0"},
      {"unknown rope type (4.x)", with("rope_scaling", {{"rope_type", "yarn"}, {"factor", 4.0}}),
       "rope_scaling.rope_type: unsupported rope type \"yarn\" (expected \"default\" or \"llama3\")"},
      {"unknown rope type (4.x, older key)", with("rope_scaling", {{"type", "linear"}, {"factor", 2.0}}),
       "rope_scaling.rope_type: unsupported rope type \"linear\" (expected \"default\" or \"llama3\")"},
      {"unknown rope type (5.x)", with("rope_parameters", {{"rope_type", "dynamic"}, {"rope_theta", 1e4}}),
       "rope_parameters.rope_type: unsupported rope type \"dynamic\" (expected \"default\" or \"llama3\")"},
      {"rope_scaling without a type", with("rope_scaling", {{"factor", 8.0}}),
       "rope_scaling: missing rope_type (expected \"default\" or \"llama3\")"},
      {"rope_scaling not an object", with("rope_scaling", 8.0), "rope_scaling: expected an object or null, got 8.0"},
      {"llama3 without factor", with("rope_scaling", no_factor),
       "rope_scaling.factor: missing (expected a positive number)"},
      {"llama3 with inverted frequency factors", with("rope_parameters", inverted),
       "rope_parameters.high_freq_factor: must be greater than low_freq_factor (1.000000)"},
      {"conflicting rope_theta",
       [&] {
         auto j = with("rope_theta", 500000.0);
         j["rope_scaling"] = {{"rope_type", "default"}, {"rope_theta", 10000.0}};
         return j;
       }(),
       "rope_scaling.rope_theta: 10000.000000 differs from the top-level rope_theta (500000.000000)"},
      {"architectures not a list", with("architectures", "LlamaForSequenceClassification"),
       "architectures: expected an array of class names, got \"LlamaForSequenceClassification\""},
      {"architectures with a number", with("architectures", {"LlamaForSequenceClassification", 3}),
       "architectures[1]: expected a class name, got 3"},
      {"a sliding-window layer (5.x layer_types)", with("layer_types", {"full_attention", "sliding_attention"}),
       "layer_types[1]: \"sliding_attention\" is not supported (expected \"full_attention\")"},
      {"layer_types not a list", with("layer_types", "full_attention"),
       "layer_types: expected an array of layer types, got \"full_attention\""},
      {"sliding window in the later layers (Qwen3 4.x)",
       [&] {
         auto j = with("use_sliding_window", true);
         j["sliding_window"] = 4096;
         j["max_window_layers"] = 1;
         return j;
       }(),
       "use_sliding_window: true is not supported (layers from max_window_layers on would use sliding-window "
       "attention)"},
      {"ArmoRM gating temperature", with("gating_temperature", 0), "gating_temperature: expected a positive number, got 0"},
      {"ArmoRM objectives", with("num_objectives", 0), "num_objectives: expected an integer in [1, 2147483647], got 0"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.what);
    CHECK_THROWS_WITH_AS(parse(c.config), (std::string("config.json: ") + c.message).c_str(), urm::Error);
  }
}

TEST_CASE("integers are range-checked whether the parser stored them signed or unsigned") {
  // Found by fuzz_llama_config: a parsed 0 is an unsigned JSON number, and
  // num_key_value_heads = 0 then reached a division.
  for (const char* key : {"num_key_value_heads", "vocab_size", "num_hidden_layers"}) {
    CAPTURE(key);
    auto j = minimal();
    j[key] = json::parse("0");
    REQUIRE(j[key].is_number_unsigned());
    CHECK_THROWS_WITH_AS(
        parse(j), (std::string("config.json: ") + key + ": expected an integer in [1, 2147483647], got 0").c_str(),
        urm::Error);
  }
}

TEST_CASE("a deeply nested value is reported without recursing into it") {
  // 200000 levels: a recursive dump() or parser would overflow the stack.
  const std::size_t depth = 200000;
  const std::string text =
      R"({"model_type": "llama", "hidden_size": )" + std::string(depth, '[') + std::string(depth, ']') + "}";
  CHECK_THROWS_WITH_AS(parse(json::parse(text)),
                       "config.json: hidden_size: expected an integer in [1, 2147483647], got an array", urm::Error);
}

TEST_CASE("LlamaConfig::load names the file for missing and invalid files") {
  const urm::test::TempDir dir("config-load");
  const std::string missing = dir.file("config.json");
  CHECK_THROWS_WITH_AS(urm::LlamaConfig::load(missing), (missing + ": cannot open: No such file or directory").c_str(), urm::Error);
  CHECK_THROWS_WITH_AS(urm::LlamaConfig::load(dir.path().string()),
                       (dir.path().string() + ": not a regular file (a directory)").c_str(), urm::Error);
  const std::string bad = dir.file("bad.json");
  urm::test::write_file(bad, "{\"model_type\": llama}");
  CHECK_THROWS_WITH_AS(urm::LlamaConfig::load(bad),
                       (bad + ": not valid JSON: [json.exception.parse_error.101] parse error at line 1, column 16: "
                              "syntax error while parsing value - invalid literal; last read: '\"model_type\": l'")
                           .c_str(),
                       urm::Error);
  // A (sparse) file above the cap is refused before anything is read.
  const std::string huge = dir.file("huge.json");
  urm::test::write_file(huge, "{}");
  std::filesystem::resize_file(huge, 100'000'001);
  CHECK_THROWS_WITH_AS(urm::LlamaConfig::load(huge),
                       (huge + ": 100000001 bytes is larger than the cap of 100000000 bytes for a JSON file").c_str(),
                       urm::Error);
  const std::string other = dir.file("other.json");
  urm::test::write_file(other, R"({"model_type": "gpt2"})");
  CHECK_THROWS_WITH_AS(urm::LlamaConfig::load(other),
                       (other + ": model_type: \"gpt2\" is not supported (expected \"llama\" or \"qwen3\")").c_str(), urm::Error);
}

TEST_CASE("Qwen3 configs: Qwen3Config's defaults, both config styles, sliding window only where unused") {
  auto j = minimal();
  j["model_type"] = "qwen3";
  auto c = parse(j);
  CHECK(c.model_type == "qwen3");
  CHECK(c.head_dim == 128);  // Qwen3Config's default, not hidden_size / heads
  CHECK(c.max_position_embeddings == 32768);
  CHECK(c.rms_norm_eps == 1e-6);
  // A sliding window that no layer reaches (max_window_layers >= layers), or
  // that is switched off, is no sliding window.
  j["use_sliding_window"] = true;
  j["sliding_window"] = 4096;
  j["max_window_layers"] = 2;
  CHECK_NOTHROW(parse(j));
  j["max_window_layers"] = 1;
  j["sliding_window"] = nullptr;
  CHECK_NOTHROW(parse(j));
  j["layer_types"] = {"full_attention", "full_attention"};
  CHECK_NOTHROW(parse(j));

  // The zoo fixture in the 4.x style and rewritten in the 5.x style read the same.
  const std::string path = std::string(URM_TEST_DATA_DIR) + "/zoo/models/qwen3-rm/config.json";
  const auto v4 = urm::LlamaConfig::load(path);
  auto j5 = json::parse(urm::test::read_file(path));
  j5.erase("rope_theta");
  j5.erase("rope_scaling");
  j5.erase("torch_dtype");
  j5["rope_parameters"] = {{"rope_type", "default"}, {"rope_theta", 1000000}};
  j5["dtype"] = "bfloat16";
  j5["layer_types"] = {"full_attention", "full_attention"};
  const auto v5 = parse(j5);
  CHECK(v4.architectures == std::vector<std::string>{"Qwen3ForSequenceClassification"});
  CHECK(v5.rope.theta == v4.rope.theta);
  CHECK(v5.rope.type == "default");
  CHECK(v5.torch_dtype == "bfloat16");
  CHECK(v5.head_dim == 16);
  CHECK(v5.pad_token_id == 151643);
  CHECK(v5.tie_word_embeddings);
}

TEST_CASE("ArmoRM's gating settings: the remote code's defaults, or the config's") {
  auto c = parse(minimal());
  CHECK(c.gating.num_objectives == 19);
  CHECK(c.gating.hidden_dim == 1024);
  CHECK(c.gating.n_hidden == 3);
  CHECK(c.gating.temperature == 10.0);
  c = urm::LlamaConfig::load(std::string(URM_TEST_DATA_DIR) + "/zoo/models/armorm-llama3/config.json");
  CHECK(c.gating.hidden_dim == 48);
  CHECK(c.gating.n_hidden == 3);
  CHECK(c.architectures == std::vector<std::string>{"LlamaForRewardModelWithGating"});
}
