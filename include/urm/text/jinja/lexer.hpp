// Jinja2 lexer: template text -> tokens, with the whitespace rules of the
// environment transformers renders chat templates in
// (`ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)`,
// keep_trailing_newline=False).
//
// The rules mirror jinja2.lexer exactly:
//  - newlines: "\r\n", "\r" and "\n" all become "\n" first, and ONE trailing
//    newline of the template is dropped;
//  - `{%-`, `{{-`, `{#-` strip all whitespace (Python's set) before the tag;
//    `-%}`, `-}}`, `-#}` strip all whitespace after it;
//  - trim_blocks: a plain `%}` or `#}` eats one "\n" right after it (not `}}`);
//  - lstrip_blocks: spaces between the start of a line and a `{%` or `{#`
//    (not `{{`) are removed, unless the tag starts with `{%+`. "Start of a
//    line" is a newline in the text before the tag, or the template start, or
//    a previous tag end whose match ended with "\n";
//  - inside a tag, `%}`/`}}` only close it when no bracket is open, so
//    `{{ {'a': {'b': 1}} }}` lexes as Jinja does.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "urm/text/jinja/unicode.hpp"
#include "urm/text/jinja/value.hpp"

namespace urm::detail::jinja {

enum class TokenKind : std::uint8_t {
  Data,         // template text to copy to the output
  VarBegin,     // {{
  VarEnd,       // }}
  BlockBegin,   // {%
  BlockEnd,     // %}
  Name,         // identifier or keyword
  String,       // string literal, text = its value (escapes resolved)
  Integer,      // text = the digits (underscores removed)
  Float,        // text = the literal (underscores removed)
  Operator,     // text = the operator, e.g. "==", "|", "["
  End,          // end of the template
};

struct Token {
  TokenKind kind;
  std::string text;
  Pos pos;
};

class Lexer {
 public:
  Lexer(std::string_view source, std::string_view name) : name_(name) {
    // jinja2: newline_re.split(source); drop one trailing empty line; join with "\n".
    src_.reserve(source.size());
    for (std::size_t i = 0; i < source.size(); ++i) {
      if (source[i] == '\r') {
        src_ += '\n';
        if (i + 1 < source.size() && source[i + 1] == '\n') ++i;
      } else {
        src_ += source[i];
      }
    }
    if (!src_.empty() && src_.back() == '\n') src_.pop_back();
    line_starts_.push_back(0);
    for (std::size_t i = 0; i < src_.size(); ++i)
      if (src_[i] == '\n') line_starts_.push_back(i + 1);
  }

  std::vector<Token> tokenize() {
    std::vector<Token> tokens;
    std::size_t pos = 0;
    bool line_starting = true;
    const std::size_t n = src_.size();
    while (pos < n) {
      std::size_t k = pos;
      while (k + 1 < n && !(src_[k] == '{' && (src_[k + 1] == '{' || src_[k + 1] == '%' || src_[k + 1] == '#'))) ++k;
      if (k + 1 >= n) {
        tokens.push_back({TokenKind::Data, src_.substr(pos), position(pos)});
        break;
      }
      const char kind = src_[k + 1];
      const char sign = k + 2 < n && (src_[k + 2] == '-' || src_[k + 2] == '+') ? src_[k + 2] : '\0';
      std::string_view text = std::string_view(src_).substr(pos, k - pos);
      if (sign == '-') {
        text = python_rstrip(text);
      } else if (sign != '+' && kind != '{') {
        // lstrip_blocks: drop whitespace between the line start and the tag.
        const std::size_t nl = text.rfind('\n');
        const std::size_t l_pos = nl == std::string_view::npos ? 0 : nl + 1;
        if ((l_pos > 0 || line_starting) && l_pos < text.size() &&
            python_rstrip(text.substr(l_pos)).empty())
          text = text.substr(0, l_pos);
      }
      if (!text.empty()) tokens.push_back({TokenKind::Data, std::string(text), position(pos)});
      const std::size_t tag_start = k;
      pos = k + 2 + (sign ? 1 : 0);
      if (kind == '#') {
        pos = comment_end(tag_start, pos, line_starting);
      } else {
        pos = tag(kind == '{', tag_start, pos, tokens, line_starting);
      }
    }
    tokens.push_back({TokenKind::End, "", position(n)});
    return tokens;
  }

 private:
  // Positions are asked for in (mostly) increasing order, so they are found
  // by walking forward from the last one: linear in the template size.
  Pos position(std::size_t offset) const {
    if (offset < cursor_offset_) {
      const auto it = std::upper_bound(line_starts_.begin(), line_starts_.end(), offset) - 1;
      cursor_offset_ = *it;
      cursor_ = Pos{static_cast<std::uint32_t>(it - line_starts_.begin() + 1), 1};
    }
    for (; cursor_offset_ < offset; ++cursor_offset_) {
      const auto c = static_cast<unsigned char>(src_[cursor_offset_]);
      if (c == '\n') {
        ++cursor_.line;
        cursor_.column = 1;
      } else if ((c & 0xC0u) != 0x80u) {
        ++cursor_.column;
      }
    }
    return cursor_;
  }

