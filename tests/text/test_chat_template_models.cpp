// Chat templates of the models urm.cpp targets, rendered on the conversations
// of tests/data/templates/expected.json and compared with what jinja2 3.1.6
// rendered in transformers' environment (make_expected.py there; see
// tests/data/README.md for where each template comes from).
#include <doctest/doctest.h>

#include <fstream>
#include <iterator>
#include <string>

#include "support/tokenizer_fixtures.hpp"
#include "urm/text/chat_template.hpp"
#include "urm/text/jinja/template.hpp"

namespace {

const std::string kTemplatesDir = URM_TEST_DATA_DIR "/templates/";

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE_MESSAGE(in, path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::optional<std::string> token(const nlohmann::json& tokens, const char* name) {
  if (!tokens.contains(name)) return std::nullopt;
  return tokens.at(name).get<std::string>();
}

// JSON -> interpreter value, keeping the key order (the order tojson writes).
urm::detail::jinja::Value to_value(const nlohmann::ordered_json& j) {
  using namespace urm::detail::jinja;
  if (j.is_null()) return Value(None{});
  if (j.is_boolean()) return Value(j.get<bool>());
  if (j.is_number_integer()) return Value(j.get<std::int64_t>());
  if (j.is_number()) return Value(j.get<double>());
  if (j.is_string()) return Value(j.get<std::string>());
  if (j.is_array()) {
    List items;
    for (const auto& x : j) items.push_back(to_value(x));
    return Value(std::move(items));
  }
  Map map;
  for (const auto& [k, v] : j.items()) map.emplace_back(k, to_value(v));
  return Value(std::move(map));
}

// What a jinja2 error "Type: message" is in urm: "TemplateError: m"
// (raise_exception) ends "... raise_exception: m", "UndefinedError: m" ends ": m".
std::string expected_error_end(const std::string& error) {
  if (error.rfind("TemplateError: ", 0) == 0) return ": raise_exception: " + error.substr(15);
  if (error.rfind("UndefinedError: ", 0) == 0) return ": " + error.substr(16);
  return {};
}

bool ends_with(const std::string& s, const std::string& end) {
  return s.size() > end.size() && s.compare(s.size() - end.size(), end.size(), end) == 0;
}

// Every case of one template: same text, or the same error. jinja2's error
// "TemplateError: m" (raise_exception) is urm's "... raise_exception: m";
// "UndefinedError: m" is urm's "<name> <line>:<col>: m".
int check_template(const std::string& name) {
  const nlohmann::json& all = ::urm::test::read_json(kTemplatesDir + "expected.json").at("templates").at(name);
  const urm::ChatTemplate chat(read_text(kTemplatesDir + name + ".jinja"), name);
  const nlohmann::json& t = all.at("special_tokens");
  const urm::SpecialTokens tokens{token(t, "bos_token"), token(t, "eos_token"), token(t, "pad_token"), token(t, "unk_token")};
  int checked = 0;
  for (const auto& c : all.at("cases")) {
    urm::Conversation conversation;
    for (const auto& m : c.at("messages")) conversation.push_back({m.at("role"), m.at("content")});
    const bool prompt = c.at("add_generation_prompt").get<bool>();
    CAPTURE(c.dump());
    if (c.contains("text")) {
      CHECK(chat.render(conversation, prompt, tokens) == c.at("text").get<std::string>());
    } else {
      const std::string expected_end = expected_error_end(c.at("error").get<std::string>());
      REQUIRE(!expected_end.empty());
      std::string what;
      try {
        (void)chat.render(conversation, prompt, tokens);
      } catch (const urm::Error& e) {
        what = e.what();
      }
      CAPTURE(what);
      CHECK(what.rfind(name + " ", 0) == 0);
      CHECK(ends_with(what, expected_end));
    }
    ++checked;
  }
  return checked;
}

}  // namespace

TEST_CASE("chat templates of target models: Llama-3.1-Instruct (URM-LLaMa-3.1-8B) as jinja2 renders it") {
  CHECK(check_template("llama-3.1-instruct") == 20);
}

// The tool paths (tools, custom_tools, builtin_tools, tool_calls, tool
// results) go beyond what ChatTemplate passes, so the template is rendered
// here with each case's variables as they are.
TEST_CASE("chat templates of target models: Llama-3.1-Instruct's tool paths as jinja2 renders them") {
  using namespace urm::detail::jinja;
  const auto all = nlohmann::ordered_json::parse(read_text(kTemplatesDir + "expected.json"));
  const Template t = Template::parse(read_text(kTemplatesDir + "llama-3.1-instruct.jinja"), "llama-3.1");
  int checked = 0;
  for (const auto& c : all.at("llama-3.1-instruct-tools")) {
    CAPTURE(c.dump());
    const Map variables = to_value(c.at("variables")).map();
    if (c.contains("text")) {
      CHECK(t.render(variables) == c.at("text").get<std::string>());
    } else {
      std::string what;
      try {
        (void)t.render(variables);
      } catch (const urm::Error& e) {
        what = e.what();
      }
      CAPTURE(what);
      CHECK(ends_with(what, expected_error_end(c.at("error").get<std::string>())));
    }
    ++checked;
  }
  CHECK(checked == 12);
}

TEST_CASE("chat templates of target models: Gemma-it and Mistral-Instruct as jinja2 renders them") {
  CHECK(check_template("gemma-it") == 20);
  CHECK(check_template("mistral-instruct") == 20);
  CHECK(check_template("mistral-instruct-v0.1-system") == 20);
}

TEST_CASE("chat templates of target models: one Llama-3.1 rendering spelled out") {
  const urm::ChatTemplate chat(read_text(kTemplatesDir + "llama-3.1-instruct.jinja"));
  const urm::SpecialTokens tokens{.bos_token = "<|begin_of_text|>", .eos_token = "<|eot_id|>"};
  CHECK(chat.render({{"system", " Be brief. "}, {"user", "Hi"}}, true, tokens) ==
        "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n"
        "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\nBe brief.<|eot_id|>"
        "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\n");
}
