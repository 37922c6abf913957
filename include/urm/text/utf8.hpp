// UTF-8 — decoding one code point, validating a whole string, and the lossy
// conversion of arbitrary bytes to valid UTF-8.
//
// Well-formed UTF-8 is the table of Unicode §3.9 (Table 3-7): no overlong
// forms, no surrogates (U+D800..U+DFFF), nothing above U+10FFFF. The lossy
// conversion replaces each "maximal subpart" of an ill-formed sequence with
// one U+FFFD, the practice Unicode recommends and Rust's
// String::from_utf8_lossy follows (so decode() matches Hugging Face's).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace urm::detail {

struct Utf8Char {
  std::uint32_t cp;   // the code point (U+FFFD if ill-formed)
  std::uint32_t len;  // bytes taken: the whole character, or, if ill-formed,
                      // the maximal subpart (>= 1) that one U+FFFD replaces
  bool valid;
};

// Decodes the character that starts at s[i] (i < s.size()).
inline Utf8Char decode_utf8_at(std::string_view s, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<std::uint8_t>(s[k]); };
  const std::uint8_t b0 = byte(i);
  if (b0 < 0x80) return {b0, 1, true};
  // Continuation bytes expected, and the allowed range of the second byte.
  std::uint32_t need = 0;
  std::uint8_t lo = 0x80, hi = 0xBF;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    need = 1;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    need = 2;
    if (b0 == 0xE0) lo = 0xA0;  // no overlong 3-byte forms
    if (b0 == 0xED) hi = 0x9F;  // no surrogates
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    need = 3;
    if (b0 == 0xF0) lo = 0x90;  // no overlong 4-byte forms
    if (b0 == 0xF4) hi = 0x8F;  // nothing above U+10FFFF
  } else {
    return {0xFFFD, 1, false};
  }
  std::uint32_t cp = b0 & (0x3Fu >> need);
  for (std::uint32_t k = 1; k <= need; ++k) {
    if (i + k >= s.size()) return {0xFFFD, k, false};
    const std::uint8_t b = byte(i + k);
    const bool ok = k == 1 ? (b >= lo && b <= hi) : (b >= 0x80 && b <= 0xBF);
    if (!ok) return {0xFFFD, k, false};
    cp = (cp << 6) | (b & 0x3Fu);
  }
  return {cp, need + 1, true};
}

// Byte offset of the first ill-formed sequence, or std::string_view::npos.
inline std::size_t find_invalid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    if (static_cast<std::uint8_t>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    const Utf8Char c = decode_utf8_at(s, i);
    if (!c.valid) return i;
    i += c.len;
  }
  return std::string_view::npos;
}

inline void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// Arbitrary bytes -> valid UTF-8: each maximal subpart of an ill-formed
// sequence becomes U+FFFD (like Rust's String::from_utf8_lossy).
inline std::string utf8_lossy(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  std::size_t i = 0;
  while (i < s.size()) {
    const std::size_t start = i;
    while (i < s.size()) {  // copy the longest well-formed run in one go
      if (static_cast<std::uint8_t>(s[i]) < 0x80) {
        ++i;
        continue;
      }
      const Utf8Char c = decode_utf8_at(s, i);
      if (!c.valid) break;
      i += c.len;
    }
    out.append(s.substr(start, i - start));
    if (i < s.size()) {
      append_utf8(out, 0xFFFD);
      i += decode_utf8_at(s, i).len;
    }
  }
  return out;
}

}  // namespace urm::detail
