// Unicode character properties that the tokenizer needs: General_Category
// (the regex's \p{..}), White_Space (\s), Alphabetic (Oniguruma's \w), the
// regex crate's \w (added tokens' single_word) and simple case folding
// ((?i) in the regex). Data: unicode_tables.hpp (Unicode 16.0.0, made by
// tools/gen_unicode_tables.sh; see there why that version).
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <iterator>

#include "urm/text/unicode_tables.hpp"

namespace urm::detail {

using unicode_data::GeneralCategory;

// Value of the range holding cp in a sorted, disjoint table, or `none`.
template <std::size_t N>
constexpr std::uint8_t range_value(const unicode_data::Range (&table)[N], std::uint32_t cp, std::uint8_t none = 0) {
  const auto* it = std::upper_bound(std::begin(table), std::end(table), cp,
                                    [](std::uint32_t c, const unicode_data::Range& r) { return c < r.first; });
  if (it == std::begin(table)) return none;
  --it;
  return cp <= it->last ? it->value : none;
}

inline GeneralCategory general_category(std::uint32_t cp) {
  return static_cast<GeneralCategory>(range_value(unicode_data::kGeneralCategory, cp, unicode_data::kCn));
}

inline bool is_white_space(std::uint32_t cp) { return range_value(unicode_data::kWhiteSpace, cp) != 0; }

inline bool is_alphabetic(std::uint32_t cp) { return range_value(unicode_data::kAlphabetic, cp) != 0; }

// The regex crate's Unicode \w (Alphabetic, marks, Nd, Pc, Join_Control).
inline bool is_word_char(std::uint32_t cp) { return range_value(unicode_data::kWordRanges, cp) != 0; }

// The simple case folding of cp (CaseFolding.txt status C or S), or cp.
inline std::uint32_t simple_case_fold(std::uint32_t cp) {
  const auto* table = std::begin(unicode_data::kSimpleCaseFolds);
  const auto* end = std::end(unicode_data::kSimpleCaseFolds);
  const auto* it = std::lower_bound(table, end, cp, [](const unicode_data::CaseFold& f, std::uint32_t c) { return f.from < c; });
  return it != end && it->from == cp ? it->to : cp;
}

}  // namespace urm::detail
