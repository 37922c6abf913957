// score_json — the JSON Lines records of urm-score: one input per line in,
// one result per line out. Shared by every program that reads or writes this
// format (urm-score, examples/mpi_score), so their outputs are byte-identical.
//
// Input line:  {"messages": [{"role": …, "content": …}, …]},  {"input_ids": [...]}
//              or  {"text": "…"} (a string already in the chat format: see text_ids)
// Output line: {"reward": r, "reward_variance": v,
//               "attributes": [{"name", "mean", "log_std"}, …], "weights": [...], "n_tokens": n}
//              (+ "reward_samples": [...] when samples are asked for: add_reward_samples)
//          or  {"error": "line N: …"} for a line that could not be scored.
#pragma once

#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "urm/core/error.hpp"
#include "urm/model/reward_model.hpp"
#include "urm/model/score.hpp"
#include "urm/text/conversation.hpp"

namespace urm {

// A line's input: a conversation, a text or token ids.
struct ScoreInput {
  std::optional<Conversation> conversation;
  std::vector<std::int32_t> ids;  // when there is no conversation and no text
  std::optional<std::string> text;
};

// Throws urm::Error naming the JSON path at fault.
inline ScoreInput parse_score_input(const std::string& line) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(line);
  } catch (const nlohmann::json::parse_error& e) {
    throw Error(std::string("invalid JSON: ") + e.what());
  }
  const bool has_messages = j.is_object() && j.contains("messages");
  const bool has_ids = j.is_object() && j.contains("input_ids");
  const bool has_text = j.is_object() && j.contains("text");
  if (int{has_messages} + int{has_ids} + int{has_text} != 1)
    throw Error("expected a JSON object with one of \"messages\", \"input_ids\" or \"text\"");
  ScoreInput in;
  if (has_text) {
    if (!j["text"].is_string()) throw Error("text: expected a string, got " + j["text"].dump());
    in.text = j["text"].get<std::string>();
    return in;
  }
  if (has_ids) {
    const auto& ids = j["input_ids"];
    if (!ids.is_array()) throw Error("input_ids: expected an array of token ids, got " + ids.dump());
    for (std::size_t i = 0; i < ids.size(); ++i) {
      const auto& v = ids[i];
      const bool ok = v.is_number_integer() && (v.is_number_unsigned()
                                                    ? v.get<std::uint64_t>() <= std::numeric_limits<std::int32_t>::max()
                                                    : v.get<std::int64_t>() >= std::numeric_limits<std::int32_t>::min() &&
                                                          v.get<std::int64_t>() <= std::numeric_limits<std::int32_t>::max());
      if (!ok) throw Error("input_ids[" + std::to_string(i) + "]: expected a 32-bit integer, got " + v.dump());
      in.ids.push_back(v.get<std::int32_t>());
    }
    return in;
  }
  const auto& msgs = j["messages"];
  if (!msgs.is_array()) throw Error("messages: expected an array of {\"role\", \"content\"} objects");
  Conversation conv;
  for (std::size_t i = 0; i < msgs.size(); ++i) {
    const std::string at = "messages[" + std::to_string(i) + "]";
    const auto& m = msgs[i];
    if (!m.is_object()) throw Error(at + ": expected an object with \"role\" and \"content\", got " + m.dump());
    for (const char* key : {"role", "content"})
      if (!m.contains(key) || !m[key].is_string())
        throw Error(at + "." + key + ": expected a string" +
                    (m.contains(key) ? ", got " + m[key].dump() : std::string(", missing")));
    conv.push_back({m["role"].get<std::string>(), m["content"].get<std::string>()});
  }
  in.conversation = std::move(conv);
  return in;
}

// The ids of a text already in the chat format (the string a chat template
// rendered, as a policy's decoded output with special tokens kept): the
// model card's pipeline for a templated string, tokenizer(text) — special-token
// text such as <|start_header_id|> is parsed to its id, and the post-processor
// adds what it adds (for URM-LLaMa-3-8B one more <|begin_of_text|>). With
// BosPolicy::Single (--single-bos) the post-processor adds nothing, so the
// text's own <|begin_of_text|> is the only one.
inline std::vector<std::int32_t> text_ids(const RewardModel& rm, std::string_view text) {
  const ConversationEncoder* enc = rm.encoder();
  if (!enc)
    throw Error(rm.checkpoint().dir() +
                ": no tokenizer.json in the model folder (scoring a text needs tokenizer.json and "
                "tokenizer_config.json: give a tokenizer folder)");
  return enc->tokenizer().encode(text, enc->bos_policy() == BosPolicy::CardPipeline);
}

// The ids the model is given for an input: the conversation or the text
// tokenized, or the ids as they are.
inline std::vector<std::int32_t> score_input_ids(const RewardModel& rm, const ScoreInput& in) {
  if (in.text) return text_ids(rm, *in.text);
  return in.conversation ? rm.tokenize(*in.conversation) : in.ids;
}

// Keys in the documented order (ordered_json keeps insertion order). Floats
// are widened to double, as Python's float(tensor.item()) prints them.
inline nlohmann::ordered_json score_to_json(const Score& s) {
  nlohmann::ordered_json attrs = nlohmann::ordered_json::array();
  for (const auto& a : s.attributes) attrs.push_back({{"name", a.name}, {"mean", a.mean}, {"log_std", a.log_std}});
  nlohmann::ordered_json out = nlohmann::ordered_json::object();
  out["reward"] = s.reward;
  out["reward_variance"] = s.reward_variance;
  out["attributes"] = std::move(attrs);
  out["weights"] = s.weights;
  out["n_tokens"] = s.n_tokens;
  return out;
}

// Adds "reward_samples": n draws of Σ_i w_i (mean_i + eps_i σ_i) from
// std::mt19937_64(seed) (Score::sample_rewards). urm-score and urm-serve give
// the k-th input of a file or request the seed `seed + k`, so the same inputs
// and seed give the same samples in both.
inline void add_reward_samples(nlohmann::ordered_json& out, const Score& s, std::size_t n, std::uint64_t seed) {
  out["reward_samples"] = s.sample_rewards(n, seed);
}

// One output line (no newline): invalid UTF-8 in strings is replaced, never an error.
inline std::string json_line(const nlohmann::ordered_json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace urm
