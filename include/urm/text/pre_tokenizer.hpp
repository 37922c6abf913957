// Pre-tokenizer — cuts a text into the words that byte-level BPE encodes one
// by one, as tokenizer.json's "pre_tokenizer" says:
//
//   Split      {"pattern": {"Regex": R} | {"String": S}, "behavior": B,
//              "invert": I}: the matches of R (regex.hpp) or of the literal
//              S, and the stretches between them, combined by behaviour B
//              as Hugging Face's NormalizedString::split does:
//                Isolated            every match and every stretch a piece
//                Removed             the stretches only
//                MergedWithPrevious  a match joins the stretch before it
//                MergedWithNext      a match joins the stretch after it
//                Contiguous          runs of adjacent matches join
//              (invert: the matches and the stretches change roles)
//   ByteLevel  the byte-level alphabet itself needs nothing here (BPE works
//              on the raw bytes); with use_regex it first splits like
//              Split(GPT-2's pattern, Isolated). add_prefix_space is not
//              supported.
//   Sequence   the above in order, each applied to every piece of the one
//              before; it must end with (exactly one) ByteLevel.
// Empty pieces are dropped, as in HF. Every pattern is compiled once, here.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "urm/core/error.hpp"
#include "urm/text/regex.hpp"

namespace urm::detail {

// The pattern of HF's ByteLevel pre-tokenizer with use_regex (GPT-2's).
inline constexpr std::string_view kByteLevelPattern = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

enum class SplitBehavior { kIsolated, kRemoved, kMergedWithPrevious, kMergedWithNext, kContiguous };

struct SplitStep {
  Regex regex;
  SplitBehavior behavior = SplitBehavior::kIsolated;
  bool invert = false;
};

class PreTokenizer {
 public:
  PreTokenizer() = default;

  // tokenizer.json's "pre_tokenizer" (j); errors are "source: path: …".
  static PreTokenizer from_json(const nlohmann::json& j, const std::string& source) {
    PreTokenizer p;
    const auto fail = [&](const std::string& path, const std::string& what) -> void { throw Error(source + ": " + path + what); };
    const std::string top = "pre_tokenizer";
    if (j.is_null()) fail(top, ": unsupported null: byte-level BPE needs a ByteLevel pre-tokenizer");
    std::vector<std::pair<const nlohmann::json*, std::string>> steps;
    if (type_of(j, top, fail) == "Sequence") {
      const auto it = j.find("pretokenizers");
      if (it == j.end() || !it->is_array()) fail(top + ".pretokenizers", ": expected an array");
      for (std::size_t i = 0; i < it->size(); ++i) steps.emplace_back(&(*it)[i], top + ".pretokenizers[" + std::to_string(i) + "]");
    } else {
      steps.emplace_back(&j, top);
    }
    bool byte_level = false;
    for (const auto& [s, path] : steps) {
      const std::string type = type_of(*s, path, fail);
      if (byte_level) fail(path, ": unsupported " + type + " after ByteLevel (ByteLevel must come last)");
      if (type == "Split") {
        p.steps_.push_back(split_step(*s, path, fail));
      } else if (type == "ByteLevel") {
        byte_level = true;
        if (flag(*s, "add_prefix_space", false, path, fail)) fail(path + ".add_prefix_space", ": unsupported true: only false is supported");
        if (flag(*s, "use_regex", true, path, fail)) p.steps_.push_back({Regex::compile(kByteLevelPattern), SplitBehavior::kIsolated, false});
      } else {
        fail(path, ": unsupported pre-tokenizer type \"" + type + "\" (supported: Split, ByteLevel, Sequence)");
      }
    }
    if (!byte_level) fail(top, ": unsupported: no ByteLevel pre-tokenizer (byte-level BPE needs one, last)");
    return p;
  }

  // Calls word(std::string_view) for each word of `text` (valid UTF-8), in
  // order. Needs no memory beyond the text and the matcher's stack.
  template <class Fn>
  void for_each_word(std::string_view text, Fn&& word) const {
    apply(0, text, word);
  }

  std::size_t steps() const { return steps_.size(); }

 private:
  template <class Fail>
  static std::string type_of(const nlohmann::json& j, const std::string& path, Fail fail) {
    if (!j.is_object()) fail(path, ": expected an object");
    const auto t = j.find("type");
    if (t == j.end() || !t->is_string()) fail(path + ".type", ": expected a string");
    return t->get<std::string>();
  }
  template <class Fail>
  static bool flag(const nlohmann::json& j, const char* key, bool fallback, const std::string& path, Fail fail) {
    const auto v = j.find(key);
    if (v == j.end() || v->is_null()) return fallback;
    if (!v->is_boolean()) fail(path + "." + key, ": expected true or false");
    return v->get<bool>();
  }

