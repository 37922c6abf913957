// Tokenizer — text <-> token ids from a Hugging Face tokenizer.json, with the
// same ids as Hugging Face `tokenizers` (checked on 2,897 texts in the tests).
//
// Supported (anything else is an urm::Error saying "unsupported"):
//   model          BPE over the ByteLevel alphabet, merges as "a b" or
//                  ["a", "b"], ignore_merges; no dropout, unk_token,
//                  byte_fallback, continuing_subword_prefix, end_of_word_suffix
//   normalizer     none
//   pre_tokenizer  Sequence[Split(Llama-3 regex, Isolated), ByteLevel(no
//                  prefix space, no regex)] — the Llama-3 configuration
//   added_tokens   special, single_word, lstrip, rstrip, normalized
//   post_processor ByteLevel, TemplateProcessing (single and pair), Sequence
//   decoder        ByteLevel
//   truncation, padding: none
//
// encode(text, add_special_tokens):
//   1. text must be valid UTF-8, else urm::Error naming the byte offset of
//      the first ill-formed sequence (Hugging Face takes only Rust strings,
//      which are valid UTF-8 by construction, so there is nothing to match);
//   2. added tokens are cut out (added_tokens.hpp);
//   3. each remaining piece is split into words (llama3_pre_tokenizer.hpp)
//      and each word is BPE-encoded (bpe.hpp);
//   4. with add_special_tokens, the post-processor's template is applied.
// decode(ids) concatenates the tokens' bytes and replaces ill-formed UTF-8
// with U+FFFD, as the ByteLevel decoder does; an id that names no token is an
// urm::Error (Hugging Face drops it silently).
//
// Thread safety: a Tokenizer is immutable after loading; every method is const
// and keeps its working memory on the caller's stack, so any number of threads
// may encode and decode at once.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "urm/core/error.hpp"
#include "urm/text/added_tokens.hpp"
#include "urm/text/bpe.hpp"
#include "urm/text/byte_level.hpp"
#include "urm/text/llama3_pre_tokenizer.hpp"
#include "urm/text/post_processor.hpp"
#include "urm/text/string_id_map.hpp"
#include "urm/text/tokenizer_json.hpp"
#include "urm/text/utf8.hpp"

namespace urm {

// Tokenizer::Options. (Declared outside the class: GCC rejects `Options = {}`
// as a default argument inside the class that defines Options, GCC bug 88165.)
struct TokenizerOptions {
  // true: the text of special tokens inside the input is tokenized as plain
  // text (a user cannot inject <|eot_id|> into a prompt); false, the default,
  // matches Hugging Face.
  bool split_special_tokens = false;
};

class Tokenizer {
 public:
  using Options = TokenizerOptions;

  // Token ids are at most this (bounds the id -> token table on any input).
  static constexpr std::int64_t kMaxTokenId = (std::int64_t{1} << 24) - 1;

  static Tokenizer load(const std::string& tokenizer_json_path, Options options = {}) {
    return build(detail::read_tokenizer_json(tokenizer_json_path), tokenizer_json_path, options);
  }

  // `source` names the document in error messages (e.g. its path).
  static Tokenizer from_json(const nlohmann::json& j, const std::string& source, Options options = {}) {
    return build(detail::split_tokenizer_json(j, source), source, options);
  }

  std::vector<std::int32_t> encode(std::string_view text, bool add_special_tokens) const {
    const std::vector<std::int32_t> a = encode_text(text);
    return post_processor_.apply(a, nullptr, add_special_tokens);
  }

  // Two sequences (e.g. a question and an answer), joined by the post-
  // processor's "pair" template.
  std::vector<std::int32_t> encode_pair(std::string_view a, std::string_view b, bool add_special_tokens) const {
    const std::vector<std::int32_t> ia = encode_text(a);
    const std::vector<std::int32_t> ib = encode_text(b);
    const std::span<const std::int32_t> sb(ib);
    return post_processor_.apply(ia, &sb, add_special_tokens);
  }

  std::string decode(std::span<const std::int32_t> ids, bool skip_special_tokens = false) const {
    std::string bytes;
    for (const std::int32_t id : ids) {
      check_id(id, "Tokenizer::decode");
      if (skip_special_tokens && (kind_[static_cast<std::size_t>(id)] & kSpecial) != 0) continue;
      bytes.append(token_bytes(id));
    }
    return detail::utf8_lossy(bytes);
  }

