// The chat_golden fixture (tests/data/README.md): conversations with what
// transformers made of them, for the variants "llama3-base" and "llama3-rm".
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "support/tokenizer_fixtures.hpp"
#include "urm/text/conversation.hpp"

namespace urm::test {

struct ChatGoldenCase {
  urm::Conversation messages;
  std::string text;                                  // apply_chat_template(tokenize=False)
  std::string text_generation_prompt;                // ... with add_generation_prompt=True
  std::vector<std::int32_t> ids_card_pipeline;       // tokenizer(text)["input_ids"]
  std::vector<std::int32_t> ids_apply_chat_template; // apply_chat_template(tokenize=True)
};

inline const nlohmann::json& chat_golden_json() {
  return ::urm::test::read_json(URM_TEST_DATA_DIR "/tokenizer/chat_golden.json");
}

inline std::vector<ChatGoldenCase> chat_golden_cases(const std::string& variant) {
  std::vector<ChatGoldenCase> cases;
  for (const auto& c : chat_golden_json().at("variants").at(variant)) {
    ChatGoldenCase g;
    for (const auto& m : c.at("messages")) g.messages.push_back({m.at("role"), m.at("content")});
    g.text = c.at("text");
    g.text_generation_prompt = c.at("text_generation_prompt");
    g.ids_card_pipeline = c.at("ids_card_pipeline").get<std::vector<std::int32_t>>();
    g.ids_apply_chat_template = c.at("ids_apply_chat_template").get<std::vector<std::int32_t>>();
    cases.push_back(std::move(g));
  }
  return cases;
}

}  // namespace urm::test