  template <class Fail>
  static SplitStep split_step(const nlohmann::json& s, const std::string& path, Fail fail) {
    SplitStep step;
    const auto pat = s.find("pattern");
    if (pat == s.end() || !pat->is_object() || pat->size() != 1)
      fail(path + ".pattern", ": expected {\"Regex\": …} or {\"String\": …}");
    const std::string kind = pat->begin().key();
    const nlohmann::json& value = pat->begin().value();
    if ((kind != "Regex" && kind != "String") || !value.is_string())
      fail(path + ".pattern", ": expected {\"Regex\": …} or {\"String\": …}");
    const std::string& text = value.get_ref<const std::string&>();
    try {
      step.regex = Regex::compile(kind == "Regex" ? text : escape(text));
    } catch (const Error& e) {
      fail(path + ".pattern." + kind, std::string(": ") + e.what());
    }
    const auto b = s.find("behavior");
    const std::string behavior = b != s.end() && b->is_string() ? b->get<std::string>() : "";
    if (behavior == "Isolated") step.behavior = SplitBehavior::kIsolated;
    else if (behavior == "Removed") step.behavior = SplitBehavior::kRemoved;
    else if (behavior == "MergedWithPrevious") step.behavior = SplitBehavior::kMergedWithPrevious;
    else if (behavior == "MergedWithNext") step.behavior = SplitBehavior::kMergedWithNext;
    else if (behavior == "Contiguous") step.behavior = SplitBehavior::kContiguous;
    else fail(path + ".behavior", ": expected one of Isolated, Removed, MergedWithPrevious, MergedWithNext, Contiguous");
    step.invert = flag(s, "invert", false, path, fail);
    return step;
  }

  // A literal string as a pattern (HF escapes it the same way).
  static std::string escape(std::string_view s) {
    std::string out;
    for (const char c : s) {
      const auto u = static_cast<unsigned char>(c);
      if (u < 0x80 && !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) out += '\\';
      out += c;
    }
    return out;
  }

  template <class Fn>
  void apply(std::size_t k, std::string_view text, Fn& word) const {
    if (text.empty()) return;
    if (k == steps_.size()) {
      word(text);
      return;
    }
    const SplitStep& s = steps_[k];
    const bool last = k + 1 == steps_.size();
    const auto piece = [&](std::size_t b, std::size_t e) {
      if (e <= b) return;
      if (last) word(text.substr(b, e - b));  // the common case, without a call
      else apply(k + 1, text.substr(b, e - b), word);
    };
    if (s.behavior == SplitBehavior::kIsolated) {  // every piece is a word: no fold
      s.regex.for_each_split(text, [&](std::size_t b, std::size_t e, bool) { piece(b, e); });
      return;
    }
    // The behaviours as a fold over (begin, end, is_match) with one pending piece.
    struct Pending {
      std::size_t b = 0, e = 0;
      bool match = false, have = false;
    } pend;
    bool previous_match = false;
    s.regex.for_each_split(text, [&](std::size_t b, std::size_t e, bool is_match) {
      if (s.invert) is_match = !is_match;
      switch (s.behavior) {
        case SplitBehavior::kIsolated:  // handled above
          break;
        case SplitBehavior::kRemoved:
          if (!is_match) piece(b, e);
          break;
        case SplitBehavior::kContiguous:
          if (is_match == previous_match && pend.have) {
            pend.e = e;
          } else {
            if (pend.have) piece(pend.b, pend.e);
            pend = {b, e, is_match, true};
          }
          break;
        case SplitBehavior::kMergedWithPrevious:
          if (is_match && !previous_match && pend.have) {
            pend.e = e;
          } else {
            if (pend.have) piece(pend.b, pend.e);
            pend = {b, e, is_match, true};
          }
          break;
        case SplitBehavior::kMergedWithNext:
          // A match joins the stretch after it (HF folds from the right).
          if (pend.have && pend.match && !is_match) {
            piece(pend.b, e);
            pend.have = false;
          } else {
            if (pend.have) piece(pend.b, pend.e);
            pend = {b, e, is_match, true};
          }
          break;
      }
      previous_match = is_match;
    });
    if (pend.have) piece(pend.b, pend.e);
  }

  std::vector<SplitStep> steps_;
};

}  // namespace urm::detail