  // The id of a token as spelt in tokenizer.json (byte-level spelling for the
  // model's tokens, e.g. "Ġthe"; the content for added tokens).
  std::optional<std::int32_t> token_to_id(std::string_view token) const {
    if (const auto id = added_by_content_.find(token)) return id;
    return model_token_id(token);
  }

  // The inverse of token_to_id.
  std::string id_to_token(std::int32_t id) const {
    check_id(id, "Tokenizer::id_to_token");
    const std::string_view bytes = token_bytes(id);
    if ((kind_[static_cast<std::size_t>(id)] & kVerbatim) != 0) return std::string(bytes);
    return detail::bytes_to_byte_level(bytes);
  }

  // Number of distinct tokens, model vocabulary and added tokens together
  // (Hugging Face's get_vocab_size(with_added_tokens=True), len(tokenizer)).
  std::size_t vocab_size() const { return vocab_size_; }

  bool is_special(std::int32_t id) const {
    return id >= 0 && static_cast<std::size_t>(id) < kind_.size() && (kind_[static_cast<std::size_t>(id)] & kSpecial) != 0;
  }

  const std::vector<AddedToken>& added_tokens() const { return added_.tokens(); }

 private:
  // kind_ bits of an id.
  static constexpr std::uint8_t kModel = 1, kAdded = 2, kSpecial = 4,
                                kVerbatim = 8;  // spelling is its bytes (not in the ByteLevel alphabet)

  std::optional<std::int32_t> model_token_id(std::string_view spelling) const {
    if (const auto bytes = detail::byte_level_to_bytes(spelling)) return bpe_.vocab.find(*bytes);
    return verbatim_vocab_.find(spelling);
  }

  std::vector<std::int32_t> encode_text(std::string_view text) const {
    if (const std::size_t bad = detail::find_invalid_utf8(text); bad != std::string_view::npos)
      throw Error("Tokenizer::encode: invalid UTF-8 at byte offset " + std::to_string(bad));
    std::vector<detail::TextSegment> segments;
    added_.split(text, segments);
    std::vector<std::int32_t> ids;
    ids.reserve(text.size() / 3 + 4);
    std::vector<detail::PreTokenChar> chars;
    detail::BpeScratch scratch;
    for (const detail::TextSegment& s : segments) {
      if (s.token_id >= 0) {
        ids.push_back(s.token_id);
        continue;
      }
      detail::llama3_pre_tokenize(text.substr(s.begin, s.end - s.begin), chars,
                                  [&](std::string_view word) { bpe_.encode_word(word, ids, scratch); });
    }
    return ids;
  }

  void check_id(std::int32_t id, const char* what) const {
    if (id < 0 || static_cast<std::size_t>(id) >= kind_.size() || kind_[static_cast<std::size_t>(id)] == 0)
      throw Error(std::string(what) + ": token id " + std::to_string(id) + " is not in the vocabulary (ids 0.." +
                  std::to_string(kind_.size() - 1) + ")");
  }

  std::string_view token_bytes(std::int32_t id) const {
    const auto i = static_cast<std::size_t>(id);
    return std::string_view(bytes_).substr(offsets_[i], offsets_[i + 1] - offsets_[i]);
  }

  // --- loading ------------------------------------------------------------

  struct Builder;  // below: the checks and tables of build()
  static Tokenizer build(detail::TokenizerJson parts, const std::string& source, Options options);

  detail::BytePairModel bpe_;
  detail::StringIdMap verbatim_vocab_;   // model tokens outside the ByteLevel alphabet, by spelling
  detail::StringIdMap added_by_content_;
  detail::AddedTokenMatcher added_;
  detail::PostProcessor post_processor_;
  std::string bytes_;                    // bytes of every token, back to back
  std::vector<std::uint32_t> offsets_;   // token id's bytes = bytes_[offsets_[id], offsets_[id + 1])
  std::vector<std::uint8_t> kind_;       // per id: kModel | kAdded | kSpecial | kVerbatim; 0 = no token
  std::size_t vocab_size_ = 0;
};

struct Tokenizer::Builder {
  const std::string& source;

  [[noreturn]] void fail(const std::string& what) const { throw Error(source + ": " + what); }

