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
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "urm/core/error.hpp"
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
};

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
    if (std::filesystem::is_regular_file(jinja, ec)) {
      std::ifstream in(jinja, std::ios::binary);
      std::ostringstream text;
      text << in.rdbuf();
      if (!in) throw Error(jinja.string() + ": cannot read");
      config.chat_templates = {{"default", text.str()}};
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
    std::string text = render(conversation);
    if (bos_policy_ == BosPolicy::StripTemplateBos && special_tokens_.bos_token &&
        text.starts_with(*special_tokens_.bos_token))
      text.erase(0, special_tokens_.bos_token->size());
    // render() checked every string it was given and joins only whole code
    // points: the text is valid UTF-8, checked once (there) on this path.
    return tokenizer_.encode(ValidUtf8{text}, bos_policy_ != BosPolicy::Single);
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
