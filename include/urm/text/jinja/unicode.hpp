// UTF-8 helpers with Python's notion of whitespace, for the Jinja interpreter.
//
// Jinja2 runs on Python `str`: `str.strip()`, `str.rstrip()` and the regex
// `\s` all use Python's whitespace set (str.isspace), which is wider than
// ASCII: it includes U+0085, U+00A0, U+1680, U+2000..U+200A, U+2028/9,
// U+202F, U+205F, U+3000 and the separators U+001C..U+001F. The `trim`
// filter and whitespace control (`{%-`, lstrip_blocks) must strip exactly
// that set, and `length` counts code points, not bytes.
//
// Inputs are required to be valid UTF-8 (checked once with
// detail::find_invalid_utf8 where text enters the interpreter), so the
// helpers here can trust it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "urm/text/utf8.hpp"

namespace urm::detail::jinja {

// Length in bytes of the UTF-8 sequence that starts with byte c (valid input).
inline std::size_t utf8_length(unsigned char c) {
  if (c < 0x80) return 1;
  if (c < 0xE0) return 2;
  if (c < 0xF0) return 3;
  return 4;
}

// The code point at byte i of valid UTF-8 text.
inline std::uint32_t decode_at(std::string_view s, std::size_t i) { return decode_utf8_at(s, i).cp; }

// Byte offset of the code point that ends just before byte i (i > 0).
inline std::size_t previous_start(std::string_view s, std::size_t i) {
  do {
    --i;
  } while (i > 0 && (static_cast<unsigned char>(s[i]) & 0xC0u) == 0x80u);
  return i;
}

inline std::size_t count_code_points(std::string_view s) {
  std::size_t n = 0;
  for (const char c : s)
    if ((static_cast<unsigned char>(c) & 0xC0u) != 0x80u) ++n;
  return n;
}

// Python's str.isspace(), which is also what `\s` matches in Python's re:
// exactly these 29 code points (listed from CPython 3.11 over all of Unicode).
constexpr bool is_python_space(std::uint32_t cp) {
  return (cp >= 0x09 && cp <= 0x0D) || (cp >= 0x1C && cp <= 0x20) || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
         (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F ||
         cp == 0x3000;
}

// Python's str.strip / lstrip / rstrip over a set of code points
// (`is_stripped`), on valid UTF-8.
template <class Pred>
std::string_view strip_code_points(std::string_view s, bool left, bool right, Pred is_stripped) {
  std::size_t b = 0, e = s.size();
  if (left) {
    while (b < e && is_stripped(decode_at(s, b))) b += utf8_length(static_cast<unsigned char>(s[b]));
  }
  if (right) {
    while (e > b) {
      const std::size_t p = previous_start(s, e);
      if (!is_stripped(decode_at(s, p))) break;
      e = p;
    }
  }
  return s.substr(b, e - b);
}

inline std::string_view python_rstrip(std::string_view s) {
  return strip_code_points(s, false, true, is_python_space);
}

}  // namespace urm::detail::jinja