  const nlohmann::json* member(const nlohmann::json& j, const char* key) const {
    const auto it = j.find(key);
    return it == j.end() ? nullptr : &*it;
  }
  // True if j[key] is absent or null.
  bool absent(const nlohmann::json& j, const char* key) const {
    const auto* v = member(j, key);
    return v == nullptr || v->is_null();
  }
  std::string type_of(const nlohmann::json& j, const std::string& where) const {
    if (!j.is_object()) fail(where + ": expected an object");
    const auto* t = member(j, "type");
    if (t == nullptr || !t->is_string()) fail(where + ".type: expected a string");
    return t->get<std::string>();
  }
  bool flag(const nlohmann::json& j, const char* key, bool fallback, const std::string& where) const {
    const auto* v = member(j, key);
    if (v == nullptr || v->is_null()) return fallback;
    if (!v->is_boolean()) fail(where + "." + key + ": expected true or false");
    return v->get<bool>();
  }

  void check_top_level(const nlohmann::json& c) const {
    if (!absent(c, "normalizer"))
      fail("unsupported normalizer (type \"" + type_of(c.at("normalizer"), "normalizer") + "\"): only null is supported");
    if (!absent(c, "truncation")) fail("unsupported truncation: only null is supported");
    if (!absent(c, "padding")) fail("unsupported padding: only null is supported");
    if (absent(c, "model")) fail("model: missing");
    if (absent(c, "pre_tokenizer")) fail("unsupported pre_tokenizer null: expected the Llama-3 Sequence[Split, ByteLevel]");
    if (absent(c, "decoder")) fail("unsupported decoder null: expected ByteLevel");
  }

  void check_model(const nlohmann::json& m) const {
    const std::string type = type_of(m, "model");
    if (type != "BPE") fail("unsupported model type \"" + type + "\" (supported: BPE)");
    if (const auto* d = member(m, "dropout"); d != nullptr && !d->is_null() && !(d->is_number() && d->get<double>() == 0.0))
      fail("unsupported model.dropout: only null is supported");
    if (!absent(m, "unk_token")) fail("unsupported model.unk_token: only null is supported");
    if (flag(m, "byte_fallback", false, "model")) fail("unsupported model.byte_fallback: only false is supported");
    for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
      const auto* v = member(m, key);
      if (v != nullptr && !v->is_null() && !(v->is_string() && v->get<std::string>().empty()))
        fail(std::string("unsupported model.") + key + ": only null is supported");
    }
    if (const auto* v = member(m, "vocab")) fail("model.vocab: expected an object {token: id}, got " + std::string(v->type_name()));
    if (const auto* v = member(m, "merges")) fail("model.merges: expected an array, got " + std::string(v->type_name()));
  }

  void check_pre_tokenizer(const nlohmann::json& p) const {
    const std::string expected = "expected the Llama-3 Sequence[Split(regex, Isolated), ByteLevel(add_prefix_space=false, use_regex=false)]";
    const std::string type = type_of(p, "pre_tokenizer");
    const auto* list = member(p, "pretokenizers");
    if (type != "Sequence" || list == nullptr || !list->is_array() || list->size() != 2)
      fail("unsupported pre_tokenizer (type \"" + type + "\"): " + expected);
    const auto& split = (*list)[0];
    if (type_of(split, "pre_tokenizer.pretokenizers[0]") != "Split") fail("unsupported pre_tokenizer.pretokenizers[0]: " + expected);
    const auto* pattern = member(split, "pattern");
    const nlohmann::json* regex = pattern != nullptr && pattern->is_object() ? member(*pattern, "Regex") : nullptr;
    if (regex == nullptr || !regex->is_string() || regex->get<std::string>() != detail::kLlama3SplitPattern)
      fail("unsupported pre_tokenizer.pretokenizers[0].pattern: only the Llama-3 regex " + std::string(detail::kLlama3SplitPattern) + " is supported");
    const auto* behavior = member(split, "behavior");
    if (behavior == nullptr || *behavior != "Isolated")
      fail("unsupported pre_tokenizer.pretokenizers[0].behavior: only \"Isolated\" is supported");
    if (flag(split, "invert", false, "pre_tokenizer.pretokenizers[0]"))
      fail("unsupported pre_tokenizer.pretokenizers[0].invert: only false is supported");
    const auto& bl = (*list)[1];
    if (type_of(bl, "pre_tokenizer.pretokenizers[1]") != "ByteLevel" || flag(bl, "add_prefix_space", true, "pre_tokenizer.pretokenizers[1]") ||
        flag(bl, "use_regex", true, "pre_tokenizer.pretokenizers[1]"))
      fail("unsupported pre_tokenizer.pretokenizers[1]: " + expected);
  }

