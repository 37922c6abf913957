// Real chat templates (tests/data/templates/collection.json says where each
// comes from) rendered on the chat requests of collection_expected.json and
// compared with what jinja2 rendered in transformers' environment
// (tools/make_chat_template_expected.py). Every rendering must be
// byte-identical, or jinja2's error, or a clear refusal of a construct
// outside the subset; never a different text.
#include <doctest/doctest.h>

#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <string>

#include "support/tokenizer_fixtures.hpp"
#include "urm/text/chat_template.hpp"
#include "urm/text/conversation_json.hpp"

namespace {

const std::string kDir = URM_TEST_DATA_DIR "/templates/";

std::string read_collection_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE_MESSAGE(in, path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

bool refusal(const std::string& what) { return what.find("is outside the Jinja subset urm.cpp implements") != std::string::npos; }

// The templates of the collection that reach a construct urm refuses, on
// some input, and the construct: every other template must render every
// input as jinja2 does.
const std::map<std::string, std::string> kKnownRefusals = {
    // {0: 0, 512: 128, ...}: dicts keyed by numbers (only string keys are implemented)
    {"seed-oss", "a dict key that is not a string is outside the Jinja subset"},
};

}  // namespace

TEST_CASE("chat template collection: every real template renders as jinja2 does, or is refused") {
  const auto collection = nlohmann::ordered_json::parse(read_collection_file(kDir + "collection.json"));
  const auto expected = nlohmann::ordered_json::parse(read_collection_file(kDir + "collection_expected.json"));
  const urm::RenderOptions options{expected.at("date").get<std::string>()};
  std::vector<urm::Conversation> requests;
  for (const auto& r : expected.at("requests")) requests.push_back(urm::conversation_from_json(r));
  int templates = 0, identical_templates = 0, refused_at_load = 0, identical = 0, same_error = 0, refused = 0;
  for (const auto& [name, entry] : collection.at("templates").items()) {
    CAPTURE(name);
    ++templates;
    const auto& t = entry.at("special_tokens");
    auto token = [&](const char* k) -> std::optional<std::string> {
      if (!t.contains(k)) return std::nullopt;
      return t.at(k).get<std::string>();
    };
    const urm::SpecialTokens tokens{token("bos_token"), token("eos_token"), token("pad_token"), token("unk_token")};
    std::optional<urm::ChatTemplate> chat;
    try {
      chat.emplace(read_collection_file(kDir + entry.at("file").get<std::string>()), name);
    } catch (const urm::Error& e) {
      CAPTURE(e.what());
      CHECK(refusal(e.what()));
      std::cout << "chat template collection: " << name << " refused at load: " << e.what() << "\n";
      ++refused_at_load;
      continue;
    }
    bool all_identical = true;
    for (const auto& c : expected.at("templates").at(name).at("cases")) {
      const urm::Conversation& conversation = requests.at(c.at("request").get<std::size_t>());
      const bool prompt = c.at("add_generation_prompt").get<bool>();
      CAPTURE(c.dump());
      std::optional<std::string> text;
      std::string what;
      try {
        text = chat->render(conversation, prompt, tokens, options);
      } catch (const urm::Error& e) {
        what = e.what();
      }
      CAPTURE(what);
      if (c.contains("text")) {
        if (text) {
          CHECK(*text == c.at("text").get<std::string>());
          identical += *text == c.at("text").get<std::string>();
        } else {
          CHECK(refusal(what));  // a construct this input reaches is refused, never approximated
          CHECK(kKnownRefusals.count(name) == 1);
          if (kKnownRefusals.count(name)) CHECK(what.find(kKnownRefusals.at(name)) != std::string::npos);
          std::cout << "chat template collection: " << name << " refused at render: " << what << "\n";
          ++refused;
          all_identical = false;
        }
      } else {
        CHECK_FALSE(text.has_value());  // jinja2 raised: so must urm
        ++same_error;
        const std::string error = c.at("error").get<std::string>();
        if (error.rfind("TemplateError: ", 0) == 0) CHECK(what.find(": raise_exception: " + error.substr(15)) != std::string::npos);
      }
    }
    identical_templates += all_identical;
  }
  std::cout << "chat template collection: " << templates << " templates, " << identical_templates
            << " render identically on every input jinja2 renders, " << refused_at_load << " refused at load; "
            << identical << " renderings identical, " << same_error << " jinja2 errors matched, " << refused
            << " refused at render\n";
  CHECK(templates == 59);
  CHECK(identical_templates == templates - static_cast<int>(kKnownRefusals.size()));
  CHECK(refused_at_load == 0);
}
