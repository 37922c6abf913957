// Python's str methods that chat templates call, over valid UTF-8:
// split/rsplit, replace, splitlines, str.format's simple fields, and the
// ASCII case mappings (title, capitalize). Each either computes exactly what
// Python computes or throws urm::Error naming what it refuses.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "urm/text/jinja/unicode.hpp"
#include "urm/text/jinja/value.hpp"

namespace urm::detail::jinja {

// str.split(sep, maxsplit) (sep none: runs of whitespace, ends stripped)
// and str.rsplit (from the right).
inline std::vector<std::string> python_split(std::string_view s, const Value& sep, std::int64_t maxsplit, bool from_right,
                                             const Where& at) {
  std::vector<std::string> parts;
  if (sep.is_none()) {
    // Whitespace-separated words, at most maxsplit splits; the rest keeps its inner spacing.
    std::vector<std::pair<std::size_t, std::size_t>> words;  // [begin, end) of each word
    std::size_t i = 0;
    while (i < s.size()) {
      while (i < s.size() && is_python_space(decode_at(s, i))) i += utf8_length(static_cast<unsigned char>(s[i]));
      if (i >= s.size()) break;
      const std::size_t b = i;
      while (i < s.size() && !is_python_space(decode_at(s, i))) i += utf8_length(static_cast<unsigned char>(s[i]));
      words.emplace_back(b, i);
    }
    if (words.empty()) return parts;
    const std::size_t n = words.size();
    const std::size_t splits = maxsplit < 0 ? n - 1 : std::min<std::size_t>(n - 1, static_cast<std::size_t>(maxsplit));
    if (!from_right) {
      for (std::size_t k = 0; k < splits; ++k) parts.emplace_back(s.substr(words[k].first, words[k].second - words[k].first));
      // The remainder: from the next word to the end, its spacing kept
      // (just the last word when every word was split off).
      const std::size_t b = words[splits].first;
      parts.emplace_back(splits == n - 1 ? s.substr(b, words[n - 1].second - b) : s.substr(b));
    } else {
      const std::size_t keep = n - splits;  // words[0..keep) form the remainder
      const std::size_t e = words[keep - 1].second;
      parts.emplace_back(splits == n - 1 ? s.substr(words[0].first, e - words[0].first) : s.substr(0, e));
      for (std::size_t k = keep; k < n; ++k) parts.emplace_back(s.substr(words[k].first, words[k].second - words[k].first));
    }
    return parts;
  }
  if (!sep.is_string()) at.fail("must be str or None, not " + std::string(python_type_name(sep)));
  const std::string& d = sep.str();
  if (d.empty()) at.fail("empty separator");
  std::int64_t left = maxsplit;
  if (!from_right) {
    std::size_t b = 0;
    while (left != 0) {
      const std::size_t f = s.find(d, b);
      if (f == std::string_view::npos) break;
      parts.emplace_back(s.substr(b, f - b));
      b = f + d.size();
      if (left > 0) --left;
    }
    parts.emplace_back(s.substr(b));
    return parts;
  }
  std::size_t e = s.size();
  std::vector<std::string> reversed;
  while (left != 0 && e >= d.size()) {
    const std::size_t f = s.substr(0, e).rfind(d);
    if (f == std::string_view::npos) break;
    reversed.emplace_back(s.substr(f + d.size(), e - f - d.size()));
    e = f;
    if (left > 0) --left;
  }
  reversed.emplace_back(s.substr(0, e));
  return {reversed.rbegin(), reversed.rend()};
}

// str.replace(old, new, count): an empty `old` inserts `new` before every
// code point and at the end, as Python does.
inline std::string python_replace(std::string_view s, std::string_view old, std::string_view with, std::int64_t count) {
  std::string out;
  if (old.empty()) {
    std::int64_t done = 0;
    for (std::size_t i = 0; i <= s.size();) {
      if (count < 0 || done < count) {
        out += with;
        ++done;
      }
      if (i == s.size()) break;
      const std::size_t len = utf8_length(static_cast<unsigned char>(s[i]));
      out.append(s.substr(i, len));
      i += len;
    }
    return out;
  }
  std::size_t b = 0;
  std::int64_t done = 0;
  while (count < 0 || done < count) {
    const std::size_t f = s.find(old, b);
    if (f == std::string_view::npos) break;
    out.append(s.substr(b, f - b));
    out += with;
    b = f + old.size();
    ++done;
  }
  out.append(s.substr(b));
  return out;
}

// str.splitlines(): Python's line boundaries (\n \r \r\n \v \f \x1c \x1d
// \x1e \x85 \u2028 \u2029), without the line ends.
inline std::vector<std::string> python_splitlines(std::string_view s) {
  std::vector<std::string> lines;
  std::size_t b = 0, i = 0;
  while (i < s.size()) {
    const std::uint32_t cp = decode_at(s, i);
    const std::size_t len = utf8_length(static_cast<unsigned char>(s[i]));
    const bool boundary = cp == '\n' || cp == '\r' || cp == 0x0B || cp == 0x0C || (cp >= 0x1C && cp <= 0x1E) ||
                          cp == 0x85 || cp == 0x2028 || cp == 0x2029;
    if (!boundary) {
      i += len;
      continue;
    }
    lines.emplace_back(s.substr(b, i - b));
    i += len;
    if (cp == '\r' && i < s.size() && s[i] == '\n') ++i;
    b = i;
  }
  if (b < s.size()) lines.emplace_back(s.substr(b));
  return lines;
}

inline bool is_ascii(std::string_view s) {
  for (const char c : s)
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  return true;
}

// str.upper/lower/title/capitalize: Python maps case with Unicode's full
// tables ('ß'.upper() == 'SS'); only ASCII text is mapped here, other text refused.
enum class CaseMapping : std::uint8_t { Upper, Lower, Title, Capitalize };

inline std::string python_case(std::string_view s, CaseMapping mapping, std::string_view what, const Where& at) {
  if (!is_ascii(s)) outside_subset(at, std::string(what) + " of non-ASCII text");
  std::string out(s);
  auto up = [](char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c; };
  auto down = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
  auto cased = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
  bool previous_cased = false;
  for (std::size_t i = 0; i < out.size(); ++i) {
    const char c = out[i];
    switch (mapping) {
      case CaseMapping::Upper: out[i] = up(c); break;
      case CaseMapping::Lower: out[i] = down(c); break;
      case CaseMapping::Capitalize: out[i] = i == 0 ? up(c) : down(c); break;
      case CaseMapping::Title:
        out[i] = previous_cased ? down(c) : up(c);
        previous_cased = cased(c);
        break;
    }
  }
  return out;
}

// str.format(*args, **kwargs) for the fields `{}`, `{0}` and `{name}` and
// the escapes `{{` `}}`; a field with a conversion (!r), a format spec
// (:>8) or an attribute/index path is refused. Each value is str()-ed, which
// is what format(value, '') gives for the values of the subset.
inline std::string python_format(std::string_view f, const List& args, const Map& kwargs, const Where& at) {
  std::string out;
  std::size_t auto_index = 0;
  bool manual = false, automatic = false;
  for (std::size_t i = 0; i < f.size(); ++i) {
    const char c = f[i];
    if (c == '}') {
      if (i + 1 < f.size() && f[i + 1] == '}') {
        out += '}';
        ++i;
        continue;
      }
      at.fail("Single '}' encountered in format string");
    }
    if (c != '{') {
      out += c;
      continue;
    }
    if (i + 1 < f.size() && f[i + 1] == '{') {
      out += '{';
      ++i;
      continue;
    }
    const std::size_t close = f.find('}', i);
    if (close == std::string_view::npos) at.fail("Single '{' encountered in format string");
    const std::string_view field = f.substr(i + 1, close - i - 1);
    if (field.find_first_of("!:.[{") != std::string_view::npos)
      outside_subset(at, "the str.format field '{" + std::string(field) + "}'");
    const Value* v = nullptr;
    if (field.empty()) {
      if (manual) at.fail("cannot switch from manual field specification to automatic field numbering");
      automatic = true;
      if (auto_index >= args.size()) at.fail("Replacement index " + std::to_string(auto_index) + " out of range for positional args tuple");
      v = &args[auto_index++];
    } else if (field.find_first_not_of("0123456789") == std::string_view::npos) {
      if (automatic) at.fail("cannot switch from automatic field numbering to manual field specification");
      manual = true;
      const std::size_t k = std::stoul(std::string(field));
      if (k >= args.size()) at.fail("Replacement index " + std::string(field) + " out of range for positional args tuple");
      v = &args[k];
    } else {
      for (const auto& [name, value] : kwargs)
        if (name == field) v = &value;
      if (v == nullptr) at.fail("KeyError: " + python_quote(field));
    }
    out += python_str(*v, at);
    i = close;
  }
  return out;
}

}  // namespace urm::detail::jinja
