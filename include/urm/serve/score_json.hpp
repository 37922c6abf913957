// score_json — the JSON Lines records of urm-score: one input per line in,
// one result per line out. Shared by every program that reads or writes this
// format (urm-score, examples/mpi_score), so their outputs are byte-identical.
//
// Input line:  {"messages": [{"role": …, "content": …, …}, …], "tools": […], "documents": […],
//               "chat_template_kwargs": {…}},  {"input_ids": [...]}
//              or  {"text": "…"} (a string already in the chat format: see text_ids)
//              (parsed by parse_score_input, serve/score_input.hpp)
// Output line: {"reward": r, "reward_variance": v,
//               "attributes": [{"name", "mean", "log_std"}, …], "weights": [...], "n_tokens": n}
//              (heads without uncertainty, Score::has_uncertainty false: no "log_std")
//              (+ "reward_samples": [...] when samples are asked for: add_reward_samples)
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

// The ids of a text already in the chat format (the string a chat template
// rendered, as a policy's decoded output with special tokens kept): the
// model's token pipeline for a rendered template (ConversationEncoder::
// encode_rendered) — special-token text such as <|start_header_id|> is parsed
// to its id, and the post-processor adds what it adds (for URM-LLaMa-3-8B one
// more <|begin_of_text|>, the card's pipeline). With BosPolicy::Single
// (--single-bos) it adds nothing, so the text's own <|begin_of_text|> is the
// only one.
inline std::vector<std::int32_t> text_ids(const RewardModel& rm, std::string_view text) {
  const ConversationEncoder* enc = rm.encoder();
  if (!enc)
    throw Error(rm.checkpoint().dir() +
                ": no tokenizer.json in the model folder (scoring a text needs tokenizer.json and "
                "tokenizer_config.json: give a tokenizer folder)");
  return enc->encode_rendered(text);
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

// Adds "reward_samples": n draws of Σ_i w_i (mean_i + eps_i σ_i) from
// std::mt19937_64(seed) (Score::sample_rewards). urm-score and urm-serve give
// the k-th input of a file or request the seed `seed + k`, so the same inputs
// and seed give the same samples in both.
inline void add_reward_samples(nlohmann::ordered_json& out, const Score& s, std::size_t n, std::uint64_t seed) {
  out["reward_samples"] = s.sample_rewards(n, seed);
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

// How score_line answers: the ids read (emit_ids), and `samples` seeded
// reward draws (add_reward_samples with `seed`).
struct LineOptions {
  bool emit_ids = false;
  std::size_t samples = 0;
  std::uint64_t seed = 0;
};

// Scores input line `line_no` (counted from 1) with `scorer` (the model
// itself, or a CachedScorer over it: anything with score_ids(ids)): its
// result object (score_to_json, plus what `options` asks for), or line_error.
// Every exception becomes that line's error, urm::Error as well as
// std::bad_alloc from an input too large for memory, so one line never ends a batch.
template <class Scorer>
LineResult score_line(const RewardModel& rm, const Scorer& scorer, std::string_view line, std::size_t line_no,
                      const LineOptions& options) {
  LineResult r;
  try {
    const ScoreInput input = parse_score_input(line);
    const std::vector<std::int32_t> ids = score_input_ids(rm, input);
    const Score s = scorer.score_ids(ids);
    r.json = score_to_json(s);
    if (options.samples) add_reward_samples(r.json, s, options.samples, options.seed);
    // The ids the model read (the end of the input if it was truncated).
    if (options.emit_ids)
      r.json["input_ids"] = std::vector<std::int32_t>(ids.end() - static_cast<std::ptrdiff_t>(s.n_tokens), ids.end());
    r.n_tokens = s.n_tokens;
    r.ok = true;
  } catch (...) {
    r = {line_error(line_no, current_exception_message()), 0, false};
  }
  return r;
}

inline LineResult score_line(const RewardModel& rm, std::string_view line, std::size_t line_no, bool emit_ids) {
  return score_line(rm, rm, line, line_no, LineOptions{.emit_ids = emit_ids});
}

// One output line (no newline): invalid UTF-8 in strings is replaced, never an error.
inline std::string json_line(const nlohmann::ordered_json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace urm
