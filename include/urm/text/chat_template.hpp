// ChatTemplate — a model's chat template, rendering a Conversation to text
// exactly as transformers' `apply_chat_template(messages, tokenize=False)`.
//
// The template is Jinja2 run by urm's interpreter of the subset real
// reward-model templates use (include/urm/text/jinja/). The variables are
// those transformers passes: `messages` (a list of {"role", "content"}
// dicts), `add_generation_prompt`, the special-token strings that are set
// (`bos_token`, `eos_token`, `pad_token`, `unk_token`), and `tools` and
// `documents` as none, plus the function `raise_exception(message)`, which
// throws urm::Error carrying the template's message.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "urm/core/error.hpp"
#include "urm/text/conversation.hpp"
#include "urm/text/jinja/template.hpp"
#include "urm/text/tokenizer_config.hpp"

namespace urm {

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
  std::string render(const Conversation& conversation, bool add_generation_prompt,
                     const SpecialTokens& special_tokens) const {
    using namespace detail::jinja;
    List messages;
    messages.reserve(conversation.size());
    for (std::size_t i = 0; i < conversation.size(); ++i) {
      const Message& m = conversation[i];
      check_utf8(m.role, "messages[" + std::to_string(i) + "].role");
      check_utf8(m.content, "messages[" + std::to_string(i) + "].content");
      messages.emplace_back(Map{{"role", Value(m.role)}, {"content", Value(m.content)}});
    }
    Map variables{{"messages", Value(std::move(messages))},
                  {"add_generation_prompt", Value(add_generation_prompt)},
                  {"tools", Value(None{})},
                  {"documents", Value(None{})}};
    auto add_token = [&](const char* name, const std::optional<std::string>& value) {
      if (!value) return;
      check_utf8(*value, name);
      variables.emplace_back(name, Value(*value));
    };
    add_token("bos_token", special_tokens.bos_token);
    add_token("eos_token", special_tokens.eos_token);
    add_token("pad_token", special_tokens.pad_token);
    add_token("unk_token", special_tokens.unk_token);
    return template_->render(variables);
  }

 private:
  static void check_utf8(const std::string& s, const std::string& what) {
    if (const std::size_t bad = detail::find_invalid_utf8(s); bad != std::string_view::npos)
      throw Error(what + ": not valid UTF-8 (byte " + std::to_string(bad) + ")");
  }

  std::shared_ptr<const detail::jinja::Template> template_;
};

}  // namespace urm
