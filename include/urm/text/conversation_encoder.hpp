// ConversationEncoder — a Conversation -> the token ids a reward model scores.
//
// The reward pipeline of the URM model card (and of most Hugging Face reward
// models) is
//
//     text = tokenizer.apply_chat_template(messages, tokenize=False)
//     ids  = tokenizer(text)["input_ids"]          # add_special_tokens=True
//
// i.e. render with add_generation_prompt=false, then encode WITH the special
// tokens of the tokenizer's post-processor. When the template writes
// <|begin_of_text|> itself and the post-processor prepends one too (the
// URM-LLaMa-3-8B tokenizer does both), the ids start with TWO BOS tokens;
// the published scores were computed that way, so it is the default
// (BosPolicy::CardPipeline). BosPolicy::Single gives what
// `apply_chat_template(messages, tokenize=True)` gives: the rendered text
// encoded without the post-processor's tokens (one BOS, from the template).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "urm/core/error.hpp"
#include "urm/core/json.hpp"
#include "urm/core/regular_file.hpp"
#include "urm/text/chat_template.hpp"
#include "urm/text/conversation.hpp"
#include "urm/text/tokenizer.hpp"
#include "urm/text/tokenizer_config.hpp"

namespace urm {

enum class BosPolicy : std::uint8_t {
  CardPipeline,  // encode(render(c), add_special_tokens=true): the model card's ids
  Single,        // encode(render(c), add_special_tokens=false): apply_chat_template's ids
};

// ConversationEncoder::Options (outside the class for GCC bug 88165, as TokenizerOptions).
// (No tokenizer options: split_special_tokens would also turn the special
// tokens the template writes, <|start_header_id|> etc., into plain text.)
struct ConversationEncoderOptions {
  BosPolicy bos_policy = BosPolicy::CardPipeline;
  std::string chat_template_name = {};  // empty: the default template (see TokenizerConfig::chat_template)
};

// Largest chat_template.jinja read (real ones are a few kB; tokenizer_config.json,
// which may hold the template instead, has the same cap).
inline constexpr std::uint64_t kChatTemplateFileMaxBytes = detail::kJsonFileMaxBytes;

class ConversationEncoder {
 public:
  using Options = ConversationEncoderOptions;

  ConversationEncoder(Tokenizer tokenizer, ChatTemplate chat_template, SpecialTokens special_tokens,
                      BosPolicy bos_policy = BosPolicy::CardPipeline)
      : tokenizer_(std::move(tokenizer)),
        chat_template_(std::move(chat_template)),
        special_tokens_(std::move(special_tokens)),
        bos_policy_(bos_policy) {}

  // A Hugging Face tokenizer folder: tokenizer.json and tokenizer_config.json.
  // A chat_template.jinja there replaces the config's template, as in
  // transformers' from_pretrained (newer checkpoints store it separately).
  static ConversationEncoder load(const std::string& tokenizer_dir, const Options& options = {}) {
    const std::filesystem::path dir(tokenizer_dir);
    TokenizerConfig config = TokenizerConfig::load((dir / "tokenizer_config.json").string());
    const std::filesystem::path jinja = dir / "chat_template.jinja";
    std::error_code ec;
    // Anything by that name must be a readable template: a directory or FIFO
    // there is an error, not a reason to fall back on the config's template.
    if (std::filesystem::exists(std::filesystem::symlink_status(jinja, ec))) {
      config.chat_templates = {{"default", read_regular_file(jinja.string(), kChatTemplateFileMaxBytes, "a chat template")}};
      config.chat_template_is_list = false;
      config.path = jinja.string();
      if (!options.chat_template_name.empty() && options.chat_template_name != "default")
        throw Error(jinja.string() + ": no chat template named '" + options.chat_template_name + "' (available: 'default')");
      return ConversationEncoder(Tokenizer::load((dir / "tokenizer.json").string()),
                                 ChatTemplate(config.chat_templates[0].source, jinja.string()),
                                 config.special_tokens, options.bos_policy);
    }
    return ConversationEncoder(Tokenizer::load((dir / "tokenizer.json").string()),
                               ChatTemplate::from_config(config, options.chat_template_name), config.special_tokens,
                               options.bos_policy);
  }

  // The text the ids encode: the chat template with add_generation_prompt=false.
  std::string render(const Conversation& conversation) const {
    return chat_template_.render(conversation, false, special_tokens_);
  }

  std::vector<std::int32_t> encode(const Conversation& conversation) const {
    return tokenizer_.encode(render(conversation), bos_policy_ == BosPolicy::CardPipeline);
  }

  const Tokenizer& tokenizer() const { return tokenizer_; }
  const ChatTemplate& chat_template() const { return chat_template_; }
  const SpecialTokens& special_tokens() const { return special_tokens_; }
  BosPolicy bos_policy() const { return bos_policy_; }

 private:
  Tokenizer tokenizer_;
  ChatTemplate chat_template_;
  SpecialTokens special_tokens_;
  BosPolicy bos_policy_;
};

}  // namespace urm
