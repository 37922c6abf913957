// conversation_json — a JSON chat request -> Conversation, the one place
// urm-score, the C ABI and the server read conversations from JSON.
//
//   {"messages": [{"role": "user", "content": "…"},
//                 {"role": "assistant", "content": null, "tool_calls": [...], "reasoning_content": "…"}, …],
//    "tools": [...], "documents": [...], "chat_template_kwargs": {"enable_thinking": false, …}}
//
// The names are those of the chat APIs this mirrors: OpenAI's and vLLM's
// chat requests (`messages`, `tools`, `documents`, vLLM's
// `chat_template_kwargs`), whose values transformers' apply_chat_template
// passes to the template. A message needs "role" (a string) and "content"
// (a string, null or a list of parts); every other field is kept, in order,
// for the template (Message::fields). Other top-level keys are left to the
// caller (e.g. urm-score's "input_ids").
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "urm/core/error.hpp"
#include "urm/core/json.hpp"
#include "urm/text/conversation.hpp"

namespace urm {

// Throws urm::Error naming the JSON path at fault ("messages[1].role: ...").
inline Conversation conversation_from_json(const nlohmann::ordered_json& j) {
  if (!j.is_object()) throw Error("expected a JSON object with \"messages\", got " + std::string(j.type_name()));
  if (!j.contains("messages")) throw Error("messages: missing");
  const auto& msgs = j.at("messages");
  if (!msgs.is_array()) throw Error("messages: expected an array of {\"role\", \"content\"} objects");
  Conversation conv;
  for (std::size_t i = 0; i < msgs.size(); ++i) {
    const std::string at = "messages[" + std::to_string(i) + "]";
    const auto& m = msgs[i];
    if (!m.is_object()) throw Error(at + ": expected an object with \"role\" and \"content\", got " + detail::describe_json(m));
    if (!m.contains("role") || !m["role"].is_string())
      throw Error(at + ".role: expected a string" + (m.contains("role") ? ", got " + detail::describe_json(m["role"]) : std::string(", missing")));
    if (!m.contains("content")) throw Error(at + ".content: missing (a string, null or a list of parts)");
    const auto& content = m["content"];
    if (!content.is_string() && !content.is_null() && !content.is_array())
      throw Error(at + ".content: expected a string, null or a list of parts, got " + detail::describe_json(content));
    Message message{m["role"].get<std::string>(), content.is_string() ? content.get<std::string>() : std::string()};
    for (const auto& [k, v] : m.items()) {
      if (k == "role" || (k == "content" && content.is_string())) continue;
      message.fields[k] = v;
    }
    conv.push_back(std::move(message));
  }
  if (j.contains("tools")) {
    if (!j["tools"].is_array() && !j["tools"].is_null())
      throw Error("tools: expected an array of tool definitions or null, got " + std::string(j["tools"].type_name()));
    conv.tools = j["tools"];
  }
  if (j.contains("documents")) {
    if (!j["documents"].is_array() && !j["documents"].is_null())
      throw Error("documents: expected an array of documents or null, got " + std::string(j["documents"].type_name()));
    conv.documents = j["documents"];
  }
  if (j.contains("chat_template_kwargs")) {
    const auto& kw = j["chat_template_kwargs"];
    if (!kw.is_object()) throw Error("chat_template_kwargs: expected an object, got " + std::string(kw.type_name()));
    for (const auto& [k, v] : kw.items()) {
      if (k == "messages" || k == "tools" || k == "documents" || k == "add_generation_prompt")
        throw Error("chat_template_kwargs." + k + ": set by the request itself, not a template variable");
      conv.variables[k] = v;
    }
  }
  return conv;
}

// The same from JSON text.
inline Conversation conversation_from_json(const std::string& text) {
  nlohmann::ordered_json j;
  try {
    j = nlohmann::ordered_json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    throw Error("invalid JSON: " + detail::json_error_message(e));
  }
  return conversation_from_json(j);
}

}  // namespace urm
