// ChatTemplate — a model's chat template, rendering a Conversation to text
// exactly as transformers' `apply_chat_template(messages, tokenize=False)`.
//
// The template is Jinja2 run by urm's interpreter of the subset real chat
// templates use (include/urm/text/jinja/). The variables are those
// transformers passes: `messages` (a list of dicts: role, content and every
// other field of the message), `tools` and `documents` (none unless the
// conversation has them), `add_generation_prompt`, the special-token strings
// that are set (`bos_token`, `eos_token`, `pad_token`, `unk_token`), the
// conversation's extra variables (apply_chat_template's **kwargs, e.g.
// `enable_thinking`), and the functions `raise_exception(message)` (throws
// urm::Error carrying the template's message) and `strftime_now(format)`.
//
// strftime_now formats today's date (the local time, as transformers does):
// a template that prints it (Llama-3.2/3.3, Granite, ...) makes the text,
// and so the score, depend on the day. RenderOptions::date fixes the date
// for reproducible scores.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "urm/core/error.hpp"
#include "urm/text/conversation.hpp"
#include "urm/text/jinja/template.hpp"
#include "urm/text/tokenizer_config.hpp"

namespace urm {

// How a render may differ from transformers' defaults.
struct RenderOptions {
  // "YYYY-MM-DD": the date strftime_now() formats (at 00:00:00); empty: now.
  std::string date;
};

namespace detail {

// A JSON value as the template sees it (json.loads' Python objects: keys in
// order, integers, floats, strings, lists, dicts). `what` names the place
// for errors.
inline jinja::Value json_to_template_value(const nlohmann::ordered_json& j, const std::string& what,
                                           std::uint32_t depth = 0) {
  using namespace jinja;
  if (depth > 128) throw Error(what + ": nested deeper than 128 levels");
  if (j.is_null()) return Value(None{});
  if (j.is_boolean()) return Value(j.get<bool>());
  if (j.is_number_unsigned()) {
    if (j.get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX))
      throw Error(what + ": integer " + j.dump() + " does not fit in 64 bits");
    return Value(static_cast<std::int64_t>(j.get<std::uint64_t>()));
  }
  if (j.is_number_integer()) return Value(j.get<std::int64_t>());
  if (j.is_number()) return Value(j.get<double>());
  if (j.is_string()) {
    const auto& s = j.get_ref<const std::string&>();
    if (const std::size_t bad = find_invalid_utf8(s); bad != std::string_view::npos)
      throw Error(what + ": not valid UTF-8 (byte " + std::to_string(bad) + ")");
    return Value(s);
  }
  if (j.is_array()) {
    List items;
    for (std::size_t i = 0; i < j.size(); ++i)
      items.push_back(json_to_template_value(j[i], what + "[" + std::to_string(i) + "]", depth + 1));
    return Value(std::move(items));
  }
  if (j.is_object()) {
    Map map;
    for (const auto& [k, v] : j.items()) {
      if (const std::size_t bad = find_invalid_utf8(k); bad != std::string_view::npos)
        throw Error(what + ": a key is not valid UTF-8 (byte " + std::to_string(bad) + ")");
      map.emplace_back(k, json_to_template_value(v, what + "." + k, depth + 1));
    }
    return Value(std::move(map));
  }
  throw Error(what + ": binary JSON values are not supported");
}

}  // namespace detail

class ChatTemplate {
 public:
  // Parses the template; anything outside the supported subset is an
  // urm::Error "<name> <line>:<column>: <construct> is outside ...".
  explicit ChatTemplate(std::string_view source, std::string name = "chat template")
      : template_(std::make_shared<const detail::jinja::Template>(
            detail::jinja::Template::parse(source, std::move(name)))) {}

  // The template of a tokenizer_config.json, chosen by name as in TokenizerConfig::chat_template.
  static ChatTemplate from_config(const TokenizerConfig& config, std::string_view template_name = {}) {
    const NamedChatTemplate& t = config.chat_template(template_name);
    std::string name = config.path + ": chat_template";
    if (config.chat_template_is_list) name += " '" + t.name + "'";
    return ChatTemplate(t.source, std::move(name));
  }

  // Every string given is checked to be valid UTF-8 (an error names the
  // message or token), and the template is (Template::parse); the renderer
  // joins whole code points only, so the text returned is valid UTF-8 too:
  // the tokenizer does not check it again (ConversationEncoder::encode).
  std::string render(const Conversation& conversation, bool add_generation_prompt, const SpecialTokens& special_tokens,
                     const RenderOptions& options = {}) const {
    using namespace detail::jinja;
    RenderContext context;
    if (!options.date.empty()) {
      context.now = parse_date(options.date);
      if (!context.now) throw Error("date: expected a date YYYY-MM-DD, got \"" + options.date + "\"");
    }
    List messages;
    messages.reserve(conversation.size());
    for (std::size_t i = 0; i < conversation.size(); ++i) {
      const Message& m = conversation[i];
      const std::string at = "messages[" + std::to_string(i) + "]";
      check_utf8(m.role, at + ".role");
      check_utf8(m.content, at + ".content");
      if (!m.fields.is_object()) throw Error(at + ": fields must be a JSON object, got " + std::string(m.fields.type_name()));
      Map message{{"role", Value(m.role)}, {"content", Value(m.content)}};
      for (const auto& [k, v] : m.fields.items()) {
        if (k == "role") throw Error(at + ".fields: \"role\" belongs in Message::role");
        Value value = detail::json_to_template_value(v, at + "." + k);
        if (k == "content") message[1].second = std::move(value);
        else message.emplace_back(k, std::move(value));
      }
      messages.emplace_back(std::move(message));
    }
    Map variables{{"messages", Value(std::move(messages))},
                  {"tools", detail::json_to_template_value(conversation.tools, "tools")},
                  {"documents", detail::json_to_template_value(conversation.documents, "documents")},
                  {"add_generation_prompt", Value(add_generation_prompt)}};
    auto set = [&](const std::string& name, Value value) {
      for (auto& [k, v] : variables)
        if (k == name) {
          v = std::move(value);
          return;
        }
      variables.emplace_back(name, std::move(value));
    };
    auto add_token = [&](const char* name, const std::optional<std::string>& value) {
      if (!value) return;
      check_utf8(*value, name);
      set(name, Value(*value));
    };
    add_token("bos_token", special_tokens.bos_token);
    add_token("eos_token", special_tokens.eos_token);
    add_token("pad_token", special_tokens.pad_token);
    add_token("unk_token", special_tokens.unk_token);
    if (!conversation.variables.is_object())
      throw Error("chat template variables: expected a JSON object, got " + std::string(conversation.variables.type_name()));
    for (const auto& [k, v] : conversation.variables.items()) {
      // apply_chat_template passes these itself; a second value is Python's TypeError there.
      if (k == "messages" || k == "tools" || k == "documents" || k == "add_generation_prompt")
        throw Error("chat template variables: \"" + k + "\" is set by the conversation itself, not a template variable");
      set(k, detail::json_to_template_value(v, "chat template variables." + k));
    }
    return template_->render(variables, context);
  }

  const std::string& name() const { return template_->name(); }

 private:
  static void check_utf8(const std::string& s, const std::string& what) {
    if (const std::size_t bad = detail::find_invalid_utf8(s); bad != std::string_view::npos)
      throw Error(what + ": not valid UTF-8 (byte " + std::to_string(bad) + ")");
  }

  std::shared_ptr<const detail::jinja::Template> template_;
};

}  // namespace urm
