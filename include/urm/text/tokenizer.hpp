// Tokenizer — text <-> token ids from a Hugging Face tokenizer.json, with the
// same ids as Hugging Face `tokenizers` (checked on 2,897 texts in the tests).
//
// Supported (anything else is an urm::Error saying "unsupported"):
//   model          BPE over the ByteLevel alphabet, merges as "a b" or
//                  ["a", "b"], ignore_merges; no dropout, unk_token,
//                  byte_fallback, continuing_subword_prefix, end_of_word_suffix
//   normalizer     none, NFC (nfc.hpp), Sequence of those
//   pre_tokenizer  Split (any behaviour, invert; the Oniguruma regex subset
//                  of regex.hpp: Llama-3, Qwen2/3, GPT-4o/o200k, GPT-2,
//                  DeepSeek patterns …), ByteLevel (no prefix space; with or
//                  without its regex), Sequence of those ending in ByteLevel
//                  (pre_tokenizer.hpp)
//   added_tokens   special, single_word, lstrip, rstrip, normalized
//   post_processor ByteLevel, TemplateProcessing (single and pair), Sequence
//   decoder        ByteLevel
//   truncation, padding: none
//
// encode(text, add_special_tokens, max_tokens):
//   1. text must be valid UTF-8, else urm::Error naming the byte offset of
//      the first ill-formed sequence (Hugging Face takes only Rust strings,
//      which are valid UTF-8 by construction, so there is nothing to match);
//   2. added tokens are cut out (added_tokens.hpp): non-normalized ones
//      first, then each piece is normalized and the normalized ones are cut
//      out of it, as HF does;
//   3. each remaining piece is split into words (pre_tokenizer.hpp) and
//      each word is BPE-encoded (bpe.hpp);
//   4. with add_special_tokens, the post-processor's template is applied.
// Limits (so that no input can take memory out of proportion): a text longer
// than Options::max_input_bytes, or with a word longer than
// Options::max_word_bytes, is an urm::Error saying so; with max_tokens > 0,
// encoding stops with an urm::Error as soon as the result is known to have
// more than max_tokens ids (a word of n bytes gives at least
// n / (longest token in bytes) ids, so a huge word is refused before it is
// merged). None of these change the ids of an input within them.
// decode(ids) concatenates the tokens' bytes and replaces ill-formed UTF-8
// with U+FFFD, as the ByteLevel decoder does; an id that names no token is an
// urm::Error (Hugging Face drops it silently).
//
// Thread safety: a Tokenizer is immutable after loading; every method is const
// and keeps its working memory in buffers of its own call, so any number of
// threads may encode and decode at once. The one shared mutable part, a cache of BPE
// results (bpe_word_cache.hpp), has its own locks.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <memory>
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
#include "urm/text/bpe_word_cache.hpp"
#include "urm/text/byte_level.hpp"
#include "urm/text/nfc.hpp"
#include "urm/text/post_processor.hpp"
#include "urm/text/pre_tokenizer.hpp"
#include "urm/text/string_id_map.hpp"
#include "urm/text/tokenizer_json.hpp"
#include "urm/text/utf8.hpp"

namespace urm {

// Tokenizer::Options. (Declared outside the class: GCC rejects `Options = {}`
// as a default argument inside the class that defines Options, GCC bug 88165.)
// Text its producer guarantees to be valid UTF-8 (a chat template's
// rendering, see ChatTemplate::render), which encode() then does not check a
// second time.
struct ValidUtf8 {
  std::string_view text;
};

struct TokenizerOptions {
  // true: the text of special tokens inside the input is tokenized as plain
  // text (a user cannot inject <|eot_id|> into a prompt); false, the default,
  // matches Hugging Face.
  bool split_special_tokens = false;
  // The longest text encode accepts, in bytes (0: no limit). 64 MiB is
  // millions of tokens, far beyond any model's context.
  std::size_t max_input_bytes = std::size_t{64} << 20;
  // The longest word (a piece of the pre-tokenizer) encode accepts, in bytes
  // (0: no limit). BPE needs ~56 bytes of working memory per byte of a word.
  std::size_t max_word_bytes = std::size_t{1} << 20;
};

class Tokenizer {
 public:
  using Options = TokenizerOptions;

  // Token ids are at most this (bounds the id -> token table on any input).
  static constexpr std::int64_t kMaxTokenId = (std::int64_t{1} << detail::MergeMap::kIdBits) - 1;

  static Tokenizer load(const std::string& tokenizer_json_path, Options options = {});

  // `source` names the document in error messages (e.g. its path).
  static Tokenizer from_json(const nlohmann::json& j, const std::string& source, Options options = {});

