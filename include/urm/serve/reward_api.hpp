// reward_api — the request and response JSON of the HTTP APIs that RL
// frameworks call a reward model through, and urm.cpp's own. No HTTP here:
// parse a body into inputs, tokenize them, and turn the scores back into the
// body the caller's client reads (http_server.hpp does the transport).
//
// Each shape is the peer's, field for field (sources read to match them):
//
// OpenRLHF  POST /get_reward  (openrlhf/utils/remote_rm_utils.py: remote_rm_fn /
//   request_api_wrapper POST {"query", "prompts", "labels"}; the experience maker
//   reads "rewards", and "scores" and "extra_logs" when present, concatenating each
//   extra_logs value across servers, so every value is a list with one entry per query)
//   in:  {"query": [str], "prompts": [str] (optional, unused), "labels": [...] (optional, unused)}
//   out: {"rewards": [r], "scores": [r], "extra_logs": {"<attribute>_mean": [...],
//         "<attribute>_log_std": [...], "reward_std": [...]}}   (extra_logs is {} for a scalar head)
//
// vLLM  POST /classify  (vllm/entrypoints/pooling/classify/protocol.py:
//   ClassificationCompletionRequest / ClassificationChatRequest, ClassificationData,
//   ClassificationResponse; vllm/config/pooler.py get_use_activation: the older names
//   "softmax" and "activation" win over "use_activation" when not null, and null means true)
//   in:  {"model": str, "input": str | [str] | [int] | [[int]]}  or  {"model", "messages": [...]}
//        (+ "use_activation" / "activation" / "softmax": bool, "add_special_tokens": bool)
//   out: {"id": "classify-…", "object": "list", "created", "model",
//         "data": [{"index", "label": "reward", "probs": [p], "num_classes": 1}],
//         "usage": {"prompt_tokens", "total_tokens", "completion_tokens": 0, "prompt_tokens_details": null}}
//   p = sigmoid(reward) with activation (vLLM's default for a one-label classifier),
//   the raw reward without it. verl's reward loop sends "activation"/"use_activation":
//   false and reads data[-1].probs[-1].
//
// vLLM  POST /pooling  (vllm/entrypoints/pooling/pooling/protocol.py: PoolingResponse)
//   in:  as /classify, + "task": "classify" (the only task a reward model has here)
//   out: {"id": "pool-…", "object": "list", "created", "model",
//         "data": [{"index", "object": "pooling", "data": [p]}], "usage"}
//
// SGLang  POST /v1/embeddings  (verl's reward loop for sglang reads data[-1].embedding[-1])
//   in:  {"model": str, "input": str | [str] | [int] | [[int]]}
//   out: {"object": "list", "data": [{"object": "embedding", "embedding": [r], "index"}],
//         "model", "usage": {"prompt_tokens", "total_tokens"}}
// SGLang  POST /classify with "text"  (python/sglang/srt/entrypoints/http_server.py
//   classify_request: EmbeddingReqInput; its reward-model docs read embedding[0])
//   in:  {"model": str, "text": str | [str]}
//   out: [{"embedding": [r], "meta_info": {"id", "prompt_tokens"}}, …] (one object for a string)
//
// urm.cpp  POST /v1/score
//   in:  {"inputs": [{"messages": [...]} | {"text": str} | {"input_ids": [...]}, …],
//         "samples": n (optional), "seed": s (optional)}
//   out: {"model", "results": [what urm-score prints for each input: reward, reward_variance,
//         attributes, weights, n_tokens (+ reward_samples: input k draws with seed s + k)],
//         "usage": {"prompt_tokens", "total_tokens"}}
//
// Texts ("query", "input", "text") are scored as the model card scores a
// templated string (score_json.hpp text_ids): special-token text is parsed,
// the post-processor adds its tokens (a second <|begin_of_text|> for
// URM-LLaMa-3-8B), --single-bos leaves them out, and "add_special_tokens"
// (vLLM's field) sets it per request. The "model" field is accepted whatever
// it names (frameworks send their own model path) and answered with the
// served name. Unknown fields are ignored, as the peers ignore them.
#pragma once

#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "urm/core/error.hpp"
#include "urm/model/reward_model.hpp"
#include "urm/model/score.hpp"
#include "urm/serve/score_json.hpp"