  [[noreturn]] void fail(std::size_t offset, const std::string& what) const { Where{name_, position(offset)}.fail(what); }

  // The end of a tag: `-` strips all whitespace after it, `+` nothing, and a
  // plain end of a block or comment tag one "\n" (trim_blocks).
  std::size_t after_tag_end(std::size_t end, char sign, bool trim_newline, bool& line_starting) const {
    std::size_t p = end;
    if (sign == '-') {
      while (p < src_.size()) {
        const std::uint32_t cp = decode_at(src_, p);
        if (!is_python_space(cp)) break;
        p += utf8_length(static_cast<unsigned char>(src_[p]));
      }
    } else if (sign != '+' && trim_newline && p < src_.size() && src_[p] == '\n') {
      ++p;
    }
    // jinja2: line_starting = m.group()[-1:] == "\n", over the whole end match.
    line_starting = p > end ? src_[p - 1] == '\n' : false;
    return p;
  }

  std::size_t comment_end(std::size_t tag_start, std::size_t pos, bool& line_starting) const {
    const std::size_t h = src_.find("#}", pos);
    if (h == std::string::npos) fail(tag_start, "missing end of comment tag '#}'");
    const char sign = h > pos && (src_[h - 1] == '-' || src_[h - 1] == '+') ? src_[h - 1] : '\0';
    return after_tag_end(h + 2, sign, true, line_starting);
  }

  static bool is_digit(char c) { return c >= '0' && c <= '9'; }
  static bool is_name_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
  static bool is_name_char(char c) { return is_name_start(c) || is_digit(c); }

  // Digits with single underscores between them (`\d(_?\d)*`), from p.
  std::size_t scan_digits(std::size_t p, std::string& out) const {
    while (p < src_.size()) {
      if (is_digit(src_[p])) {
        out += src_[p++];
      } else if (src_[p] == '_' && p + 1 < src_.size() && is_digit(src_[p + 1]) && !out.empty() && is_digit(out.back())) {
        ++p;
      } else {
        break;
      }
    }
    return p;
  }

  // The tokens of a `{{ ... }}` or `{% ... %}` tag, from pos to its end.
  std::size_t tag(bool variable, std::size_t tag_start, std::size_t pos, std::vector<Token>& tokens,
                  bool& line_starting) const {
    tokens.push_back({variable ? TokenKind::VarBegin : TokenKind::BlockBegin, "", position(tag_start)});
    const char closer = variable ? '}' : '%';
    std::vector<char> brackets;
    const std::size_t n = src_.size();
    while (true) {
      if (pos >= n) fail(tag_start, std::string("unclosed '") + (variable ? "{{" : "{%") + "' (missing '" +
                                        (variable ? "}}" : "%}") + "')");
      // The end of the tag is looked for first, but only with brackets balanced.
      if (brackets.empty()) {
        const char sign = src_[pos] == '-' || src_[pos] == '+' ? src_[pos] : '\0';
        const std::size_t p = pos + (sign ? 1 : 0);
        const bool plus_on_variable = variable && sign == '+';  // `+}}` is not an end
        if (!plus_on_variable && p + 1 < n && src_[p] == closer && src_[p + 1] == '}') {
          tokens.push_back({variable ? TokenKind::VarEnd : TokenKind::BlockEnd, "", position(pos)});
          return after_tag_end(p + 2, sign, !variable, line_starting);
        }
      }
      const char c = src_[pos];
      const std::uint32_t cp = decode_at(src_, pos);
      if (is_python_space(cp)) {
        pos += utf8_length(static_cast<unsigned char>(c));
        continue;
      }
      const Pos at = position(pos);
      if (is_digit(c)) {
        std::string digits;
        std::size_t p = scan_digits(pos, digits);
        bool is_float = false;
        if (p + 1 < n && src_[p] == '.' && is_digit(src_[p + 1])) {
          digits += '.';
          p = scan_digits(p + 1, digits);
          is_float = true;
        }
        if (p < n && (src_[p] == 'e' || src_[p] == 'E')) {
          std::size_t q = p + 1;
          std::string exp = "e";
          if (q < n && (src_[q] == '+' || src_[q] == '-')) exp += src_[q++];
          if (q < n && is_digit(src_[q])) {
            p = scan_digits(q, exp);
            digits += exp;
            is_float = true;
          }
        }
        if (!is_float && digits.size() > 1 && digits[0] == '0' && digits.find_first_not_of('0') != std::string::npos)
          fail(pos, "invalid integer literal '" + digits + "' (leading zeros)");
        tokens.push_back({is_float ? TokenKind::Float : TokenKind::Integer, digits, at});
        pos = p;
        continue;
      }
      if (is_name_start(c)) {
        std::size_t p = pos;
        while (p < n && is_name_char(src_[p])) ++p;
        tokens.push_back({TokenKind::Name, src_.substr(pos, p - pos), at});
        pos = p;
        continue;
      }
      if (c == '\'' || c == '"') {
        pos = string_literal(pos, tokens);
        continue;
      }
      static constexpr std::string_view two_char[] = {"//", "**", "==", "!=", ">=", "<="};
      std::string op;
      for (const auto o : two_char)
        if (std::string_view(src_).substr(pos, 2) == o) op = o;
      if (op.empty() && std::string_view("+-/*%~[](){}><=.:|,;").find(c) != std::string_view::npos) op = c;
      if (op.empty()) {
        std::string ch;
        append_utf8(ch, cp);
        fail(pos, "unexpected character '" + ch + "'");
      }
      if (op == "(" || op == "[" || op == "{") {
        brackets.push_back(op == "(" ? ')' : op == "[" ? ']' : '}');
      } else if (op == ")" || op == "]" || op == "}") {
        if (brackets.empty()) fail(pos, "unexpected '" + op + "'");
        if (brackets.back() != op[0])
          fail(pos, "unexpected '" + op + "', expected '" + std::string(1, brackets.back()) + "'");
        brackets.pop_back();
      }
      tokens.push_back({TokenKind::Operator, op, at});
      pos += op.size();
    }
  }

