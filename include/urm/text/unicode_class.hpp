// Unicode character classes that the pre-tokenizer regex and the added-token
// rules use: \p{L}, \p{N}, \s, the regex crate's \w, and the case folding of
// the contraction letters. Data: unicode_tables.hpp (Unicode 16.0.0, made by
// tools/gen_unicode_tables.sh; see there why that version).
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <iterator>

#include "urm/text/unicode_tables.hpp"

namespace urm::detail {

enum class CharClass : std::uint8_t { kOther = 0, kLetter = 1, kNumber = 2, kSpace = 3 };

// Value of the range holding cp in a sorted, disjoint table, or 0.
template <std::size_t N>
constexpr std::uint8_t range_value(const unicode_data::Range (&table)[N], std::uint32_t cp) {
  const auto* it = std::upper_bound(std::begin(table), std::end(table), cp,
                                    [](std::uint32_t c, const unicode_data::Range& r) { return c < r.first; });
  if (it == std::begin(table)) return 0;
  --it;
  return cp <= it->last ? it->value : 0;
}

// Classes of the first 256 code points, looked up without a search (most
// text is ASCII or Latin-1).
inline constexpr std::array<CharClass, 256> kLatin1Classes = [] {
  std::array<CharClass, 256> t{};
  for (std::uint32_t cp = 0; cp < 256; ++cp) t[cp] = static_cast<CharClass>(range_value(unicode_data::kClassRanges, cp));
  return t;
}();

inline CharClass char_class(std::uint32_t cp) {
  if (cp < 256) return kLatin1Classes[cp];
  return static_cast<CharClass>(range_value(unicode_data::kClassRanges, cp));
}

inline bool is_white_space(std::uint32_t cp) { return char_class(cp) == CharClass::kSpace; }

// The regex crate's Unicode \w (Alphabetic, marks, Nd, Pc, Join_Control).
inline bool is_word_char(std::uint32_t cp) { return range_value(unicode_data::kWordRanges, cp) != 0; }

// The lowercase ASCII letter cp case-folds to, if it is one of s t r e v m l d
// (e.g. 'S' -> 's', U+017F LATIN SMALL LETTER LONG S -> 's'); otherwise 0.
inline char contraction_fold(std::uint32_t cp) {
  if (cp >= 'a' && cp <= 'z') return static_cast<char>(cp);
  return static_cast<char>(range_value(unicode_data::kContractionFolds, cp));
}

}  // namespace urm::detail
