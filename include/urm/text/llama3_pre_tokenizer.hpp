// Llama-3 pre-tokenizer — the words that Hugging Face's `Split` pre-tokenizer
// (behaviour Isolated) cuts from a text with the regex
//
//   (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
//
// matched with the semantics of Oniguruma, the engine `tokenizers` uses:
// leftmost match, alternatives tried in order, greedy quantifiers that
// backtrack. Every character is covered by some alternative, so the matches
// tile the text and each one is a word. Written out per alternative below
// (i = start of the match, n = number of characters):
//
//  1 (?i:'s|'t|'re|'ve|'m|'ll|'d)  apostrophe + letters compared after simple
//    case folding, so 'S and 'ſ (U+017F, folds to s) match as 's does.
//  2 [^\r\n\p{L}\p{N}]?\p{L}+      a run of letters, optionally led by one
//    character that is not CR, LF, a letter or a number (" word", "¿Qué").
//  3 \p{N}{1,3}                    up to three numbers.
//  4 ' ?[^\s\p{L}\p{N}]+[\r\n]*'   a run of symbols, optionally led by one
//    U+0020, and the CR/LF that directly follow it.
//  5 \s*[\r\n]+                    white space up to and including the last
//    CR/LF of the white-space run at i (\s* backtracks to that CR/LF).
//  6 \s+(?!\S)                     a white-space run [i, j): all of it at the
//    end of the text, else all but its last character (which then leads the
//    next word), if that leaves at least one.
//  7 \s+                           the whole white-space run (length 1 here).
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "urm/text/unicode_class.hpp"
#include "urm/text/utf8.hpp"

namespace urm::detail {

// The exact pattern string as it appears in tokenizer.json.
inline constexpr std::string_view kLlama3SplitPattern =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

// One decoded character of the text being split.
struct PreTokenChar {
  std::uint32_t cp;
  std::uint32_t offset;  // byte offset in the text
  std::uint8_t flags;    // kIsLetter | kIsNumber | kIsSpace | kIsCrLf
};
inline constexpr std::uint8_t kIsLetter = 1, kIsNumber = 2, kIsSpace = 4, kIsCrLf = 8;

// Calls word(std::string_view) for each word of `text` (valid UTF-8), in order.
// `chars` is scratch space, reused across calls to avoid reallocation.
template <class Fn>
void llama3_pre_tokenize(std::string_view text, std::vector<PreTokenChar>& chars, Fn&& word) {
  chars.clear();
  for (std::size_t i = 0; i < text.size();) {
    const std::uint8_t b = static_cast<std::uint8_t>(text[i]);
    const Utf8Char c = b < 0x80 ? Utf8Char{b, 1, true} : decode_utf8_at(text, i);
    std::uint8_t flags = 0;
    switch (char_class(c.cp)) {
      case CharClass::kLetter: flags = kIsLetter; break;
      case CharClass::kNumber: flags = kIsNumber; break;
      case CharClass::kSpace: flags = (c.cp == '\r' || c.cp == '\n') ? (kIsSpace | kIsCrLf) : kIsSpace; break;
      case CharClass::kOther: break;
    }
    chars.push_back({c.cp, static_cast<std::uint32_t>(i), flags});
    i += c.len;
  }
  const std::size_t n = chars.size();
  const auto has = [&](std::size_t k, std::uint8_t f) { return k < n && (chars[k].flags & f) != 0; };
  // [^\s\p{L}\p{N}]: a character that is neither white space, letter nor number.
  const auto symbol = [&](std::size_t k) { return k < n && (chars[k].flags & (kIsLetter | kIsNumber | kIsSpace)) == 0; };
  const auto fold = [&](std::size_t k) { return k < n ? contraction_fold(chars[k].cp) : '\0'; };

  // The end (in characters) of the word that starts at character i.
  const auto match_end = [&](std::size_t i) -> std::size_t {
    // 1. Contractions.
    if (chars[i].cp == '\'') {
      const char c1 = fold(i + 1);
      if (c1 == 's' || c1 == 't' || c1 == 'm' || c1 == 'd') return i + 2;
      const char c2 = fold(i + 2);
      if ((c1 == 'r' || c1 == 'v') && c2 == 'e') return i + 3;
      if (c1 == 'l' && c2 == 'l') return i + 3;
    }
    // 2. Letters, optionally led by one non-CR/LF, non-letter, non-number.
    std::size_t j = i;
    if ((chars[i].flags & (kIsLetter | kIsNumber | kIsCrLf)) == 0 && has(i + 1, kIsLetter)) j = i + 1;
    if (has(j, kIsLetter)) {
      while (has(j, kIsLetter)) ++j;
      return j;
    }
    // 3. Up to three numbers.
    if (has(i, kIsNumber)) {
      j = i + 1;
      while (j < i + 3 && has(j, kIsNumber)) ++j;
      return j;
    }
    // 4. Symbols, optionally led by one space, then trailing CR/LF.
    j = (chars[i].cp == ' ' && symbol(i + 1)) ? i + 1 : i;
    if (symbol(j)) {
      while (symbol(j)) ++j;
      while (has(j, kIsCrLf)) ++j;
      return j;
    }
    // Only white space is left: chars[i] is in a white-space run [i, j).
    j = i;
    while (has(j, kIsSpace)) ++j;
    // 5. Up to the run's last CR/LF.
    for (std::size_t k = j; k > i; --k)
      if (has(k - 1, kIsCrLf)) return k;
    // 6. The run, less its last character if a non-space follows; 7. else the run.
    if (j < n && j - i >= 2) return j - 1;
    return j;
  };

  for (std::size_t i = 0; i < n;) {
    const std::size_t j = match_end(i);
    const std::size_t begin = chars[i].offset;
    const std::size_t end = j < n ? chars[j].offset : text.size();
    word(text.substr(begin, end - begin));
    i = j;
  }
}

}  // namespace urm::detail
