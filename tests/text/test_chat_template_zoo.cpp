// The chat templates of the reward-model zoo (Llama-3 Instruct: ArmoRM;
// Llama-3.1 Instruct: Skywork-Reward-V2-Llama-3.1, INF-ORM; Qwen3:
// Skywork-Reward-V2-Qwen3) render every conversation of the zoo's
// chat_golden.json exactly as transformers does (tests/data/zoo/README.md).
#include <doctest/doctest.h>

#include <string>

#include "support/tokenizer_fixtures.hpp"
#include "urm/text/chat_template.hpp"
#include "urm/text/conversation_json.hpp"
#include "urm/text/tokenizer_config.hpp"

TEST_CASE("zoo chat templates: Llama-3, Llama-3.1 and Qwen3 render text and generation prompt as transformers") {
  const std::string dir = URM_TEST_DATA_DIR "/zoo/tokenizer/";
  const nlohmann::json& golden = ::urm::test::read_json(dir + "chat_golden.json");
  for (const std::string variant : {"llama3-instruct", "llama31-instruct", "qwen3"}) {
    CAPTURE(variant);
    const auto config = urm::TokenizerConfig::load(dir + "tokenizer_config." + variant + ".json");
    const auto chat = urm::ChatTemplate::from_config(config);
    const auto& cases = golden.at("variants").at(variant);
    REQUIRE(cases.size() == 16);
    int identical = 0;
    for (std::size_t i = 0; i < cases.size(); ++i) {
      CAPTURE(i);
      const auto conversation =
          urm::conversation_from_json(nlohmann::ordered_json::parse(nlohmann::json{{"messages", cases[i].at("messages")}}.dump()));
      const std::string text = chat.render(conversation, false, config.special_tokens);
      const std::string prompt = chat.render(conversation, true, config.special_tokens);
      CHECK(text == cases[i].at("text").get<std::string>());
      CHECK(prompt == cases[i].at("text_generation_prompt").get<std::string>());
      identical += text == cases[i].at("text").get<std::string>() &&
                   prompt == cases[i].at("text_generation_prompt").get<std::string>();
    }
    CHECK(identical == 16);
  }
}
