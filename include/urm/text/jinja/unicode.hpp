// UTF-8 helpers with Python's notion of whitespace, for the Jinja interpreter.
//
// Jinja2 runs on Python `str`: `str.strip()`, `str.rstrip()` and the regex
// `\s` all use Python's whitespace set (str.isspace), which is wider than
// ASCII: it includes U+0085, U+00A0, U+1680, U+2000..U+200A, U+2028/9,
// U+202F, U+205F, U+3000 and the separators U+001C..U+001F. The `trim`
// filter and whitespace control (`{%-`, lstrip_blocks) must strip exactly
// that set, and `length` counts code points, not bytes.
//
// Inputs are required to be valid UTF-8 (checked once, by validate_utf8,
// where text enters the interpreter), so the decoders here can trust it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace urm::detail::jinja {

// Byte offset of the first invalid UTF-8 sequence (overlong forms,
// surrogates and code points above U+10FFFF are invalid, as in Python's
// strict decoder), or nullopt when the text is valid.
inline std::optional<std::size_t> find_invalid_utf8(std::string_view s) {
  std::size_t i = 0;
  const std::size_t n = s.size();
  while (i < n) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t len = 0;
    std::uint32_t cp = 0;
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
      cp = c & 0x1Fu;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      cp = c & 0x0Fu;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      cp = c & 0x07u;
    } else {
      return i;
    }
    if (n - i < len) return i;
    for (std::size_t k = 1; k < len; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0u) != 0x80u) return i;
      cp = (cp << 6) | (cc & 0x3Fu);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
      return i;
    i += len;
  }
  return std::nullopt;
}

// Length in bytes of the UTF-8 sequence that starts with byte c (valid input).
inline std::size_t utf8_length(unsigned char c) {
  if (c < 0x80) return 1;
  if (c < 0xE0) return 2;
  if (c < 0xF0) return 3;
  return 4;
}

// The code point at byte i of valid UTF-8 text.
inline std::uint32_t decode_at(std::string_view s, std::size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  const std::size_t len = utf8_length(c);
  if (len == 1) return c;
  std::uint32_t cp = c & (len == 2 ? 0x1Fu : len == 3 ? 0x0Fu : 0x07u);
  for (std::size_t k = 1; k < len; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3Fu);
  return cp;
}

// Byte offset of the code point that ends just before byte i (i > 0).
inline std::size_t previous_start(std::string_view s, std::size_t i) {
  do {
    --i;
  } while (i > 0 && (static_cast<unsigned char>(s[i]) & 0xC0u) == 0x80u);
  return i;
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

inline std::size_t count_code_points(std::string_view s) {
  std::size_t n = 0;
  for (const char c : s)
    if ((static_cast<unsigned char>(c) & 0xC0u) != 0x80u) ++n;
  return n;
}

// Python's str.isspace() (Unicode White_Space minus nothing we can meet, plus
// the information separators U+001C..U+001F that Python counts as space).
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
