// Conversation — what a reward model scores: a list of chat messages, plus
// what else the chat template may read (tool definitions, documents, extra
// template variables).
//
// Conversation is a std::vector<Message> (so `rm.score({{"user", "…"},
// {"assistant", "…"}})` and every vector use keep working) with three more
// members. They live on the conversation rather than in a separate render
// context because in the chat APIs this mirrors (transformers'
// apply_chat_template, vLLM's and OpenAI's chat requests) tools, documents
// and template variables are per request: score_batch and score_async then
// carry each input's own.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

namespace urm {

struct Message {
  std::string role;     // "system", "user", "assistant", "tool", …
  std::string content;  // UTF-8
  // Any other fields of the message, in order, as the template sees them
  // (message.tool_calls, message.reasoning_content, message.name, ...): a
  // JSON object. A "content" here that is not a string (null, a list of
  // parts) replaces `content` for the template. A field the template does
  // not read changes nothing.
  nlohmann::ordered_json fields = nlohmann::ordered_json::object();
};

struct Conversation : std::vector<Message> {
  using vector::vector;
  Conversation() = default;
  Conversation(std::vector<Message> messages) : vector(std::move(messages)) {}

  // transformers' `tools` (a list of JSON schemas) and `documents`: null
  // when not given, as apply_chat_template passes None.
  nlohmann::ordered_json tools = nullptr;
  nlohmann::ordered_json documents = nullptr;
  // Extra template variables (transformers' **kwargs of apply_chat_template,
  // vLLM's chat_template_kwargs), e.g. {"enable_thinking": false,
  // "date_string": "26 Jul 2024"}: a JSON object.
  nlohmann::ordered_json variables = nlohmann::ordered_json::object();
};

}  // namespace urm
