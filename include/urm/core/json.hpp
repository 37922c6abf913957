// JSON as every reader of urm.cpp parses it (config.json, the shard index,
// safetensors headers, tokenizer_config.json, tokenizer.json, urm-score's
// input lines), and JSON values as its error messages quote them.
//
// Parsing, on top of nlohmann::json:
//   - a raw NUL byte anywhere is an error: nlohmann's lexer takes NUL for the
//     end of the input, so `{"a": 1}<NUL>junk` would otherwise be accepted
//     with the rest ignored (JSON text never contains a raw NUL; the
//     reference readers, serde_json in safetensors and tokenizers, reject it);
//   - containers nest at most kJsonMaxDepth deep, serde_json's limit: parsing
//     itself does not recurse, but copying, comparing or printing a value
//     does, once per level;
//   - error messages stay short: nlohmann quotes the whole token it was
//     reading ("last read: '…'"), which may be a string of the size of the file.
// Quoting: a value in a message is described, never dump()ed: scalars as JSON
// text (strings cut to 64 bytes), containers by kind.
#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "urm/core/error.hpp"
#include "urm/core/regular_file.hpp"

namespace urm::detail {

inline constexpr int kJsonMaxDepth = 128;

// Real config and index files are a few kB; the cap bounds what a wrong path
// (say, a weights file) can make us read into memory.
inline constexpr std::uint64_t kJsonFileMaxBytes = 100'000'000;

// Longest string quoted in a message.
inline constexpr std::size_t kQuotedStringMaxBytes = 64;

// The length of the longest prefix of `s` of at most `max_bytes` that does
// not split a UTF-8 sequence.
inline std::size_t utf8_prefix_length(std::string_view s, std::size_t max_bytes) {
  if (s.size() <= max_bytes) return s.size();
  std::size_t n = max_bytes;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0u) == 0x80u) --n;  // s[n] continues a sequence
  return n;
}

// `s` cut to at most `max_bytes` (at a UTF-8 boundary), "..." appended when cut.
inline std::string cut_text(std::string_view s, std::size_t max_bytes) {
  const std::size_t n = utf8_prefix_length(s, max_bytes);
  return n == s.size() ? std::string(s) : std::string(s.substr(0, n)) + "...";
}

// `s` as a JSON string literal cut to kQuotedStringMaxBytes bytes: "abc",
// "a long name..." (control characters escaped, ill-formed UTF-8 replaced).
inline std::string quote_string(std::string_view s) {
  const std::size_t n = utf8_prefix_length(s, kQuotedStringMaxBytes);
  std::string q = nlohmann::json(std::string(s.substr(0, n))).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (n < s.size()) q.insert(q.size() - 1, "...");
  return q;
}

// A JSON value as quoted in an error message: scalars as JSON text (strings
// cut as quote_string does), containers by kind only. Never dump() a
// container: its recursion depth is the input's nesting depth.
template <class Json>  // nlohmann::json or nlohmann::ordered_json
inline std::string describe_json(const Json& v) {
  if (v.is_array()) return "an array";
  if (v.is_object()) return "an object";
  if (v.is_string()) return quote_string(v.template get_ref<const std::string&>());
  return v.dump();
}

// nlohmann's message for `e`, with the input it quotes cut to
// kQuotedStringMaxBytes bytes: the token being read ("...; last read:
// '<token>'; expected ...") or the number that overflowed ("number overflow
// parsing '<number>'"). Any other message is cut at 256 bytes.
inline std::string json_error_message(const nlohmann::json::exception& e) {
  const std::string_view what = e.what();
  std::size_t begin = std::string_view::npos;
  for (const std::string_view before : {std::string_view("; last read: '"), std::string_view("overflow parsing '")})
    if (const std::size_t at = what.find(before); at != std::string_view::npos) {
      begin = at + before.size();
      break;
    }
  if (begin == std::string_view::npos) return cut_text(what, 256);
  // The quote ends where nlohmann's own short suffix "'; expected <token kind>"
  // begins (the token itself may contain that text), or at the last quote.
  std::size_t end = what.rfind("'; expected ");
  if (end == std::string_view::npos || end < begin || what.size() - end > 64)
    end = what.size() - (what.ends_with('\'') ? 1 : 0);
  if (end < begin) end = begin;
  return std::string(what.substr(0, begin)) + cut_text(what.substr(begin, end - begin), kQuotedStringMaxBytes) +
         std::string(what.substr(end));
}

// "a NUL byte at byte 17" for the first NUL of `text`, or "" if it has none.
inline std::string find_nul_byte(std::string_view text) {
  const std::size_t at = text.find('\0');
  return at == std::string_view::npos ? std::string() : "a NUL byte at byte " + std::to_string(at);
}

// Parses `text`; any problem is urm::Error "<context>: <what went wrong>", e.g.
// context "config.json: not valid JSON". `callback` (optional) sees every
// parse event as in nlohmann::json::parse and may throw.
inline nlohmann::json parse_json(std::string_view text, const std::string& context,
                                 const nlohmann::json::parser_callback_t& callback = nullptr) {
  if (const std::string nul = find_nul_byte(text); !nul.empty()) throw Error(context + ": " + nul);
  // The callback's depth is the number of containers around the event.
  const auto checked = [&](int depth, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
    if ((event == nlohmann::json::parse_event_t::object_start || event == nlohmann::json::parse_event_t::array_start) &&
        depth >= kJsonMaxDepth)
      throw Error(context + ": containers nest deeper than " + std::to_string(kJsonMaxDepth) + " levels");
    return callback ? callback(depth, event, parsed) : true;
  };
  try {
    return nlohmann::json::parse(text.begin(), text.end(), checked);
  } catch (const nlohmann::json::exception& e) {
    throw Error(context + ": " + json_error_message(e));
  }
}

// A JSON file of at most kJsonFileMaxBytes (see open_regular_file).
inline nlohmann::json read_json_file(const std::string& path) {
  return parse_json(read_regular_file(path, kJsonFileMaxBytes, "a JSON file"), path + ": not valid JSON");
}

}  // namespace urm::detail
