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
// BosPolicy::StripTemplateBos removes the template's leading bos_token string
// first (Skywork-Reward-V2's card). See bos_policy.hpp; a reward model picks
// its family's policy (model_family.hpp).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "urm/core/error.hpp"
#include "urm/core/json.hpp"
#include "urm/core/regular_file.hpp"
#include "urm/text/bos_policy.hpp"
#include "urm/text/chat_template.hpp"
#include "urm/text/conversation.hpp"
#include "urm/text/tokenizer.hpp"
#include "urm/text/tokenizer_config.hpp"

namespace urm {

// ConversationEncoder::Options (outside the class for GCC bug 88165, as TokenizerOptions).
// (No tokenizer options: split_special_tokens would also turn the special
// tokens the template writes, <|start_header_id|> etc., into plain text.)
struct ConversationEncoderOptions {
  BosPolicy bos_policy = BosPolicy::CardPipeline;
  std::string chat_template_name = {};  // empty: the default template (see TokenizerConfig::chat_template)
  // "YYYY-MM-DD": the date a template's strftime_now() prints; empty: today
  // (then a template that prints the date gives scores that change with it).
  std::string date = {};
  // The most messages a conversation may have (0: no limit). The template
  // engine bounds its work (10M steps), which a conversation of about a
  // million messages reaches; this says so before rendering starts.
  std::size_t max_messages = 100'000;
};

// Largest chat_template.jinja read (real ones are a few kB; tokenizer_config.json,
// which may hold the template instead, has the same cap).
inline constexpr std::uint64_t kChatTemplateFileMaxBytes = detail::kJsonFileMaxBytes;

class ConversationEncoder {
 public:
  using Options = ConversationEncoderOptions;

  ConversationEncoder(Tokenizer tokenizer, ChatTemplate chat_template, SpecialTokens special_tokens,
                      BosPolicy bos_policy = BosPolicy::CardPipeline, RenderOptions render_options = {},
                      std::size_t max_messages = Options{}.max_messages)
      : tokenizer_(std::move(tokenizer)),
        chat_template_(std::move(chat_template)),
        special_tokens_(std::move(special_tokens)),
        bos_policy_(bos_policy),
        render_options_(std::move(render_options)),
        max_messages_(max_messages) {
    if (!render_options_.date.empty() && !detail::jinja::parse_date(render_options_.date))
      throw Error("date: expected a date YYYY-MM-DD, got \"" + render_options_.date + "\"");
  }

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
                                 config.special_tokens, options.bos_policy, RenderOptions{options.date},
                                 options.max_messages);
    }
    return ConversationEncoder(Tokenizer::load((dir / "tokenizer.json").string()),
                               ChatTemplate::from_config(config, options.chat_template_name), config.special_tokens,
                               options.bos_policy, RenderOptions{options.date}, options.max_messages);
  }

  // The text the ids encode: the chat template with add_generation_prompt=false.
  // A conversation too big to be tokenized (more than max_messages
  // messages, or more text than the tokenizer's max_input_bytes) is an
  // urm::Error saying so, before the template runs.
  std::string render(const Conversation& conversation) const {
    check_size(conversation);
    return chat_template_.render(conversation, false, special_tokens_, render_options_);
  }

  // An empty conversation is refused on purpose (there is nothing to score);
  // so is a conversation the template renders as no text at all (a template
  // that prints nothing for some roles, an undefined variable), which would
  // otherwise be scored as the post-processor's lone BOS. max_tokens > 0: an
  // urm::Error as soon as the ids are known to be more (see Tokenizer::encode).
  std::vector<std::int32_t> encode(const Conversation& conversation, std::size_t max_tokens = 0) const {
    const std::string text = render(conversation);
    if (text.empty())
      throw Error(chat_template_.name() + ": rendered this conversation as empty text; there is nothing to score");
    // render() checked every string it was given and joins only whole code
    // points: the text is valid UTF-8, checked once (there) on this path.
    return tokenizer_.encode(ValidUtf8{without_template_bos(text)}, bos_policy_ != BosPolicy::Single, max_tokens);
  }

  // The ids of a text already in the chat format (a rendered template, as a
  // policy decodes its output with special tokens kept), through the same
  // pipeline as encode: special-token text is parsed to its id, the
  // template's BOS string is dropped under BosPolicy::StripTemplateBos, and
  // the post-processor adds its tokens unless the policy is Single. The text
  // is checked to be valid UTF-8.
  std::vector<std::int32_t> encode_rendered(std::string_view text, std::size_t max_tokens = 0) const {
    return tokenizer_.encode(without_template_bos(text), bos_policy_ != BosPolicy::Single, max_tokens);
  }

  const Tokenizer& tokenizer() const { return tokenizer_; }
  const ChatTemplate& chat_template() const { return chat_template_; }
  const SpecialTokens& special_tokens() const { return special_tokens_; }
  BosPolicy bos_policy() const { return bos_policy_; }
  const RenderOptions& render_options() const { return render_options_; }

 private:
  std::string_view without_template_bos(std::string_view text) const {
    if (bos_policy_ == BosPolicy::StripTemplateBos && special_tokens_.bos_token &&
        text.starts_with(*special_tokens_.bos_token))
      text.remove_prefix(special_tokens_.bos_token->size());
    return text;
  }

  void check_size(const Conversation& conversation) const {
    if (max_messages_ != 0 && conversation.size() > max_messages_)
      throw Error("the conversation has " + std::to_string(conversation.size()) + " messages, more than the " +
                  std::to_string(max_messages_) + " of ConversationEncoder::Options::max_messages");
    const std::size_t limit = tokenizer_.options().max_input_bytes;
    std::size_t bytes = 0;
    for (std::size_t i = 0; i < conversation.size(); ++i) {
      bytes += conversation[i].content.size() + conversation[i].role.size();
      if (limit != 0 && bytes > limit)
        throw Error("the conversation's text is more than the tokenizer's limit of " + std::to_string(limit) +
                    " bytes (Tokenizer::Options::max_input_bytes) by message " + std::to_string(i) + " (of " +
                    std::to_string(conversation[i].content.size()) + " bytes)");
    }
  }

  Tokenizer tokenizer_;
  ChatTemplate chat_template_;
  SpecialTokens special_tokens_;
  BosPolicy bos_policy_;
  RenderOptions render_options_;
  std::size_t max_messages_;
};

}  // namespace urm
