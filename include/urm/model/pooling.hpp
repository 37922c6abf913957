// Pooling — which position of an input a sequence-classification head reads.
//
// A reward model's head reads the final-norm hidden state of one token. Which
// one is a rule of the model's code, and the rules differ where the input
// holds the pad id:
//
//   Last            the last token (URM's heads: conversations are scored
//                   unpadded, so this is their "last non-pad token");
//   LastNonPad      transformers 5.x GenericForSequenceClassification: the
//                   rightmost position whose id != pad_token_id, position 0
//                   if every id is the pad id, the last one if the config has
//                   no pad id (Skywork-Reward-V2, FsfairX: LlamaForSequence-
//                   Classification, Qwen3ForSequenceClassification);
//   BeforeFirstPad  the older rule that remote code copied: (the first
//                   position whose id == pad_token_id) − 1, modulo the length,
//                   so the last position when no id is the pad id or the
//                   config has none (INF-ORM, ArmoRM).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace urm {

enum class Pooling : std::uint8_t { Last, LastNonPad, BeforeFirstPad };

inline std::string_view to_string(Pooling p) {
  switch (p) {
    case Pooling::Last: return "last token";
    case Pooling::LastNonPad: return "last non-pad token";
    case Pooling::BeforeFirstPad: return "token before the first pad";
  }
  return "?";
}

// The position `rule` reads in ids (not empty).
inline std::size_t pooled_position(Pooling rule, std::span<const std::int32_t> ids, std::optional<std::int64_t> pad) {
  const std::size_t n = ids.size(), last = n - 1;
  if (rule == Pooling::Last || !pad) return last;
  if (rule == Pooling::LastNonPad) {
    for (std::size_t t = n; t-- > 0;)
      if (ids[t] != *pad) return t;
    return 0;
  }
  // argmax(ids == pad) − 1, modulo n: argmax of an all-false mask is 0.
  for (std::size_t t = 0; t < n; ++t)
    if (ids[t] == *pad) return t == 0 ? last : t - 1;
  return last;
}

}  // namespace urm
