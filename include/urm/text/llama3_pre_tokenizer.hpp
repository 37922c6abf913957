// Llama-3 pre-tokenizer — the words that Hugging Face's `Split` pre-tokenizer
// (behaviour Isolated) cuts from a text with the regex
//
//   (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
//
// matched with the semantics of Oniguruma, the engine `tokenizers` uses:
// leftmost match, alternatives tried in order, greedy quantifiers that
// backtrack. Every character is covered by some alternative, so the matches
// tile the text and each one is a word. Written out per alternative below
// (p = where the match starts):
//
//  1 (?i:'s|'t|'re|'ve|'m|'ll|'d)  apostrophe + letters compared after simple
//    case folding, so 'S and 'ſ (U+017F, folds to s) match as 's does.
//  2 [^\r\n\p{L}\p{N}]?\p{L}+      a run of letters, optionally led by one
//    character that is not CR, LF, a letter or a number (" word", "¿Qué").
//  3 \p{N}{1,3}                    up to three numbers.
//  4 ' ?[^\s\p{L}\p{N}]+[\r\n]*'   a run of symbols, optionally led by one
//    U+0020, and the CR/LF that directly follow it.
//  5 \s*[\r\n]+                    white space up to and including the last
//    CR/LF of the white-space run at p (\s* backtracks to that CR/LF).
//  6 \s+(?!\S)                     a white-space run: all of it at the
//    end of the text, else all but its last character (which then leads the
//    next word), if that leaves at least one.
//  7 \s+                           the whole white-space run (length 1 here).
#pragma once

#include <cstdint>
#include <string_view>

#include "urm/text/unicode_class.hpp"
#include "urm/text/utf8.hpp"

namespace urm::detail {

// The exact pattern string as it appears in tokenizer.json.
inline constexpr std::string_view kLlama3SplitPattern =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

inline constexpr std::uint8_t kIsLetter = 1, kIsNumber = 2, kIsSpace = 4, kIsCrLf = 8;

// The character at a byte offset of the text being split.
struct PreTokenChar {
  std::uint32_t cp;
  std::uint32_t len;    // bytes; 0 past the end of the text
  std::uint8_t flags;   // kIsLetter | kIsNumber | kIsSpace | kIsCrLf; 0 past the end
};

inline PreTokenChar pre_token_char_at(std::string_view text, std::size_t p) {
  if (p >= text.size()) return {0, 0, 0};
  const std::uint8_t b = static_cast<std::uint8_t>(text[p]);
  const Utf8Char c = b < 0x80 ? Utf8Char{b, 1, true} : decode_utf8_at(text, p);
  std::uint8_t flags = 0;
  switch (char_class(c.cp)) {
    case CharClass::kLetter: flags = kIsLetter; break;
    case CharClass::kNumber: flags = kIsNumber; break;
    case CharClass::kSpace: flags = (c.cp == '\r' || c.cp == '\n') ? (kIsSpace | kIsCrLf) : kIsSpace; break;
    case CharClass::kOther: break;
  }
  return {c.cp, c.len, flags};
}

// The end (byte offset) of the word of `text` (valid UTF-8) that starts at
// byte p < text.size(). Works on the bytes directly, decoding characters as
// it reads them, so splitting needs no memory beyond the text.
inline std::size_t llama3_word_end(std::string_view text, std::size_t p) {
  const auto at = [&](std::size_t q) { return pre_token_char_at(text, q); };
  const auto is = [](const PreTokenChar& c, std::uint8_t f) { return (c.flags & f) != 0; };
  // [^\s\p{L}\p{N}]: a character that is neither white space, letter nor number.
  const auto symbol = [&](const PreTokenChar& c) { return c.len != 0 && (c.flags & (kIsLetter | kIsNumber | kIsSpace)) == 0; };
  const PreTokenChar c0 = at(p);

  // 1. Contractions (the apostrophe is one byte).
  if (c0.cp == '\'') {
    const PreTokenChar c1 = at(p + 1);
    const char f1 = c1.len != 0 ? contraction_fold(c1.cp) : '\0';
    if (f1 == 's' || f1 == 't' || f1 == 'm' || f1 == 'd') return p + 1 + c1.len;
    if (f1 == 'r' || f1 == 'v' || f1 == 'l') {
      const PreTokenChar c2 = at(p + 1 + c1.len);
      const char f2 = c2.len != 0 ? contraction_fold(c2.cp) : '\0';
      if ((f1 != 'l' && f2 == 'e') || (f1 == 'l' && f2 == 'l')) return p + 1 + c1.len + c2.len;
    }
  }
  // 2. Letters, optionally led by one non-CR/LF, non-letter, non-number.
  std::size_t q = p;
  if (!is(c0, kIsLetter | kIsNumber | kIsCrLf) && is(at(p + c0.len), kIsLetter)) q = p + c0.len;
  if (q != p || is(c0, kIsLetter)) {
    for (PreTokenChar c = at(q); is(c, kIsLetter); c = at(q)) q += c.len;
    return q;
  }
  // 3. Up to three numbers.
  if (is(c0, kIsNumber)) {
    q = p + c0.len;
    for (int k = 1; k < 3; ++k) {
      const PreTokenChar c = at(q);
      if (!is(c, kIsNumber)) break;
      q += c.len;
    }
    return q;
  }
  // 4. Symbols, optionally led by one U+0020, then trailing CR/LF.
  q = (c0.cp == ' ' && symbol(at(p + 1))) ? p + 1 : p;
  if (symbol(at(q))) {
    for (PreTokenChar c = at(q); symbol(c); c = at(q)) q += c.len;
    while (q < text.size() && (text[q] == '\r' || text[q] == '\n')) ++q;
    return q;
  }
  // Only white space is left: c0 starts a white-space run [p, q).
  std::size_t last_crlf_end = 0, last_start = p;
  for (PreTokenChar c = at(q); is(c, kIsSpace); c = at(q)) {
    last_start = q;
    q += c.len;
    if (is(c, kIsCrLf)) last_crlf_end = q;
  }
  // 5. Up to the run's last CR/LF.
  if (last_crlf_end != 0) return last_crlf_end;
  // 6. The run, less its last character if a non-space follows; 7. else the run.
  if (q < text.size() && last_start > p) return last_start;
  return q;
}

// Calls word(std::string_view) for each word of `text` (valid UTF-8), in order.
template <class Fn>
void llama3_pre_tokenize(std::string_view text, Fn&& word) {
  for (std::size_t p = 0; p < text.size();) {
    const std::size_t end = llama3_word_end(text, p);
    word(text.substr(p, end - p));
    p = end;
  }
}

}  // namespace urm::detail
