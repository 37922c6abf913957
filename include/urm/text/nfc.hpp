// NFC — Unicode Normalization Form C (UAX #15), the "NFC" normalizer of
// tokenizer.json (Qwen2/Qwen3), with Hugging Face's data: its crate
// unicode-normalization-alignments 0.1.12 has Unicode 9.0.0 tables, so a
// character assigned later is left as it is (unicode_tables.hpp has the 9.0
// subset; see tools/gen_unicode_tables.cpp).
//
// NFC(s) = canonical composition of the canonical decomposition of s:
//   1. every character is replaced by its full canonical decomposition
//      (recursively; Hangul syllables arithmetically, S = SBase + (L·VCount
//      + V)·TCount + T);
//   2. each run of non-starters (combining class != 0) is stably sorted by
//      combining class;
//   3. from left to right, a character C combines with the last starter S
//      before it when S+C has a primary composite and C is not blocked (no
//      character between them has class 0 or a class >= C's).
// Most text needs none of this: a character that is a starter, has no
// decomposition and never combines with what precedes it ("inert") ends
// every composition, so only the stretches between inert characters around
// the others are normalized, and an all-inert text is copied as it is.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

#include "urm/text/unicode_class.hpp"
#include "urm/text/unicode_tables.hpp"
#include "urm/text/utf8.hpp"