  // max_tokens > 0: an urm::Error once the ids would be more than max_tokens
  // (the post-processor's special tokens included).
  std::vector<std::int32_t> encode(std::string_view text, bool add_special_tokens, std::size_t max_tokens = 0) const {
    check_utf8(text);
    return encode(ValidUtf8{text}, add_special_tokens, max_tokens);
  }
  std::vector<std::int32_t> encode(ValidUtf8 text, bool add_special_tokens, std::size_t max_tokens = 0) const {
    const std::size_t specials = add_special_tokens ? post_processor_.added_tokens(false) : 0;
    if (max_tokens != 0 && specials > max_tokens)
      throw Error("Tokenizer::encode: the post-processor alone adds " + std::to_string(specials) +
                  " tokens, more than max_tokens = " + std::to_string(max_tokens));
    return post_processor_.apply(encode_text(text.text, max_tokens == 0 ? 0 : max_tokens - specials, max_tokens),
                                 nullptr, add_special_tokens);
  }

  // Two sequences (e.g. a question and an answer), joined by the post-
  // processor's "pair" template.
  std::vector<std::int32_t> encode_pair(std::string_view a, std::string_view b, bool add_special_tokens) const {
    check_utf8(a);
    check_utf8(b);
    std::vector<std::int32_t> ia = encode_text(a, 0, 0);
    const std::vector<std::int32_t> ib = encode_text(b, 0, 0);
    return post_processor_.apply(std::move(ia), &ib, add_special_tokens);
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

  const Options& options() const { return options_; }

 private:
  // kind_ bits of an id.
  static constexpr std::uint8_t kModel = 1, kAdded = 2, kSpecial = 4,
                                kVerbatim = 8;  // spelling is its bytes (not in the ByteLevel alphabet)

  std::optional<std::int32_t> model_token_id(std::string_view spelling) const {
    if (const auto bytes = detail::byte_level_to_bytes(spelling)) return bpe_.vocab.find(*bytes);
    return verbatim_vocab_.find(spelling);
  }

  static void check_utf8(std::string_view text) {
    if (const std::size_t bad = detail::find_invalid_utf8(text); bad != std::string_view::npos)
      throw Error("Tokenizer::encode: invalid UTF-8 at byte offset " + std::to_string(bad));
  }

  // The ids of `text` (valid UTF-8) without the post-processor. max_tokens
  // > 0 (what the caller asked for, named in the message): throw once there
  // would be more than `limit` ids (max_tokens less the post-processor's tokens).
  std::vector<std::int32_t> encode_text(std::string_view text, std::size_t limit, std::size_t max_tokens) const {
    if (options_.max_input_bytes != 0 && text.size() > options_.max_input_bytes)
      throw Error("Tokenizer::encode: the text is " + std::to_string(text.size()) + " bytes long, more than the " +
                  std::to_string(options_.max_input_bytes) + " bytes of Tokenizer::Options::max_input_bytes");
    if (bpe_.byte_pair_merges.empty()) throw Error("Tokenizer::encode: this Tokenizer was moved from");
    // Pieces: plain text to pre-tokenize (in `text`, or in `normalized` when
    // there is a normalizer) and added tokens.
    std::vector<detail::TextSegment> segments;
    std::string normalized;
    if (!nfc_) {
      added_.split(text, segments);
    } else {
      std::vector<detail::TextSegment> raw;
      added_.split_raw(text, raw);
      normalized.reserve(text.size() + text.size() / 8);
      for (const detail::TextSegment& s : raw) {
        if (s.token_id >= 0) {  // offsets in the normalized text, like the other segments
          segments.push_back({normalized.size(), normalized.size(), s.token_id});
          continue;
        }
        const std::size_t begin = normalized.size();
        detail::append_nfc(text.substr(s.begin, s.end - s.begin), normalized);
        added_.split_normalized(normalized, begin, normalized.size(), segments);
      }
    }
    const std::string_view source = nfc_ ? std::string_view(normalized) : text;
    std::vector<std::int32_t> ids;
    ids.reserve(std::min<std::size_t>(text.size() / 3 + 4, max_tokens != 0 ? limit + 1 : text.size() / 3 + 4));
    detail::BpeScratch scratch;
    const auto too_many = [&](std::string_view word) {
      throw Error("Tokenizer::encode: the text has more than max_tokens = " + std::to_string(max_tokens) +
                  " tokens (stopped at byte " + std::to_string(word.data() - source.data()) + " of " +
                  std::to_string(source.size()) + ")");
    };
    // Words go through a small ring: each starts with a lookup at a random
    // place in the vocabulary table (megabytes), so a word is hashed and its
    // slot prefetched kAhead words before it is encoded, and those cache
    // misses overlap.
    constexpr std::size_t kAhead = 8;
    std::array<std::string_view, kAhead> ring_word;
    std::array<std::uint64_t, kAhead> ring_hash{};
    std::size_t n_words = 0;  // words entered into the ring so far
    const auto encode_word = [&](std::string_view word, std::uint64_t hash) {
      if (max_tokens != 0 && ids.size() + (word.size() + max_token_bytes_ - 1) / max_token_bytes_ > limit) too_many(word);
      if (!bpe_.encode_whole_word(word, hash, ids) && !(word_cache_ && word_cache_->find(word, hash, ids))) {
        const std::size_t first = ids.size();
        bpe_.merge_word(word, ids, scratch);
        if (word_cache_) word_cache_->insert(word, hash, std::span<const std::int32_t>(ids).subspan(first));
      }
      if (max_tokens != 0 && ids.size() > limit) too_many(word);
    };
    const auto flush = [&] {
      for (std::size_t k = n_words >= kAhead ? n_words - kAhead : 0; k < n_words; ++k)
        encode_word(ring_word[k % kAhead], ring_hash[k % kAhead]);
      n_words = 0;
    };
    for (const detail::TextSegment& s : segments) {
      if (s.token_id >= 0) {
        flush();
        ids.push_back(s.token_id);
        if (max_tokens != 0 && ids.size() > limit) too_many(source.substr(s.begin, 0));
        continue;
      }
      pre_tokenizer_.for_each_word(source.substr(s.begin, s.end - s.begin), [&](std::string_view word) {
        if (options_.max_word_bytes != 0 && word.size() > options_.max_word_bytes)
          throw Error("Tokenizer::encode: a word of " + std::to_string(word.size()) + " bytes at byte " +
                      std::to_string(word.data() - source.data()) + ", more than the " +
                      std::to_string(options_.max_word_bytes) + " bytes of Tokenizer::Options::max_word_bytes");
        const std::size_t slot = n_words % kAhead;
        if (n_words >= kAhead) encode_word(ring_word[slot], ring_hash[slot]);  // the word kAhead back
        ring_word[slot] = word;
        ring_hash[slot] = detail::hash_bytes(word);
        if (word.size() > 1) bpe_.vocab.prefetch(ring_hash[slot]);
        ++n_words;
      });
    }
    flush();
    return ids;
  }

  void check_id(std::int32_t id, const char* what) const {
    if (id < 0 || static_cast<std::size_t>(id) >= kind_.size() || kind_[static_cast<std::size_t>(id)] == 0)
      throw Error(std::string(what) + ": token id " + std::to_string(id) + " is not in the vocabulary (ids 0.." +
                  std::to_string(kind_.size() - 1) + ")");
  }

  std::string_view token_bytes(std::int32_t id) const {
    const TokenBytes& r = token_bytes_[static_cast<std::size_t>(id)];
    return std::string_view(bytes_).substr(r.offset, r.length);
  }

  class Loader;  // below: builds the tables while tokenizer.json is read
  Tokenizer() = default;  // empty tables: only Loader makes Tokenizers

  detail::BytePairModel bpe_;
  // Shared by copies of this Tokenizer (they have the same tables); guarded
  // by its own locks.
  std::shared_ptr<detail::BpeWordCache> word_cache_ = std::make_shared<detail::BpeWordCache>();
  detail::StringIdMap verbatim_vocab_;   // model tokens outside the ByteLevel alphabet, by spelling
  detail::StringIdMap added_by_content_;
  detail::AddedTokenMatcher added_;
  detail::PostProcessor post_processor_;
  detail::PreTokenizer pre_tokenizer_;
  bool nfc_ = false;               // the normalizer is NFC
  std::size_t max_token_bytes_ = 1;  // of the longest model token
  Options options_;
  struct TokenBytes {
    std::uint32_t offset = 0, length = 0;  // in bytes_
  };
  std::string bytes_;                     // bytes of every token, back to back
  std::vector<TokenBytes> token_bytes_;   // per id
  std::vector<std::uint8_t> kind_;        // per id: kModel | kAdded | kSpecial | kVerbatim; 0 = no token
  std::size_t vocab_size_ = 0;
};

// Builds a Tokenizer: receives model.vocab and model.merges entry by entry
// from the JSON reader (so the 9 MB file is never a tree), then checks the
// configuration and adds the added tokens and the post-processor.
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
      const bool byte_level = detail::byte_level_to_bytes(a.content, left_);
      set_bytes(i, byte_level ? std::string_view(left_) : std::string_view(a.content));
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
  std::string left_, right_;  // scratch: bytes of the tokens being looked up
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