namespace urm {

// The request shapes above.
enum class ApiShape {
  OpenRlhfReward,    // POST /get_reward
  VllmClassify,      // POST /classify with "input" or "messages"
  VllmPooling,       // POST /pooling
  SglangEmbeddings,  // POST /v1/embeddings
  SglangClassify,    // POST /classify with "text"
  NativeScore,       // POST /v1/score
};

// Which endpoint a body was posted to (/classify is two shapes, told apart by its fields).
enum class ApiEndpoint { GetReward, Classify, Pooling, Embeddings, Score };

struct ApiInput {
  std::string where;  // the field it came from, for errors: "query[3]", "input", "messages"
  ScoreInput input;
};

struct ApiRequest {
  ApiShape shape = ApiShape::NativeScore;
  std::vector<ApiInput> inputs;
  bool use_activation = true;              // vLLM shapes: sigmoid(reward) or the raw reward
  std::optional<bool> add_special_tokens;  // texts: override the server's BOS policy
  bool single = false;                     // SGLang "text": str (answered with one object)
  std::size_t samples = 0;                 // native: reward samples per input
  std::uint64_t seed = 0;
};

// The label of the one class a reward model's /classify answer has.
inline constexpr const char* kRewardLabel = "reward";
inline constexpr std::size_t kMaxRewardSamples = 100'000;

namespace api_detail {

inline std::string type_name(const nlohmann::json& v) {
  if (v.is_null()) return "null";
  if (v.is_boolean()) return "a boolean";
  if (v.is_number()) return "a number";
  if (v.is_string()) return "a string";
  if (v.is_array()) return "an array";
  return "an object";
}

[[noreturn]] inline void wrong_type(const std::string& field, const std::string& expected, const nlohmann::json& v) {
  throw Error(field + ": expected " + expected + ", got " + type_name(v));
}

// A field that may be absent or null (then nullopt), else a boolean.
inline std::optional<bool> optional_bool(const nlohmann::json& body, const char* key) {
  if (!body.contains(key) || body[key].is_null()) return std::nullopt;
  if (!body[key].is_boolean()) wrong_type(key, "a boolean", body[key]);
  return body[key].get<bool>();
}

inline void optional_string(const nlohmann::json& body, const char* key) {
  if (body.contains(key) && !body[key].is_null() && !body[key].is_string()) wrong_type(key, "a string", body[key]);
}

inline std::uint64_t optional_count(const nlohmann::json& body, const char* key, std::uint64_t max) {
  if (!body.contains(key) || body[key].is_null()) return 0;
  const auto& v = body[key];
  if (!v.is_number_integer() || (!v.is_number_unsigned() && v.get<std::int64_t>() < 0))
    wrong_type(key, "a non-negative integer", v);
  const auto n = v.get<std::uint64_t>();
  if (n > max) throw Error(std::string(key) + ": " + std::to_string(n) + " is more than the maximum of " + std::to_string(max));
  return n;
}

inline bool is_token_id(const nlohmann::json& v) {
  return v.is_number_integer() &&
         (v.is_number_unsigned() ? v.get<std::uint64_t>() <= std::numeric_limits<std::int32_t>::max()
                                 : v.get<std::int64_t>() >= std::numeric_limits<std::int32_t>::min() &&
                                       v.get<std::int64_t>() <= std::numeric_limits<std::int32_t>::max());
}

inline ScoreInput text_input(std::string text) {
  ScoreInput in;
  in.text = std::move(text);
  return in;
}

inline std::vector<std::int32_t> ids_of(const nlohmann::json& a, const std::string& field) {
  std::vector<std::int32_t> ids;
  ids.reserve(a.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (!is_token_id(a[i])) wrong_type(field + "[" + std::to_string(i) + "]", "a 32-bit integer token id", a[i]);
    ids.push_back(a[i].get<std::int32_t>());
  }
  return ids;
}

// vLLM's and SGLang's "input": a string, strings, token ids, or lists of token ids.
inline std::vector<ApiInput> prompt_inputs(const nlohmann::json& v, const std::string& field) {
  std::vector<ApiInput> out;
  if (v.is_string()) {
    out.push_back({field, text_input(v.get<std::string>())});
    return out;
  }
  if (!v.is_array()) wrong_type(field, "a string or an array", v);
  if (!v.empty() && v[0].is_number()) {  // one input as token ids
    ScoreInput in;
    in.ids = ids_of(v, field);
    out.push_back({field, std::move(in)});
    return out;
  }
  for (std::size_t i = 0; i < v.size(); ++i) {
    const std::string at = field + "[" + std::to_string(i) + "]";
    if (v[i].is_string()) {
      out.push_back({at, text_input(v[i].get<std::string>())});
    } else if (v[i].is_array()) {
      ScoreInput in;
      in.ids = ids_of(v[i], at);
      out.push_back({at, std::move(in)});
    } else {
      wrong_type(at, "a string or an array of token ids", v[i]);
    }
  }
  return out;
}

// A chat ("messages", with the request's "tools", "documents" and
// "chat_template_kwargs" as vLLM's chat requests carry them) as one input,
// parsed as urm-score parses one line.
inline ApiInput messages_input(const nlohmann::json& body) {
  nlohmann::json chat = {{"messages", body["messages"]}};
  for (const char* key : {"tools", "documents", "chat_template_kwargs"})
    if (body.contains(key)) chat[key] = body[key];
  return {"messages", parse_score_input(chat.dump())};
}

// vLLM's get_use_activation: the older names win when not null; all null means true.
inline bool use_activation(const nlohmann::json& body) {
  for (const char* key : {"softmax", "activation", "use_activation"})
    if (const auto v = optional_bool(body, key)) return *v;
  return true;
}

// Of "input" and "messages", exactly one.
inline void vllm_inputs(const nlohmann::json& body, ApiRequest& r) {
  const bool has_input = body.contains("input"), has_messages = body.contains("messages");
  if (has_input == has_messages)
    throw Error(has_input ? "give one of \"input\" and \"messages\", not both" : "input: missing (or give \"messages\")");
  if (has_input) r.inputs = prompt_inputs(body["input"], "input");
  else r.inputs.push_back(messages_input(body));
  r.use_activation = use_activation(body);
  r.add_special_tokens = optional_bool(body, "add_special_tokens");
}

inline nlohmann::ordered_json usage(const std::vector<Score>& scores, bool completion_fields) {
  std::size_t n = 0;
  for (const Score& s : scores) n += s.n_tokens;
  nlohmann::ordered_json u = {{"prompt_tokens", n}, {"total_tokens", n}};
  if (completion_fields) {
    u["completion_tokens"] = 0;
    u["prompt_tokens_details"] = nullptr;
  }
  return u;
}

inline float sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }

}  // namespace api_detail

