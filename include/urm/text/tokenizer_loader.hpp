// Tokenizer::Loader — builds a Tokenizer (tokenizer.hpp) from tokenizer.json:
// the vocabulary and merges as the streaming reader (tokenizer_json.hpp)
// hands them over, then the checks of the configuration (model, normalizer,
// pre-tokenizer, decoder), the added tokens and the post-processor. Also
// defines Tokenizer::load and Tokenizer::from_json, the only users.
//
// Included by tokenizer.hpp (users need not include it themselves).
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "urm/core/error.hpp"
#include "urm/text/added_tokens.hpp"
#include "urm/text/byte_level.hpp"
#include "urm/text/post_processor.hpp"
#include "urm/text/pre_tokenizer.hpp"
#include "urm/text/string_id_map.hpp"
#include "urm/text/tokenizer.hpp"
#include "urm/text/tokenizer_json.hpp"

namespace urm {

// Receives model.vocab and model.merges entry by entry from the JSON reader
// (so the 9 MB file is never a tree), then finish() checks the rest.
class Tokenizer::Loader {
 public:
  explicit Loader(const std::string& source) : source_(source) {}

  // --- sink of tokenizer_json.hpp -------------------------------------------

  void vocab_entry(std::string_view token, std::int64_t id) {
    if (id < 0 || id > kMaxTokenId)
      fail("model.vocab[\"" + std::string(token) + "\"]: expected an id in 0.." + std::to_string(kMaxTokenId) + ", got " +
           std::to_string(id));
    PendingToken& p = vocab_batch_[n_vocab_batch_++];
    p.token.assign(token);
    p.id = static_cast<std::int32_t>(id);
    if (n_vocab_batch_ == vocab_batch_.size()) add_vocab();
  }

  void vocab_end() {
    add_vocab();
    for (int byte = 0; byte < 256; ++byte) {
      const auto id = t_.bpe_.vocab.find(std::string(1, static_cast<char>(byte)));
      if (!id) {
        char hex[8];
        std::snprintf(hex, sizeof hex, "0x%02X", byte);
        fail("unsupported model.vocab: no token for byte " + std::string(hex) + " (\"" +
             detail::bytes_to_byte_level(std::string(1, static_cast<char>(byte))) + "\"), which byte-level BPE needs");
      }
      t_.bpe_.byte_id[static_cast<std::size_t>(byte)] = *id;
    }
    vocab_done_ = true;
    t_.bpe_.merges.reserve(early_merges_.size() + 300000);  // Llama-3 has 280k
    const auto early = std::move(early_merges_);
    early_merges_.clear();
    for (const auto& [left, right] : early) merge(left, right);
  }

  // Merge rank = position in model.merges. Merges are resolved in batches
  // (add_merges).
  void merge(std::string_view left, std::string_view right) {
    if (n_merges_ + n_batch_ + early_merges_.size() > detail::MergeMap::kMaxRank)
      fail("unsupported model.merges: more than " + std::to_string(detail::MergeMap::kMaxRank + 1) + " merges");
    if (!vocab_done_) {  // model.merges before model.vocab in the file
      early_merges_.emplace_back(left, right);
      return;
    }
    PendingMerge& m = batch_[n_batch_++];
    m.left.assign(left);
    m.right.assign(right);
    if (n_batch_ == batch_.size()) add_merges();
  }

  // --- the rest of the document ---------------------------------------------

  Tokenizer finish(const detail::TokenizerJson& doc, Options options) {
    add_merges();
    const nlohmann::json& c = doc.config;
    check_top_level(c);
    const nlohmann::json& model = c.at("model");
    check_model(model);
    t_.pre_tokenizer_ = detail::PreTokenizer::from_json(c.at("pre_tokenizer"), source_);
    t_.nfc_ = normalizer_is_nfc(c.contains("normalizer") ? c.at("normalizer") : nlohmann::json(), "normalizer");
    check_decoder(c.at("decoder"));
    if (!doc.has_vocab) fail("model.vocab: missing");
    if (!doc.has_merges) fail("model.merges: missing");
    t_.bpe_.ignore_merges = flag(model, "ignore_merges", false, "model");
    t_.bpe_.index_byte_pairs();

    std::vector<AddedToken> added = added_tokens(c);
    std::size_t new_contents = 0;  // added tokens not in the model vocabulary
    for (std::size_t k = 0; k < added.size(); ++k) {
      const AddedToken& a = added[k];
      const auto i = static_cast<std::size_t>(a.id);
      const std::string where = "added_tokens[" + std::to_string(k) + "]";
      grow_ids(i);
      if (!t_.added_by_content_.insert(a.content, a.id)) fail(where + ": content \"" + a.content + "\" is listed twice");
      if ((t_.kind_[i] & kAdded) != 0) fail(where + ": id " + std::to_string(a.id) + " is given to two added tokens");
      if (!t_.model_token_id(a.content)) ++new_contents;
      // If a.id is also a model token's id, the added token wins, as in HF
      // (which looks ids up in the added vocabulary first).
      std::string bytes;
      const bool byte_level = detail::byte_level_to_bytes(a.content, bytes);
      set_bytes(i, byte_level ? std::string_view(bytes) : std::string_view(a.content));
      t_.kind_[i] = static_cast<std::uint8_t>(kAdded | (a.special ? kSpecial : 0) | (byte_level ? 0 : kVerbatim));
    }
    t_.vocab_size_ = n_vocab_ + new_contents;

    t_.post_processor_ = detail::parse_post_processor(c.contains("post_processor") ? c.at("post_processor") : nlohmann::json(),
                                                      source_);
    for (const auto* tmpl : {&t_.post_processor_.single, &t_.post_processor_.pair})
      for (const auto& piece : *tmpl)
        for (const std::int32_t id : piece.ids)
          if (static_cast<std::size_t>(id) >= t_.kind_.size() || t_.kind_[static_cast<std::size_t>(id)] == 0)
            fail("post_processor: special token id " + std::to_string(id) + " is not in the vocabulary");

    t_.added_ = detail::AddedTokenMatcher(std::move(added), options.split_special_tokens);
    t_.options_ = options;
    return std::move(t_);
  }

