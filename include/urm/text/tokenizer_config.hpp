// TokenizerConfig — what tokenizer_config.json says about chat formatting:
// the chat template(s) and the special-token strings a template may use.
//
// Hugging Face writes `chat_template` either as one string or as a list of
// {"name": ..., "template": ...}; special tokens as plain strings or as
// AddedToken objects ({"__type": "AddedToken", "content": "<s>", ...}) or
// null. The choice of template follows transformers' get_chat_template: a
// name picks that template; without a name, the single string or the one
// named "default".
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "urm/core/error.hpp"
#include "urm/core/json.hpp"
#include "urm/core/regular_file.hpp"

namespace urm {

// The special-token strings transformers passes to a chat template
// (tokenizer.special_tokens_map); absent ones are undefined in the template.
struct SpecialTokens {
  std::optional<std::string> bos_token = std::nullopt;
  std::optional<std::string> eos_token = std::nullopt;
  std::optional<std::string> pad_token = std::nullopt;
  std::optional<std::string> unk_token = std::nullopt;
};

struct NamedChatTemplate {
  std::string name;    // "default" for a template given as a plain string
  std::string source;  // Jinja text
};

struct TokenizerConfig {
  std::string path;  // where it was read from; starts every error message
  std::vector<NamedChatTemplate> chat_templates;
  bool chat_template_is_list = false;
  SpecialTokens special_tokens;

  static TokenizerConfig parse(std::string_view json_text, const std::string& path = "tokenizer_config.json") {
    const nlohmann::json j = detail::parse_json(json_text, path + ": invalid JSON");
    if (!j.is_object()) throw Error(path + ": expected a JSON object at the top level, got " + j.type_name());
    TokenizerConfig c;
    c.path = path;
    if (const auto it = j.find("chat_template"); it != j.end() && !it->is_null()) {
      if (it->is_string()) {
        c.chat_templates.push_back({"default", it->get<std::string>()});
      } else if (it->is_array()) {
        c.chat_template_is_list = true;
        for (std::size_t i = 0; i < it->size(); ++i) {
          const auto& t = (*it)[i];
          const std::string at = "chat_template[" + std::to_string(i) + "]";
          if (!t.is_object())
            throw Error(path + ": " + at + ": expected an object {\"name\": ..., \"template\": ...}, got " + t.type_name());
          NamedChatTemplate named{string_field(t, "name", path, at), string_field(t, "template", path, at)};
          // transformers builds {name: template}: a repeated name keeps the last.
          std::erase_if(c.chat_templates, [&](const NamedChatTemplate& x) { return x.name == named.name; });
          c.chat_templates.push_back(std::move(named));
        }
      } else {
        throw Error(path + ": chat_template: expected a string or a list of {\"name\", \"template\"} objects, got " +
                    std::string(it->type_name()));
      }
    }
    c.special_tokens.bos_token = token(j, "bos_token", path);
    c.special_tokens.eos_token = token(j, "eos_token", path);
    c.special_tokens.pad_token = token(j, "pad_token", path);
    c.special_tokens.unk_token = token(j, "unk_token", path);
    return c;
  }

  static TokenizerConfig load(const std::string& path) {
    return parse(read_regular_file(path, detail::kJsonFileMaxBytes, "a JSON file"), path);
  }

  // The template called `name`, or with an empty name the default one.
  const NamedChatTemplate& chat_template(std::string_view name = {}) const {
    if (chat_templates.empty()) throw Error(path + ": no chat_template");
    const std::string_view wanted = name.empty() ? std::string_view("default") : name;
    for (const auto& t : chat_templates)
      if (t.name == wanted) return t;
    std::string available;
    for (const auto& t : chat_templates) available += (available.empty() ? "'" : ", '") + t.name + "'";
    if (name.empty())
      throw Error(path + ": chat_template lists several templates and none is named 'default'; choose one by name (" +
                  available + ")");
    throw Error(path + ": no chat template named '" + std::string(name) + "' (available: " + available + ")");
  }

 private:
  static std::string string_field(const nlohmann::json& obj, const char* key, const std::string& path,
                                  const std::string& at) {
    const auto it = obj.find(key);
    if (it == obj.end()) throw Error(path + ": " + at + ": missing \"" + key + "\"");
    if (!it->is_string())
      throw Error(path + ": " + at + "." + key + ": expected a string, got " + std::string(it->type_name()));
    return it->get<std::string>();
  }

  static std::optional<std::string> token(const nlohmann::json& j, const char* key, const std::string& path) {
    const auto it = j.find(key);
    if (it == j.end() || it->is_null()) return std::nullopt;
    if (it->is_string()) return it->get<std::string>();
    if (it->is_object()) return string_field(*it, "content", path, key);
    throw Error(path + ": " + key + ": expected a string, null or an AddedToken object {\"content\": ...}, got " +
                std::string(it->type_name()));
  }
};

}  // namespace urm
