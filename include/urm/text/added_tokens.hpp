// Added tokens — strings (mostly special tokens such as <|begin_of_text|>)
// that are cut out of the input before pre-tokenization and become one id
// each, as Hugging Face's AddedVocabulary does by default:
//
//  * matches are found leftmost-longest and non-overlapping (HF uses an
//    Aho-Corasick automaton with MatchKind::LeftmostLongest); the search
//    resumes after the matched text;
//  * single_word: a match is dropped if a \w character touches it on either
//    side (HF's regexes \w$ and ^\w on the text before and after);
//  * lstrip / rstrip: the match absorbs the white space to its left (not
//    reaching into an earlier match) / to its right;
//  * normalized: matched in a second pass, over the pieces the first pass
//    (non-normalized tokens, on the input as it is) left, after the
//    normalizer (if any) has normalized each piece, as HF does;
//  * split_special_tokens (HF's encode_special_tokens): matches of special
//    tokens are dropped, so their text is tokenized as ordinary text.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "urm/text/unicode_class.hpp"
#include "urm/text/utf8.hpp"

namespace urm {

struct AddedToken {
  std::int32_t id = 0;
  std::string content;
  bool single_word = false;
  bool lstrip = false;
  bool rstrip = false;
  bool normalized = true;
  bool special = false;
};

}  // namespace urm

namespace urm::detail {

// A piece of the input: either an added token or text to pre-tokenize.
struct TextSegment {
  std::size_t begin, end;  // byte range in the input
  std::int32_t token_id;   // the added token, or -1 for plain text
};

// Byte trie of the contents of a set of added tokens.
class AddedTokenTrie {
 public:
  AddedTokenTrie() : nodes_(1) {}

  void add(std::string_view content, std::size_t token_index) {
    std::size_t node = 0;
    for (const char ch : content) {
      auto& edges = nodes_[node].edges;
      const auto c = static_cast<std::uint8_t>(ch);
      auto it = std::lower_bound(edges.begin(), edges.end(), c, [](const Edge& e, std::uint8_t x) { return e.byte < x; });
      if (it == edges.end() || it->byte != c) {
        const auto child = static_cast<std::uint32_t>(nodes_.size());
        it = edges.insert(it, Edge{c, child});
        nodes_.emplace_back();
      }
      node = it->child;
    }
    nodes_[node].token = static_cast<std::int32_t>(token_index);
    first_byte_[static_cast<std::uint8_t>(content[0])] = true;
  }

  struct Match {
    std::size_t begin = 0, end = 0;
    std::int32_t token = -1;  // index given to add(); -1: no match
  };

  // The leftmost-longest match in text[from..].
  Match find(std::string_view text, std::size_t from) const {
    for (std::size_t i = from; i < text.size(); ++i) {
      if (!first_byte_[static_cast<std::uint8_t>(text[i])]) continue;
      Match best;
      std::size_t node = 0;
      for (std::size_t k = i; k < text.size(); ++k) {
        const auto& edges = nodes_[node].edges;
        const auto c = static_cast<std::uint8_t>(text[k]);
        auto it = std::lower_bound(edges.begin(), edges.end(), c, [](const Edge& e, std::uint8_t x) { return e.byte < x; });
        if (it == edges.end() || it->byte != c) break;
        node = it->child;
        if (nodes_[node].token >= 0) best = Match{i, k + 1, nodes_[node].token};
      }
      if (best.token >= 0) return best;
    }
    return {};
  }

  bool empty() const { return nodes_.size() == 1; }

 private:
  struct Edge {
    std::uint8_t byte;
    std::uint32_t child;
  };
  struct Node {
    std::vector<Edge> edges;  // sorted by byte
    std::int32_t token = -1;
  };
  std::vector<Node> nodes_;
  bool first_byte_[256] = {};
};

class AddedTokenMatcher {
 public:
  AddedTokenMatcher() = default;
  AddedTokenMatcher(std::vector<AddedToken> tokens, bool split_special_tokens) : tokens_(std::move(tokens)) {
    for (std::size_t t = 0; t < tokens_.size(); ++t) {
      const AddedToken& tok = tokens_[t];
      if (tok.content.empty() || (split_special_tokens && tok.special)) continue;
      (tok.normalized ? normalized_ : raw_).add(tok.content, t);
    }
  }