 private:
  [[noreturn]] void fail(const std::string& what) const { throw Error(source_ + ": " + what); }

  void grow_ids(std::size_t i) {
    if (i < t_.kind_.size()) return;
    t_.kind_.resize(i + 1, 0);
    t_.token_bytes_.resize(i + 1);
  }
  void set_bytes(std::size_t i, std::string_view bytes) {
    if (t_.bytes_.size() + bytes.size() > 0xFFFFFFFFull) fail("tokens of more than 4 GiB in total");
    t_.token_bytes_[i] = {static_cast<std::uint32_t>(t_.bytes_.size()), static_cast<std::uint32_t>(bytes.size())};
    t_.bytes_.append(bytes);
  }

  // Adds the batch of vocabulary entries, prefetching their slots first (see
  // add_merges).
  void add_vocab() {
    const std::size_t n = n_vocab_batch_;
    n_vocab_batch_ = 0;
    detail::StringIdMap& vocab = t_.bpe_.vocab;
    if (n_vocab_ == 0) vocab.reserve(std::size_t{1} << 16);
    vocab.reserve(vocab.size() + n);  // no rehash (which moves slots) between prefetch and insert
    for (std::size_t k = 0; k < n; ++k) {
      PendingToken& p = vocab_batch_[k];
      // A token outside the ByteLevel alphabet can never come out of BPE; it
      // decodes to its spelling, as HF's ByteLevel decoder does.
      p.byte_level = detail::byte_level_to_bytes(p.token, p.bytes);
      if (!p.byte_level) continue;
      p.hash = detail::hash_bytes(p.bytes);
      vocab.prefetch(p.hash);
    }
    for (std::size_t k = 0; k < n; ++k) {
      const PendingToken& p = vocab_batch_[k];
      const auto i = static_cast<std::size_t>(p.id);
      grow_ids(i);
      if (t_.kind_[i] != 0) fail("model.vocab[\"" + p.token + "\"]: id " + std::to_string(p.id) + " is given to two tokens");
      const bool fresh = p.byte_level ? vocab.insert(p.bytes, p.id, p.hash) : t_.verbatim_vocab_.insert(p.token, p.id);
      if (!fresh) fail("model.vocab: token \"" + p.token + "\" is listed twice");
      set_bytes(i, p.byte_level ? std::string_view(p.bytes) : std::string_view(p.token));
      if (p.byte_level) t_.max_token_bytes_ = std::max(t_.max_token_bytes_, p.bytes.size());
      t_.kind_[i] = p.byte_level ? kModel : (kModel | kVerbatim);
      ++n_vocab_;
    }
  }