// Parses a request body. Throws urm::Error naming the field at fault (the
// server answers 400 with it).
inline ApiRequest parse_api_request(ApiEndpoint endpoint, std::string_view body_text) {
  using namespace api_detail;
  nlohmann::json body;
  try {
    body = nlohmann::json::parse(body_text);
  } catch (const nlohmann::json::parse_error& e) {
    throw Error(std::string("invalid JSON: ") + e.what());
  }
  if (!body.is_object()) throw Error("expected a JSON object, got " + type_name(body));
  optional_string(body, "model");
  ApiRequest r;
  switch (endpoint) {
    case ApiEndpoint::GetReward: {
      r.shape = ApiShape::OpenRlhfReward;
      if (!body.contains("query")) throw Error("query: missing");
      const auto& q = body["query"];
      if (!q.is_array()) wrong_type("query", "an array of strings", q);
      for (std::size_t i = 0; i < q.size(); ++i) {
        const std::string at = "query[" + std::to_string(i) + "]";
        if (!q[i].is_string()) wrong_type(at, "a string", q[i]);
        r.inputs.push_back({at, text_input(q[i].get<std::string>())});
      }
      // Unused, but a malformed one is a sign of a client bug worth reporting.
      for (const char* key : {"prompts", "labels"}) {
        if (!body.contains(key) || body[key].is_null()) continue;
        if (!body[key].is_array()) wrong_type(key, "an array", body[key]);
        if (body[key].size() != q.size())
          throw Error(std::string(key) + ": " + std::to_string(body[key].size()) + " entries, but query has " +
                      std::to_string(q.size()));
      }
      break;
    }
    case ApiEndpoint::Classify:
      if (body.contains("text")) {  // SGLang's reward-model endpoint
        r.shape = ApiShape::SglangClassify;
        const auto& t = body["text"];
        if (t.is_string()) {
          r.single = true;
          r.inputs.push_back({"text", text_input(t.get<std::string>())});
        } else if (t.is_array()) {
          for (std::size_t i = 0; i < t.size(); ++i) {
            const std::string at = "text[" + std::to_string(i) + "]";
            if (!t[i].is_string()) wrong_type(at, "a string", t[i]);
            r.inputs.push_back({at, text_input(t[i].get<std::string>())});
          }
        } else {
          wrong_type("text", "a string or an array of strings", t);
        }
      } else {
        r.shape = ApiShape::VllmClassify;
        vllm_inputs(body, r);
      }
      break;
    case ApiEndpoint::Pooling:
      r.shape = ApiShape::VllmPooling;
      if (body.contains("task") && !body["task"].is_null()) {
        if (!body["task"].is_string()) wrong_type("task", "a string", body["task"]);
        if (body["task"] != "classify")
          throw Error("task: \"" + body["task"].get<std::string>() +
                      "\" is not supported: a reward model answers task \"classify\"");
      }
      vllm_inputs(body, r);
      break;
    case ApiEndpoint::Embeddings:
      r.shape = ApiShape::SglangEmbeddings;
      if (!body.contains("input")) throw Error("input: missing");
      r.inputs = prompt_inputs(body["input"], "input");
      break;
    case ApiEndpoint::Score: {
      r.shape = ApiShape::NativeScore;
      if (!body.contains("inputs")) throw Error("inputs: missing");
      const auto& xs = body["inputs"];
      if (!xs.is_array()) wrong_type("inputs", "an array", xs);
      for (std::size_t i = 0; i < xs.size(); ++i) {
        const std::string at = "inputs[" + std::to_string(i) + "]";
        try {
          r.inputs.push_back({at, parse_score_input(xs[i].dump())});
        } catch (const Error& e) {
          throw Error(at + ": " + e.what());
        }
      }
      r.samples = optional_count(body, "samples", kMaxRewardSamples);
      r.seed = optional_count(body, "seed", std::numeric_limits<std::uint64_t>::max());
      break;
    }
  }
  return r;
}