  const std::vector<AddedToken>& tokens() const { return tokens_; }

  // The first pass: non-normalized added tokens cut out of `text`.
  void split_raw(std::string_view text, std::vector<TextSegment>& out) const { split_with(raw_, text, 0, text.size(), out); }

  // The second pass: normalized added tokens cut out of text[begin, end)
  // (a piece split_raw left, normalized).
  void split_normalized(std::string_view text, std::size_t begin, std::size_t end, std::vector<TextSegment>& out) const {
    split_with(normalized_, text, begin, end, out);
  }

  // Both passes on a text that needs no normalization. Empty pieces are
  // left out; segments are appended to out in order.
  void split(std::string_view text, std::vector<TextSegment>& out) const {
    if (normalized_.empty()) {
      split_with(raw_, text, 0, text.size(), out);
      return;
    }
    std::vector<TextSegment> first;
    split_with(raw_, text, 0, text.size(), first);
    for (const TextSegment& s : first) {
      if (s.token_id >= 0) out.push_back(s);
      else split_with(normalized_, text, s.begin, s.end, out);
    }
  }

 private:
  // HF's find_matches on the "sentence" text[begin, end).
  void split_with(const AddedTokenTrie& trie, std::string_view text, std::size_t begin, std::size_t end,
                  std::vector<TextSegment>& out) const {
    const std::string_view sentence = text.substr(begin, end - begin);
    std::size_t done = 0;  // end of the last emitted segment, in sentence
    std::size_t from = 0;  // where the search resumes
    if (!trie.empty()) {
      for (;;) {
        const AddedTokenTrie::Match m = trie.find(sentence, from);
        if (m.token < 0) break;
        from = m.end;
        const AddedToken& tok = tokens_[static_cast<std::size_t>(m.token)];
        if (tok.single_word && (ends_with_word(sentence.substr(0, m.begin)) || starts_with_word(sentence.substr(m.end)))) continue;
        std::size_t start = m.begin, stop = m.end;
        if (tok.lstrip) start = std::max(trailing_space_start(sentence.substr(0, start)), done);
        if (tok.rstrip) stop += leading_space_length(sentence.substr(stop));
        if (done < start) out.push_back({begin + done, begin + start, -1});
        out.push_back({begin + start, begin + stop, tok.id});
        done = stop;
      }
    }
    if (done < sentence.size()) out.push_back({begin + done, end, -1});
  }

  // The last character of s is a \w character.
  static bool ends_with_word(std::string_view s) {
    if (s.empty()) return false;
    std::size_t i = s.size() - 1;
    while (i > 0 && (static_cast<std::uint8_t>(s[i]) & 0xC0) == 0x80) --i;
    return is_word_char(decode_utf8_at(s, i).cp);
  }
  static bool starts_with_word(std::string_view s) { return !s.empty() && is_word_char(decode_utf8_at(s, 0).cp); }

  // Start of the run of white space that ends s.
  static std::size_t trailing_space_start(std::string_view s) {
    std::size_t end = s.size();
    while (end > 0) {
      std::size_t i = end - 1;
      while (i > 0 && (static_cast<std::uint8_t>(s[i]) & 0xC0) == 0x80) --i;
      if (!is_white_space(decode_utf8_at(s, i).cp)) break;
      end = i;
    }
    return end;
  }
  // Length of the run of white space that starts s.
  static std::size_t leading_space_length(std::string_view s) {
    std::size_t i = 0;
    while (i < s.size()) {
      const Utf8Char c = decode_utf8_at(s, i);
      if (!is_white_space(c.cp)) break;
      i += c.len;
    }
    return i;
  }

  std::vector<AddedToken> tokens_;
  AddedTokenTrie raw_;         // normalized == false: matched on the input text
  AddedTokenTrie normalized_;  // normalized == true: matched on what raw_ left
};

}  // namespace urm::detail
