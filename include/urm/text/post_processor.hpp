// Post-processor — what encode(text, add_special_tokens = true) adds around
// the ids of the text, from tokenizer.json's "post_processor":
//
//  * null or ByteLevel: nothing (ByteLevel only trims offsets, never ids);
//  * TemplateProcessing: the "single" template for one sequence, "pair" for
//    two, each a list of {"Sequence": {"id": "A"|"B"}} and
//    {"SpecialToken": {"id": NAME}} with NAME's ids in "special_tokens";
//  * Sequence: its processors in order (at most one of them a template).
// Without add_special_tokens, the ids are the text's (A, or A then B).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "urm/core/error.hpp"

namespace urm::detail {

struct TemplatePiece {
  int sequence = -1;                // 0 = A, 1 = B; -1 for special tokens
  std::vector<std::int32_t> ids;    // the special token's ids
};

struct PostProcessor {
  bool has_template = false;
  std::vector<TemplatePiece> single, pair;

  // How many ids the template adds around the sequences (with add_special_tokens).
  std::size_t added_tokens(bool for_pair) const {
    if (!has_template) return 0;
    std::size_t n = 0;
    for (const TemplatePiece& p : for_pair ? pair : single) n += p.ids.size();
    return n;
  }

  // The ids of sequence a (and b, for a pair) with the template around them.
  std::vector<std::int32_t> apply(std::vector<std::int32_t> a, const std::vector<std::int32_t>* b,
                                  bool add_special_tokens) const {
    if (!add_special_tokens || !has_template) {
      if (b != nullptr) a.insert(a.end(), b->begin(), b->end());
      return a;
    }
    std::vector<std::int32_t> out;
    for (const TemplatePiece& p : b != nullptr ? pair : single) {
      if (p.sequence == 0) out.insert(out.end(), a.begin(), a.end());
      else if (p.sequence == 1) out.insert(out.end(), b->begin(), b->end());
      else out.insert(out.end(), p.ids.begin(), p.ids.end());
    }
    return out;
  }
};

namespace post_processor_json {

// Errors name the document (`source`) and the JSON path in it.
struct Context {
  const std::string& source;
  [[noreturn]] void fail(const std::string& path, const std::string& what) const {
    throw Error(source + ": " + path + what);
  }
};

inline const nlohmann::json& field(const Context& cx, const nlohmann::json& j, const char* key, const std::string& path) {
  if (!j.is_object() || !j.contains(key)) cx.fail(path, std::string(": missing \"") + key + "\"");
  return j.at(key);
}

inline std::string string_field(const Context& cx, const nlohmann::json& j, const char* key, const std::string& path) {
  const auto& v = field(cx, j, key, path);
  if (!v.is_string()) cx.fail(path + "." + key, ": expected a string");
  return v.get<std::string>();
}

inline std::vector<TemplatePiece> parse_template(const Context& cx, const nlohmann::json& pieces, const nlohmann::json& specials,
                                                 const std::string& specials_path, bool is_pair, const std::string& path) {
  if (!pieces.is_array()) cx.fail(path, ": expected an array");
  std::vector<TemplatePiece> out;
  for (std::size_t i = 0; i < pieces.size(); ++i) {
    const std::string at = path + "[" + std::to_string(i) + "]";
    const auto& p = pieces[i];
    if (p.is_object() && p.contains("Sequence")) {
      const std::string id = string_field(cx, p["Sequence"], "id", at + ".Sequence");
      if (id == "A" || (is_pair && id == "B")) out.push_back({id == "A" ? 0 : 1, {}});
      else cx.fail(at + ".Sequence.id", ": expected " + std::string(is_pair ? "\"A\" or \"B\"" : "\"A\"") + ", got \"" + id + "\"");
    } else if (p.is_object() && p.contains("SpecialToken")) {
      const std::string id = string_field(cx, p["SpecialToken"], "id", at + ".SpecialToken");
      if (!specials.is_object() || !specials.contains(id)) cx.fail(at + ".SpecialToken.id", ": \"" + id + "\" is not in " + specials_path);
      const std::string sp = specials_path + "[\"" + id + "\"]";
      const auto& ids = field(cx, specials[id], "ids", sp);
      if (!ids.is_array()) cx.fail(sp + ".ids", ": expected an array");
      TemplatePiece piece;
      for (const auto& v : ids) {
        if (!v.is_number_integer() || v.get<std::int64_t>() < 0 || v.get<std::int64_t>() > 0x7FFFFFFF) cx.fail(sp + ".ids", ": expected token ids (non-negative integers)");
        piece.ids.push_back(v.get<std::int32_t>());
      }
      out.push_back(std::move(piece));
    } else {
      cx.fail(at, ": expected {\"Sequence\": …} or {\"SpecialToken\": …}");
    }
  }
  return out;
}

inline void parse_into(const Context& cx, PostProcessor& pp, const nlohmann::json& j, const std::string& path) {
  if (j.is_null()) return;
  const std::string type = string_field(cx, j, "type", path);
  if (type == "ByteLevel") return;
  if (type == "Sequence") {
    const auto& list = field(cx, j, "processors", path);
    if (!list.is_array()) cx.fail(path + ".processors", ": expected an array");
    for (std::size_t i = 0; i < list.size(); ++i) parse_into(cx, pp, list[i], path + ".processors[" + std::to_string(i) + "]");
    return;
  }
  if (type == "TemplateProcessing") {
    if (pp.has_template) cx.fail(path, ": unsupported: more than one TemplateProcessing in a post-processor");
    const auto& specials = field(cx, j, "special_tokens", path);
    const std::string sp = path + ".special_tokens";
    pp.single = parse_template(cx, field(cx, j, "single", path), specials, sp, false, path + ".single");
    pp.pair = parse_template(cx, field(cx, j, "pair", path), specials, sp, true, path + ".pair");
    pp.has_template = true;
    return;
  }
  cx.fail(path, ": unsupported post-processor type \"" + type + "\" (supported: ByteLevel, TemplateProcessing, Sequence)");
}

}  // namespace post_processor_json

// Parses tokenizer.json's "post_processor" (j); errors name `source`.
inline PostProcessor parse_post_processor(const nlohmann::json& j, const std::string& source) {
  PostProcessor pp;
  post_processor_json::parse_into(post_processor_json::Context{source}, pp, j, "post_processor");
  return pp;
}

}  // namespace urm::detail
