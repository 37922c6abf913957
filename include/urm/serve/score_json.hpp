// score_json — the JSON Lines records of urm-score: one input per line in,
// one result per line out. Shared by every program that reads or writes this
// format (urm-score, examples/mpi_score), so their outputs are byte-identical.
//
// Input line:  {"messages": [{"role": …, "content": …, …}, …], "tools": […], "documents": […],
//               "chat_template_kwargs": {…}} (text/conversation_json.hpp)  or  {"input_ids": [...]}
// Output line: {"reward": r, "reward_variance": v,
//               "attributes": [{"name", "mean", "log_std"}, …], "weights": [...], "n_tokens": n}
//              (heads without uncertainty, Score::has_uncertainty false: no "log_std")
//          or  {"error": "line N: …"} for a line that could not be scored.
#pragma once

#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "urm/core/error.hpp"
#include "urm/model/reward_model.hpp"
#include "urm/model/score.hpp"
#include "urm/text/conversation.hpp"
#include "urm/text/conversation_json.hpp"

namespace urm {

// A line's input: a conversation or token ids.
struct ScoreInput {
  std::optional<Conversation> conversation;
  std::vector<std::int32_t> ids;  // when there is no conversation
};

// Throws urm::Error naming the JSON path at fault.
inline ScoreInput parse_score_input(const std::string& line) {
  nlohmann::ordered_json j;
  try {
    j = nlohmann::ordered_json::parse(line);
  } catch (const nlohmann::json::parse_error& e) {
    throw Error(std::string("invalid JSON: ") + e.what());
  }
  const bool has_messages = j.is_object() && j.contains("messages");
  const bool has_ids = j.is_object() && j.contains("input_ids");
  if (has_messages == has_ids) throw Error("expected a JSON object with either \"messages\" or \"input_ids\"");
  ScoreInput in;
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
  Conversation conv = conversation_from_json(j);
  in.conversation = std::move(conv);
  return in;
}

// The ids the model is given for an input: the conversation tokenized, or the ids as they are.
inline std::vector<std::int32_t> score_input_ids(const RewardModel& rm, const ScoreInput& in) {
  return in.conversation ? rm.tokenize(*in.conversation) : in.ids;
}

// Keys in the documented order (ordered_json keeps insertion order). Floats
// are widened to double, as Python's float(tensor.item()) prints them.
inline nlohmann::ordered_json score_to_json(const Score& s) {
  nlohmann::ordered_json attrs = nlohmann::ordered_json::array();
  for (const auto& a : s.attributes) {
    nlohmann::ordered_json attr = {{"name", a.name}, {"mean", a.mean}};
    if (s.has_uncertainty) attr["log_std"] = a.log_std;
    attrs.push_back(std::move(attr));
  }
  nlohmann::ordered_json out = nlohmann::ordered_json::object();
  out["reward"] = s.reward;
  out["reward_variance"] = s.reward_variance;
  out["attributes"] = std::move(attrs);
  out["weights"] = s.weights;
  out["n_tokens"] = s.n_tokens;
  return out;
}

// One output line (no newline): invalid UTF-8 in strings is replaced, never an error.
inline std::string json_line(const nlohmann::ordered_json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace urm