// The ids each input is scored with: tokenized, checked and (with left
// truncation) cut to the model's maximum. Throws urm::Error naming the input
// ("query[3]: …") for one that cannot be scored.
inline std::vector<std::vector<std::int32_t>> api_input_ids(const RewardModel& rm, const ApiRequest& r) {
  std::vector<std::vector<std::int32_t>> out;
  out.reserve(r.inputs.size());
  for (const ApiInput& in : r.inputs) {
    try {
      std::vector<std::int32_t> ids;
      if (in.input.text && r.add_special_tokens) {
        if (!rm.encoder()) (void)text_ids(rm, *in.input.text);  // its error: there is no tokenizer
        ids = rm.encoder()->tokenizer().encode(*in.input.text, *r.add_special_tokens);
      } else {
        ids = score_input_ids(rm, in.input);
      }
      if (ids.size() > rm.max_tokens() && rm.options().truncation == Truncation::Error)
        throw Error(std::to_string(ids.size()) + " tokens, more than the maximum of " + std::to_string(rm.max_tokens()) +
                    " (start urm-serve with --truncate-left to keep the last " + std::to_string(rm.max_tokens()) + ")");
      const std::span<const std::int32_t> kept = rm.scored_ids(ids);
      // Out-of-range ids are the request's fault (400), found before scoring.
      const std::int64_t vocab = rm.config().vocab_size;
      for (std::size_t i = 0; i < kept.size(); ++i)
        if (kept[i] < 0 || kept[i] >= vocab)
          throw Error("token id " + std::to_string(kept[i]) + " at position " + std::to_string(i) +
                      " is out of range [0, " + std::to_string(vocab) + ")");
      out.emplace_back(kept.begin(), kept.end());
    } catch (const Error& e) {
      throw Error(in.where + ": " + e.what());
    }
  }
  return out;
}

// What a response carries besides the scores.
struct ApiResponseInfo {
  std::string id;         // "classify-…", "pool-…" (random, see api_request_id)
  std::int64_t created = 0;  // Unix time
  std::string model;      // the served name
};