  void check_decoder(const nlohmann::json& d) const {
    const std::string type = type_of(d, "decoder");
    if (type != "ByteLevel") fail("unsupported decoder type \"" + type + "\" (supported: ByteLevel)");
  }

  std::vector<AddedToken> added_tokens(const nlohmann::json& c) const {
    std::vector<AddedToken> out;
    const auto* list = member(c, "added_tokens");
    if (list == nullptr || list->is_null()) return out;
    if (!list->is_array()) fail("added_tokens: expected an array");
    for (std::size_t i = 0; i < list->size(); ++i) {
      const std::string where = "added_tokens[" + std::to_string(i) + "]";
      const auto& t = (*list)[i];
      if (!t.is_object()) fail(where + ": expected an object");
      AddedToken a;
      const auto* id = member(t, "id");
      if (id == nullptr || !id->is_number_unsigned() || id->get<std::uint64_t>() > static_cast<std::uint64_t>(kMaxTokenId))
        fail(where + ".id: expected an integer in 0.." + std::to_string(kMaxTokenId));
      a.id = id->get<std::int32_t>();
      const auto* content = member(t, "content");
      if (content == nullptr || !content->is_string()) fail(where + ".content: expected a string");
      a.content = content->get<std::string>();
      if (a.content.empty()) fail(where + ".content: must not be empty");
      if (detail::find_invalid_utf8(a.content) != std::string_view::npos) fail(where + ".content: invalid UTF-8");
      a.single_word = flag(t, "single_word", false, where);
      a.lstrip = flag(t, "lstrip", false, where);
      a.rstrip = flag(t, "rstrip", false, where);
      a.normalized = flag(t, "normalized", true, where);
      a.special = flag(t, "special", false, where);
      out.push_back(std::move(a));
    }
    return out;
  }
};