  // Resolves the batch of merges: each needs three vocabulary lookups
  // (left, right, and the merged token = their concatenation) and an insert,
  // all at random places in tables of megabytes. Done as passes over the
  // batch that prefetch what the next pass reads, so those cache misses
  // overlap instead of queueing (loading time is mostly these misses).
  void add_merges() {
    PendingMerge* const batch = batch_.data();
    const std::size_t n = n_batch_;
    n_batch_ = 0;
    const detail::StringIdMap& vocab = t_.bpe_.vocab;
    for (std::size_t k = 0; k < n; ++k) {
      PendingMerge& m = batch[k];
      m.byte_level = detail::byte_level_to_bytes(m.left, m.left_bytes) && detail::byte_level_to_bytes(m.right, m.right_bytes);
      if (!m.byte_level) continue;
      m.merged_bytes = m.left_bytes + m.right_bytes;
      m.hash[0] = detail::hash_bytes(m.left_bytes);
      m.hash[1] = detail::hash_bytes(m.right_bytes);
      m.hash[2] = detail::hash_bytes(m.merged_bytes);
      // Single bytes are looked up in byte_id instead.
      if (m.left_bytes.size() > 1) vocab.prefetch(m.hash[0]);
      if (m.right_bytes.size() > 1) vocab.prefetch(m.hash[1]);
      vocab.prefetch(m.hash[2]);
    }
    const auto byte_level_id = [&](const std::string& bytes, std::uint64_t hash) -> std::optional<std::int32_t> {
      if (bytes.size() == 1) return t_.bpe_.byte_id[static_cast<std::uint8_t>(bytes[0])];
      return vocab.find(bytes, hash);
    };
    for (std::size_t k = 0; k < n; ++k) {
      PendingMerge& m = batch[k];
      const std::size_t rank = n_merges_ + k;
      const auto where = [&] { return "model.merges[" + std::to_string(rank) + "] (\"" + m.left + " " + m.right + "\")"; };
      const auto lid = m.byte_level ? byte_level_id(m.left_bytes, m.hash[0]) : t_.model_token_id(m.left);
      if (!lid) fail(where() + ": \"" + m.left + "\" is not in model.vocab");
      const auto rid = m.byte_level ? byte_level_id(m.right_bytes, m.hash[1]) : t_.model_token_id(m.right);
      if (!rid) fail(where() + ": \"" + m.right + "\" is not in model.vocab");
      // A merge with a token outside the ByteLevel alphabet never applies to
      // bytes; HF still requires its result to be in the vocabulary.
      const auto mid = m.byte_level ? vocab.find(m.merged_bytes, m.hash[2]) : t_.model_token_id(m.left + m.right);
      if (!mid) fail(where() + ": \"" + m.left + m.right + "\" is not in model.vocab");
      m.ids = {*lid, *rid, *mid};
      if (m.byte_level) t_.bpe_.merges.prefetch(*lid, *rid);
    }
    for (std::size_t k = 0; k < n; ++k) {
      const PendingMerge& m = batch[k];
      if (m.byte_level) t_.bpe_.merges.insert(m.ids[0], m.ids[1], {static_cast<std::uint32_t>(n_merges_ + k), m.ids[2]});
    }
    n_merges_ += n;
  }

  // --- configuration checks -------------------------------------------------

  static const nlohmann::json* member(const nlohmann::json& j, const char* key) {
    const auto it = j.find(key);
    return it == j.end() ? nullptr : &*it;
  }
  // True if j[key] is absent or null.
  static bool absent(const nlohmann::json& j, const char* key) {
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
    if (!absent(c, "truncation")) fail("unsupported truncation: only null is supported");
    if (!absent(c, "padding")) fail("unsupported padding: only null is supported");
    if (absent(c, "model")) fail("model: missing");
    if (absent(c, "pre_tokenizer")) fail("unsupported pre_tokenizer null: byte-level BPE needs a ByteLevel pre-tokenizer");
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

  // True for NFC (or a Sequence of NFCs), false for none; else unsupported.
  bool normalizer_is_nfc(const nlohmann::json& n, const std::string& where) const {
    if (n.is_null()) return false;
    const std::string type = type_of(n, where);
    if (type == "NFC") return true;
    if (type == "Sequence") {
      const auto* list = member(n, "normalizers");
      if (list == nullptr || !list->is_array()) fail(where + ".normalizers: expected an array");
      bool nfc = false;
      for (std::size_t i = 0; i < list->size(); ++i) nfc = normalizer_is_nfc((*list)[i], where + ".normalizers[" + std::to_string(i) + "]") || nfc;
      return nfc;
    }
    fail("unsupported " + where + " type \"" + type + "\" (supported: NFC, Sequence)");
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
      if (id == nullptr || !id->is_number_integer() || id->get<std::int64_t>() < 0 || id->get<std::int64_t>() > kMaxTokenId)
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

  const std::string& source_;
  Tokenizer t_;
  bool vocab_done_ = false;
  std::vector<std::pair<std::string, std::string>> early_merges_;
  struct PendingMerge {
    std::string left, right;                          // as spelt in the file
    std::string left_bytes, right_bytes, merged_bytes;
    bool byte_level = false;                          // both in the ByteLevel alphabet
    std::uint64_t hash[3] = {};                       // of the three byte strings
    std::array<std::int32_t, 3> ids{};                // left, right, merged
  };
  std::array<PendingMerge, 64> batch_;
  std::size_t n_batch_ = 0;
  struct PendingToken {
    std::string token, bytes;  // as spelt in the file; its bytes
    std::int32_t id = 0;
    bool byte_level = false;
    std::uint64_t hash = 0;
  };
  std::array<PendingToken, 64> vocab_batch_;
  std::size_t n_vocab_batch_ = 0;
  std::size_t n_vocab_ = 0, n_merges_ = 0;
};

inline Tokenizer Tokenizer::load(const std::string& tokenizer_json_path, Options options) {
  Loader loader(tokenizer_json_path);
  const detail::TokenizerJson doc = detail::read_tokenizer_json(tokenizer_json_path, loader);
  return loader.finish(doc, options);
}

inline Tokenizer Tokenizer::from_json(const nlohmann::json& j, const std::string& source, Options options) {
  Loader loader(source);
  const detail::TokenizerJson doc = detail::split_tokenizer_json(j, source, loader);
  return loader.finish(doc, options);
}

}  // namespace urm