// "<prefix>-" and 32 random hex digits, as vLLM's random_uuid() ids.
inline std::string api_request_id(std::string_view prefix) {
  thread_local std::mt19937_64 gen{std::random_device{}()};
  static constexpr char hex[] = "0123456789abcdef";
  std::string id(prefix);
  id += '-';
  for (int w = 0; w < 2; ++w) {
    std::uint64_t x = gen();
    for (int i = 0; i < 16; ++i, x >>= 4) id += hex[x & 15];
  }
  return id;
}

inline std::int64_t unix_time_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// The response body for scores in input order.
inline nlohmann::ordered_json api_response(const ApiRequest& r, const std::vector<Score>& scores,
                                           const ApiResponseInfo& info) {
  using nlohmann::ordered_json;
  using namespace api_detail;
  const auto activated = [&](const Score& s) { return r.use_activation ? sigmoid(s.reward) : s.reward; };
  switch (r.shape) {
    case ApiShape::OpenRlhfReward: {
      ordered_json rewards = ordered_json::array(), logs = ordered_json::object();
      for (const Score& s : scores) rewards.push_back(s.reward);
      if (!scores.empty() && !scores[0].attributes.empty()) {
        for (std::size_t a = 0; a < scores[0].attributes.size(); ++a) {
          ordered_json means = ordered_json::array(), log_stds = ordered_json::array();
          for (const Score& s : scores) {
            means.push_back(s.attributes[a].mean);
            log_stds.push_back(s.attributes[a].log_std);
          }
          logs[scores[0].attributes[a].name + "_mean"] = std::move(means);
          logs[scores[0].attributes[a].name + "_log_std"] = std::move(log_stds);
        }
        ordered_json stds = ordered_json::array();
        for (const Score& s : scores) stds.push_back(s.reward_std());
        logs["reward_std"] = std::move(stds);
      }
      return {{"rewards", rewards}, {"scores", rewards}, {"extra_logs", std::move(logs)}};
    }
    case ApiShape::VllmClassify:
    case ApiShape::VllmPooling: {
      const bool classify = r.shape == ApiShape::VllmClassify;
      ordered_json data = ordered_json::array();
      for (std::size_t i = 0; i < scores.size(); ++i) {
        ordered_json item = ordered_json::object();
        item["index"] = i;
        if (classify) {
          item["label"] = kRewardLabel;
          item["probs"] = {activated(scores[i])};
          item["num_classes"] = 1;
        } else {
          item["object"] = "pooling";
          item["data"] = {activated(scores[i])};
        }
        data.push_back(std::move(item));
      }
      return {{"id", info.id}, {"object", "list"}, {"created", info.created}, {"model", info.model},
              {"data", std::move(data)}, {"usage", usage(scores, true)}};
    }
    case ApiShape::SglangEmbeddings: {
      ordered_json data = ordered_json::array();
      for (std::size_t i = 0; i < scores.size(); ++i)
        data.push_back({{"object", "embedding"}, {"embedding", {scores[i].reward}}, {"index", i}});
      return {{"object", "list"}, {"data", std::move(data)}, {"model", info.model}, {"usage", usage(scores, false)}};
    }
    case ApiShape::SglangClassify: {
      ordered_json out = ordered_json::array();
      for (std::size_t i = 0; i < scores.size(); ++i)
        out.push_back({{"embedding", {scores[i].reward}},
                       {"meta_info", {{"id", info.id + "-" + std::to_string(i)}, {"prompt_tokens", scores[i].n_tokens}}}});
      if (r.single && out.size() == 1) return out[0];
      return out;
    }
    case ApiShape::NativeScore: {
      ordered_json results = ordered_json::array();
      for (std::size_t i = 0; i < scores.size(); ++i) {
        ordered_json j = score_to_json(scores[i]);
        if (r.samples) add_reward_samples(j, scores[i], r.samples, r.seed + i);
        results.push_back(std::move(j));
      }
      return {{"model", info.model}, {"results", std::move(results)}, {"usage", usage(scores, false)}};
    }
  }
  return nullptr;
}

// The error body vLLM and OpenAI send: {"error": {"message", "type", "code"}}.
inline nlohmann::ordered_json api_error(int status, std::string_view type, std::string_view message) {
  return {{"error", {{"message", message}, {"type", type}, {"code", status}}}};
}

}  // namespace urm