inline Tokenizer Tokenizer::build(detail::TokenizerJson parts, const std::string& source, Options options) {
  const Builder b{source};
  const nlohmann::json& c = parts.config;
  b.check_top_level(c);
  const nlohmann::json& model = c.at("model");
  b.check_model(model);
  b.check_pre_tokenizer(c.at("pre_tokenizer"));
  b.check_decoder(c.at("decoder"));
  if (!parts.has_vocab) b.fail("model.vocab: missing");
  if (!parts.has_merges) b.fail("model.merges: missing");

  Tokenizer t;
  t.bpe_.ignore_merges = b.flag(model, "ignore_merges", false, "model");

  // Model vocabulary: ids, and each token's bytes (a token outside the
  // ByteLevel alphabet can never come out of BPE; it decodes to its spelling,
  // as HF's ByteLevel decoder does).
  std::int64_t max_id = -1;
  for (const auto& [token, id] : parts.vocab) {
    if (id < 0 || id > kMaxTokenId)
      b.fail("model.vocab[\"" + token + "\"]: expected an id in 0.." + std::to_string(kMaxTokenId) + ", got " + std::to_string(id));
    max_id = std::max(max_id, id);
  }
  std::vector<AddedToken> added = b.added_tokens(c);
  for (const AddedToken& a : added) max_id = std::max<std::int64_t>(max_id, a.id);
  const auto n_ids = static_cast<std::size_t>(max_id + 1);
  std::vector<std::string> bytes_of(n_ids);
  t.kind_.assign(n_ids, 0);
  t.bpe_.vocab.reserve(parts.vocab.size());
  std::size_t total_bytes = 0;
  for (auto& [token, id] : parts.vocab) {
    const auto i = static_cast<std::size_t>(id);
    if (t.kind_[i] != 0) b.fail("model.vocab[\"" + token + "\"]: id " + std::to_string(id) + " is given to two tokens");
    if (auto bytes = detail::byte_level_to_bytes(token)) {
      if (!t.bpe_.vocab.insert(*bytes, static_cast<std::int32_t>(id))) b.fail("model.vocab: token \"" + token + "\" is listed twice");
      bytes_of[i] = std::move(*bytes);
      t.kind_[i] = kModel;
    } else {
      if (!t.verbatim_vocab_.insert(token, static_cast<std::int32_t>(id))) b.fail("model.vocab: token \"" + token + "\" is listed twice");
      bytes_of[i] = token;
      t.kind_[i] = kModel | kVerbatim;
    }
    total_bytes += bytes_of[i].size();
  }
  for (int byte = 0; byte < 256; ++byte) {
    const auto id = t.bpe_.vocab.find(std::string(1, static_cast<char>(byte)));
    if (!id) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "0x%02X", byte);
      b.fail("unsupported model.vocab: no token for byte " + std::string(hex) + " (\"" +
             detail::bytes_to_byte_level(std::string(1, static_cast<char>(byte))) + "\"), which byte-level BPE needs");
    }
    t.bpe_.byte_id[static_cast<std::size_t>(byte)] = *id;
  }

  // Merges: rank = position in the list. Tokens are looked up by their bytes;
  // the merged token is the concatenation of the two.
  t.bpe_.merges.reserve(parts.merges.size());
  std::string joined;
  for (std::size_t rank = 0; rank < parts.merges.size(); ++rank) {
    const auto& [left, right] = parts.merges[rank];
    const auto where = [&] { return "model.merges[" + std::to_string(rank) + "] (\"" + left + " " + right + "\")"; };
    const auto lb = detail::byte_level_to_bytes(left), rb = detail::byte_level_to_bytes(right);
    const auto lid = lb ? t.bpe_.vocab.find(*lb) : t.verbatim_vocab_.find(left);
    const auto rid = rb ? t.bpe_.vocab.find(*rb) : t.verbatim_vocab_.find(right);
    if (!lid) b.fail(where() + ": \"" + left + "\" is not in model.vocab");
    if (!rid) b.fail(where() + ": \"" + right + "\" is not in model.vocab");
    std::optional<std::int32_t> mid;
    if (lb && rb) {
      joined = *lb;
      joined += *rb;
      mid = t.bpe_.vocab.find(joined);
    } else {
      mid = t.verbatim_vocab_.find(left + right);
    }
    if (!mid) b.fail(where() + ": \"" + left + right + "\" is not in model.vocab");
    if (lb && rb) t.bpe_.merges.insert(*lid, *rid, {static_cast<std::uint32_t>(rank), *mid});
  }

  // Added tokens: matched in the input, decoded like any token.
  std::size_t new_contents = 0;
  for (std::size_t k = 0; k < added.size(); ++k) {
    const AddedToken& a = added[k];
    const auto i = static_cast<std::size_t>(a.id);
    const std::string where = "added_tokens[" + std::to_string(k) + "]";
    if (!t.added_by_content_.insert(a.content, a.id)) b.fail(where + ": content \"" + a.content + "\" is listed twice");
    if ((t.kind_[i] & kAdded) != 0) b.fail(where + ": id " + std::to_string(a.id) + " is given to two added tokens");
    if (!t.model_token_id(a.content)) ++new_contents;
    // If a.id is also a model token's id, the added token wins, as in HF
    // (which looks ids up in the added vocabulary first).
    auto bytes = detail::byte_level_to_bytes(a.content);
    t.kind_[i] = static_cast<std::uint8_t>(kAdded | (a.special ? kSpecial : 0) | (bytes ? 0 : kVerbatim));
    total_bytes -= bytes_of[i].size();
    bytes_of[i] = bytes ? std::move(*bytes) : a.content;
    total_bytes += bytes_of[i].size();
  }
  t.vocab_size_ = parts.vocab.size() + new_contents;

  t.post_processor_ = detail::parse_post_processor(c.contains("post_processor") ? c.at("post_processor") : nlohmann::json(),
                                                   source + ": post_processor");
  for (const auto* tmpl : {&t.post_processor_.single, &t.post_processor_.pair})
    for (const auto& piece : *tmpl)
      for (const std::int32_t id : piece.ids)
        if (static_cast<std::size_t>(id) >= n_ids || t.kind_[static_cast<std::size_t>(id)] == 0)
          b.fail("post_processor: special token id " + std::to_string(id) + " is not in the vocabulary");

  t.added_ = detail::AddedTokenMatcher(std::move(added), options.split_special_tokens);

  t.bytes_.reserve(total_bytes);
  t.offsets_.resize(n_ids + 1);
  for (std::size_t i = 0; i < n_ids; ++i) {
    t.offsets_[i] = static_cast<std::uint32_t>(t.bytes_.size());
    t.bytes_ += bytes_of[i];
  }
  t.offsets_[n_ids] = static_cast<std::uint32_t>(t.bytes_.size());
  return t;
}

}  // namespace urm
