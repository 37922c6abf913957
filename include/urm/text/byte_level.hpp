// ByteLevel alphabet — GPT-2's reversible map between the 256 byte values and
// 256 printable Unicode characters, in which byte-level BPE vocabularies are
// written (a space is "Ġ" U+0120, a newline "Ċ" U+010A).
//
// Bytes that are printable on their own ('!'..'~', '¡'..'¬', '®'..'ÿ') map to
// the code point of the same value; the other 68 bytes, in increasing order,
// map to U+0100, U+0101, ….
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "urm/text/utf8.hpp"

namespace urm::detail {

struct ByteLevelAlphabet {
  std::array<std::uint16_t, 256> char_of_byte{};  // byte -> code point
  std::array<std::int16_t, 324> byte_of_char{};   // code point (< 324) -> byte, or -1
};

inline constexpr ByteLevelAlphabet kByteLevel = [] {
  ByteLevelAlphabet a{};
  for (auto& b : a.byte_of_char) b = -1;
  std::uint16_t next = 256;
  for (std::uint32_t b = 0; b < 256; ++b) {
    const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    a.char_of_byte[b] = printable ? static_cast<std::uint16_t>(b) : next++;
    a.byte_of_char[a.char_of_byte[b]] = static_cast<std::int16_t>(b);
  }
  return a;
}();

// A token as written in a byte-level vocabulary -> the bytes it stands for,
// written to `out`; false if it holds a character outside the alphabet (or
// is not UTF-8).
inline bool byte_level_to_bytes(std::string_view token, std::string& out) {
  out.clear();
  std::size_t i = 0;
  while (i < token.size()) {
    const Utf8Char c = decode_utf8_at(token, i);
    if (!c.valid || c.cp >= kByteLevel.byte_of_char.size() || kByteLevel.byte_of_char[c.cp] < 0) return false;
    out += static_cast<char>(kByteLevel.byte_of_char[c.cp]);
    i += c.len;
  }
  return true;
}

inline std::optional<std::string> byte_level_to_bytes(std::string_view token) {
  std::string out;
  if (!byte_level_to_bytes(token, out)) return std::nullopt;
  return out;
}

// Bytes -> their byte-level spelling (the inverse of byte_level_to_bytes).
inline std::string bytes_to_byte_level(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const char ch : bytes) append_utf8(out, kByteLevel.char_of_byte[static_cast<std::uint8_t>(ch)]);
  return out;
}

}  // namespace urm::detail
