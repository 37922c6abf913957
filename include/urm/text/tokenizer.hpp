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

  class Loader;  // tokenizer_loader.hpp: builds the tables while tokenizer.json is read
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

}  // namespace urm

// Tokenizer::load and from_json are defined with the Loader they use, in its
// own header; included here so that this header alone gives the whole API.
#include "urm/text/tokenizer_loader.hpp"