  // A quoted literal with Python's escapes (jinja2 decodes them with
  // "unicode-escape"): \\ \' \" \n \t \r \a \b \f \v \ooo \xhh \uhhhh
  // \Uhhhhhhhh and backslash-newline; an unknown escape keeps its backslash.
  std::size_t string_literal(std::size_t start, std::vector<Token>& tokens) const {
    const char quote = src_[start];
    std::string value;
    std::size_t p = start + 1;
    const std::size_t n = src_.size();
    auto hex = [&](std::size_t at, std::size_t count) -> std::uint32_t {
      std::uint32_t v = 0;
      for (std::size_t i = 0; i < count; ++i) {
        if (at + i >= n) fail(start, "truncated \\x, \\u or \\U escape in string literal");
        const char h = src_[at + i];
        int d = -1;
        if (h >= '0' && h <= '9') d = h - '0';
        if (h >= 'a' && h <= 'f') d = h - 'a' + 10;
        if (h >= 'A' && h <= 'F') d = h - 'A' + 10;
        if (d < 0) fail(start, "truncated \\x, \\u or \\U escape in string literal");
        v = v * 16 + static_cast<std::uint32_t>(d);
      }
      return v;
    };
    while (true) {
      if (p >= n) fail(start, "unterminated string literal");
      const char c = src_[p];
      if (c == quote) break;
      if (c != '\\') {
        value += c;
        ++p;
        continue;
      }
      if (p + 1 >= n) fail(start, "unterminated string literal");
      const char e = src_[p + 1];
      p += 2;
      switch (e) {
        case '\\': value += '\\'; break;
        case '\'': value += '\''; break;
        case '"': value += '"'; break;
        case 'n': value += '\n'; break;
        case 't': value += '\t'; break;
        case 'r': value += '\r'; break;
        case 'a': value += '\a'; break;
        case 'b': value += '\b'; break;
        case 'f': value += '\f'; break;
        case 'v': value += '\v'; break;
        case '\n': break;
        case 'x': append_utf8(value, hex(p, 2)); p += 2; break;
        case 'u':
        case 'U': {
          const std::size_t count = e == 'u' ? 4 : 8;
          const std::uint32_t cp = hex(p, count);
          if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            fail(start, "escape in string literal is not a Unicode scalar value");
          append_utf8(value, cp);
          p += count;
          break;
        }
        case 'N': fail(start, "\\N{...} escapes are outside the Jinja subset urm.cpp implements");
        default:
          if (e >= '0' && e <= '7') {
            std::uint32_t v = static_cast<std::uint32_t>(e - '0');
            for (int i = 0; i < 2 && p < n && src_[p] >= '0' && src_[p] <= '7'; ++i, ++p)
              v = v * 8 + static_cast<std::uint32_t>(src_[p] - '0');
            append_utf8(value, v);
          } else {
            value += '\\';
            value += e;
          }
      }
    }
    tokens.push_back({TokenKind::String, std::move(value), position(start)});
    return p + 1;
  }

  std::string_view name_;
  std::string src_;
  std::vector<std::size_t> line_starts_;
  mutable std::size_t cursor_offset_ = 0;
  mutable Pos cursor_;
};

}  // namespace urm::detail::jinja
