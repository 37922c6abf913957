// BosPolicy — how a rendered conversation becomes token ids, i.e. how many
// beginning-of-sequence tokens it starts with. Reward-model cards differ:
//
//   CardPipeline      text = apply_chat_template(m, tokenize=False)
//                     ids  = tokenizer(text)                 (add_special_tokens=True)
//                     The URM-LLaMa-3 cards: a template that writes
//                     <|begin_of_text|> and a post-processor that prepends one
//                     more give TWO; the published URM scores used them.
//   Single            ids  = apply_chat_template(m, tokenize=True)
//                     (the text encoded without the post-processor's tokens:
//                     the one BOS is the template's; ArmoRM, INF-ORM cards).
//   StripTemplateBos  text = apply_chat_template(m, tokenize=False), one leading
//                     bos_token string removed, then ids = tokenizer(text)
//                     (Skywork-Reward-V2 and FsfairX cards: the one BOS is the
//                     post-processor's; a tokenizer without a bos_token, such
//                     as Qwen3's, strips nothing).
#pragma once

#include <cstdint>

namespace urm {

enum class BosPolicy : std::uint8_t {
  CardPipeline,      // encode(render(c), add_special_tokens=true)
  Single,            // encode(render(c), add_special_tokens=false)
  StripTemplateBos,  // encode(render(c) without its leading bos_token, add_special_tokens=true)
};

}  // namespace urm