namespace urm::detail {

namespace nfc_detail {

inline constexpr std::uint32_t kSBase = 0xAC00, kLBase = 0x1100, kVBase = 0x1161, kTBase = 0x11A7;
inline constexpr std::uint32_t kLCount = 19, kVCount = 21, kTCount = 28, kNCount = kVCount * kTCount,
                               kSCount = kLCount * kNCount;

// Every code point that is not inert is below this (the 9.0 data ends at
// U+2FA1D, the CJK compatibility ideographs supplement).
inline constexpr std::uint32_t kBitmapLimit = 0x30000;

// Bit cp: cp is not inert. Inert = combining class 0 and NFC_QC = Yes: a
// starter that is not the second of any composition and whose NFC is itself
// (no decomposition, or one that composes back: a primary composite). Such a
// character blocks every composition across it, and reordering stops at it.
inline constexpr std::array<std::uint64_t, kBitmapLimit / 64> kNotInert = [] {
  std::array<std::uint64_t, kBitmapLimit / 64> bits{};
  const auto set = [&](std::uint32_t cp) { bits[cp / 64] |= std::uint64_t{1} << (cp % 64); };
  const auto clear = [&](std::uint32_t cp) { bits[cp / 64] &= ~(std::uint64_t{1} << (cp % 64)); };
  for (const auto& d : unicode_data::kDecompositions) set(d.from);
  for (const auto& c : unicode_data::kCompositions) clear(c.composite);  // decompose and compose back
  for (const auto& c : unicode_data::kCompositions) set(c.second);
  for (const auto& r : unicode_data::kCombiningClass)
    for (std::uint32_t cp = r.first; cp <= r.last; ++cp) set(cp);
  for (std::uint32_t cp = kVBase; cp < kVBase + kVCount; ++cp) set(cp);      // L+V and LV+T compose
  for (std::uint32_t cp = kTBase + 1; cp < kTBase + kTCount; ++cp) set(cp);  // arithmetically
  return bits;
}();

inline bool inert(std::uint32_t cp) { return cp >= kBitmapLimit || ((kNotInert[cp / 64] >> (cp % 64)) & 1) == 0; }

inline std::uint8_t combining_class(std::uint32_t cp) {
  return cp < 0x300 ? 0 : range_value(unicode_data::kCombiningClass, cp);
}

inline const unicode_data::Decomposition* decomposition(std::uint32_t cp) {
  const auto* b = std::begin(unicode_data::kDecompositions);
  const auto* e = std::end(unicode_data::kDecompositions);
  const auto* it = std::lower_bound(b, e, cp, [](const unicode_data::Decomposition& d, std::uint32_t c) { return d.from < c; });
  return it != e && it->from == cp ? it : nullptr;
}

// The primary composite of (a, b), or 0.
inline std::uint32_t compose(std::uint32_t a, std::uint32_t b) {
  if (a >= kLBase && a < kLBase + kLCount && b >= kVBase && b < kVBase + kVCount)
    return kSBase + ((a - kLBase) * kVCount + (b - kVBase)) * kTCount;
  if (a >= kSBase && a < kSBase + kSCount && (a - kSBase) % kTCount == 0 && b > kTBase && b < kTBase + kTCount)
    return a + (b - kTBase);
  const auto* first = std::begin(unicode_data::kCompositions);
  const auto* last = std::end(unicode_data::kCompositions);
  const auto* it = std::lower_bound(first, last, std::pair{a, b}, [](const unicode_data::Composition& c, std::pair<std::uint32_t, std::uint32_t> k) {
    return c.first != k.first ? c.first < k.first : c.second < k.second;
  });
  return it != last && it->first == a && it->second == b ? it->composite : 0;
}

struct Char {
  std::uint32_t cp;
  std::uint8_t ccc;
};

// Appends the full canonical decomposition of cp, keeping each run of
// non-starters sorted by class (insertion: the runs are short).
inline void decompose(std::uint32_t cp, std::vector<Char>& out) {
  if (cp >= kSBase && cp < kSBase + kSCount) {
    const std::uint32_t s = cp - kSBase;
    out.push_back({kLBase + s / kNCount, 0});
    out.push_back({kVBase + (s % kNCount) / kTCount, 0});
    if (s % kTCount != 0) out.push_back({kTBase + s % kTCount, 0});
    return;
  }
  if (const auto* d = decomposition(cp)) {
    decompose(d->to[0], out);
    if (d->to[1] != 0) decompose(d->to[1], out);
    return;
  }
  const std::uint8_t ccc = combining_class(cp);
  out.push_back({cp, ccc});
  if (ccc == 0) return;
  for (std::size_t i = out.size() - 1; i > 0 && out[i - 1].ccc > ccc; --i) std::swap(out[i - 1], out[i]);
}

// NFC of s (no inert character inside but possibly its first), appended to out.
inline void normalize_stretch(std::string_view s, std::string& out, std::vector<Char>& buf) {
  buf.clear();
  for (std::size_t i = 0; i < s.size();) {
    const Utf8Char c = decode_utf8_at(s, i);
    decompose(c.cp, buf);
    i += c.len;
  }
  // Canonical composition (UAX #15, the sample code's algorithm).
  std::size_t starter = 0, n = buf.empty() ? 0 : 1;
  bool have_starter = !buf.empty() && buf[0].ccc == 0;
  int last_class = buf.empty() || buf[0].ccc == 0 ? 0 : 256;
  for (std::size_t i = 1; i < buf.size(); ++i) {
    const Char c = buf[i];
    if (have_starter && (last_class < c.ccc || last_class == 0)) {
      if (const std::uint32_t composite = compose(buf[starter].cp, c.cp)) {
        buf[starter].cp = composite;
        continue;
      }
    }
    if (c.ccc == 0) {
      starter = n;
      have_starter = true;
    }
    last_class = c.ccc;
    buf[n++] = c;
  }
  for (std::size_t i = 0; i < n; ++i) append_utf8(out, buf[i].cp);
}

}  // namespace nfc_detail

// Appends NFC(s) to out (s valid UTF-8).
inline void append_nfc(std::string_view s, std::string& out) {
  std::vector<nfc_detail::Char> buf;
  std::size_t copied = 0;  // s[0, copied) is in out
  std::size_t last_inert = 0;  // start of the last inert character seen
  for (std::size_t i = 0; i < s.size();) {
    const auto b = static_cast<std::uint8_t>(s[i]);
    if (b < 0xCC) {  // below U+0300: all inert
      last_inert = i;
      i += b < 0x80 ? 1 : 2;
      continue;
    }
    const Utf8Char c = decode_utf8_at(s, i);
    if (nfc_detail::inert(c.cp)) {
      last_inert = i;
      i += c.len;
      continue;
    }
    // A stretch from the inert character before (it may compose with what
    // follows) to the next inert character.
    const std::size_t begin = std::max(last_inert, copied);
    std::size_t end = i + c.len;
    while (end < s.size()) {
      const Utf8Char d = decode_utf8_at(s, end);
      if (nfc_detail::inert(d.cp)) break;
      end += d.len;
    }
    out.append(s.substr(copied, begin - copied));
    nfc_detail::normalize_stretch(s.substr(begin, end - begin), out, buf);
    copied = end;
    last_inert = end;
    i = end;
  }
  out.append(s.substr(copied));
}

inline std::string nfc(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  append_nfc(s, out);
  return out;
}

}  // namespace urm::detail
