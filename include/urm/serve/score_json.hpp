// score_json — the JSON Lines records of urm-score: one input per line in,
// one result per line out. Shared by every program that reads or writes this
// format (urm-score, examples/mpi_score), so their outputs are byte-identical.
//
// Input line:  {"messages": [{"role": …, "content": …, …}, …], "tools": […], "documents": […],
//               "chat_template_kwargs": {…}}  or  {"input_ids": [...]}
//              (parsed by parse_score_input, serve/score_input.hpp)
// Output line: {"reward": r, "reward_variance": v,
//               "attributes": [{"name", "mean", "log_std"}, …], "weights": [...], "n_tokens": n}
//          or  {"error": "line N: …"} for a line that could not be scored.
#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "urm/core/error.hpp"
#include "urm/model/reward_model.hpp"
#include "urm/model/score.hpp"
#include "urm/serve/score_input.hpp"
#include "urm/text/conversation.hpp"

namespace urm {

// The ids the model is given for an input: the conversation tokenized, or the ids as they are.
inline std::vector<std::int32_t> score_input_ids(const RewardModel& rm, const ScoreInput& in) {
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

// {"error": "line N: <message>"}.
inline nlohmann::ordered_json line_error(std::size_t line_no, const std::string& message) {
  return {{"error", "line " + std::to_string(line_no) + ": " + message}};
}

// What one input line becomes.
struct LineResult {
  nlohmann::ordered_json json;  // the result object or {"error": …}
  std::size_t n_tokens = 0;     // tokens scored (0 for an error)
  bool ok = false;
};

// Scores input line `line_no` (counted from 1): its result object
// (score_to_json, plus the ids read with `emit_ids`), or line_error. Every
// exception becomes that line's error, urm::Error as well as std::bad_alloc
// from an input too large for memory, so one line never ends a batch.
inline LineResult score_line(const RewardModel& rm, std::string_view line, std::size_t line_no, bool emit_ids) {
  LineResult r;
  try {
    const ScoreInput input = parse_score_input(line);
    const std::vector<std::int32_t> ids = score_input_ids(rm, input);
    const Score s = rm.score_ids(ids);
    r.json = score_to_json(s);
    // The ids the model read (the end of the input if it was truncated).
    if (emit_ids) r.json["input_ids"] = std::vector<std::int32_t>(ids.end() - static_cast<std::ptrdiff_t>(s.n_tokens), ids.end());
    r.n_tokens = s.n_tokens;
    r.ok = true;
  } catch (...) {
    r = {line_error(line_no, current_exception_message()), 0, false};
  }
  return r;
}

// One output line (no newline): invalid UTF-8 in strings is replaced, never an error.
inline std::string json_line(const nlohmann::ordered_json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace urm
