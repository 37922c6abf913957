// The filters of the Jinja subset, with the semantics of jinja2 3.1 and of
// the `tojson` that transformers installs for chat templates:
//
//   trim(chars=None)       soft_str(x).strip(chars)       (Python whitespace)
//   length                 len(x)                          (code points for str)
//   upper, lower           soft_str(x).upper() / .lower()
//   default(d='', boolean=False)   d if x is undefined (or falsy, with boolean)
//   tojson(ensure_ascii=False, indent=None, separators=None, sort_keys=False)
//                          json.dumps(x, ...) — no HTML escaping, keys in
//                          insertion order, non-ASCII kept as is.
#pragma once

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "urm/text/jinja/python_str.hpp"
#include "urm/text/jinja/unicode.hpp"
#include "urm/text/jinja/value.hpp"

namespace urm::detail::jinja {

// Python's str.strip/lstrip/rstrip(chars): whitespace when chars is none
// (or undefined), else the code points of the string chars.
inline std::string python_strip(std::string_view s, const Value& chars, bool left, bool right) {
  if (!chars.is_string()) return std::string(strip_code_points(s, left, right, is_python_space));
  std::vector<std::uint32_t> set;
  for (std::size_t i = 0; i < chars.str().size(); i += utf8_length(static_cast<unsigned char>(chars.str()[i])))
    set.push_back(decode_at(chars.str(), i));
  return std::string(strip_code_points(s, left, right, [&](std::uint32_t cp) {
    return std::find(set.begin(), set.end(), cp) != set.end();
  }));
}

inline Value filter_trim(const Value& v, const Value& chars, const Where& at) {
  if (!chars.is_none() && !chars.is_undefined() && !chars.is_string())
    at.fail("trim: chars must be a string or none, not " + std::string(python_type_name(chars)));
  return Value(python_strip(python_str(v, at), chars, true, true));
}

inline Value filter_length(const Value& v, const Where& at) {
  if (v.is_undefined()) return Value(std::int64_t{0});
  if (v.is_string()) return Value(static_cast<std::int64_t>(count_code_points(v.str())));
  if (v.is_list()) return Value(static_cast<std::int64_t>(v.list().size()));
  if (v.is_map()) return Value(static_cast<std::int64_t>(v.map().size()));
  if (v.is_loop()) return Value(v.loop().length);
  at.fail("length: object of type '" + std::string(python_type_name(v)) + "' has no len()");
}

inline Value filter_default(const Value& v, const Value& fallback, const Value& boolean) {
  if (v.is_undefined() || (truthy(boolean) && !truthy(v))) return fallback;
  return v;
}

struct JsonStyle {
  bool ensure_ascii = false;
  std::optional<std::string> indent;  // nullopt: everything on one line
  std::string item_separator = ", ";
  std::string key_separator = ": ";
  bool sort_keys = false;
};

// tojson's arguments -> json.dumps's layout. indent: None, an int (that many
// spaces; 0 or negative still break lines) or a string; separators default
// to (', ', ': '), or (',', ': ') when indenting.
inline JsonStyle json_style(const Value& ensure_ascii, const Value& indent, const Value& separators,
                            const Value& sort_keys, const Where& at) {
  JsonStyle s;
  s.ensure_ascii = truthy(ensure_ascii);
  s.sort_keys = truthy(sort_keys);
  if (indent.is_integral()) {
    // ' ' * indent, as json.dumps builds it: nothing for indent <= 0. A
    // larger indent than the memory limit could hold is refused here; the
    // text itself is charged as json_dump writes it.
    if (indent.integer() > (std::int64_t{1} << 30))
      at.fail("tojson: indent " + std::to_string(indent.integer()) + " is larger than the memory limit allows");
    s.indent = std::string(static_cast<std::size_t>(std::max<std::int64_t>(indent.integer(), 0)), ' ');
  } else if (indent.is_string()) {
    s.indent = indent.str();
  } else if (!indent.is_none() && !indent.is_undefined()) {
    at.fail("tojson: indent must be an integer, a string or none, not " + std::string(python_type_name(indent)));
  }
  if (s.indent) s.item_separator = ",";
  if (separators.is_list()) {
    const List& l = separators.list();
    if (l.size() != 2 || !l[0].is_string() || !l[1].is_string())
      at.fail("tojson: separators must be a list of two strings");
    s.item_separator = l[0].str();
    s.key_separator = l[1].str();
  } else if (!separators.is_none() && !separators.is_undefined()) {
    at.fail("tojson: separators must be a list of two strings or none");
  }
  return s;
}

// json.dumps's string encoding: '"', '\\' and control characters escaped
// (\n \r \t \b \f, else \u00XX in lowercase hex); with ensure_ascii also
// everything outside ' '..'~', as UTF-16 units.
inline void json_string(std::string_view s, bool ensure_ascii, std::string& out) {
  static constexpr char hex[] = "0123456789abcdef";
  auto u_escape = [&](std::uint32_t unit) {
    out += "\\u";
    for (int shift = 12; shift >= 0; shift -= 4) out += hex[(unit >> shift) & 0xF];
  };
  out += '"';
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == '"') out += "\\\"";
    else if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else if (c == '\r') out += "\\r";
    else if (c == '\t') out += "\\t";
    else if (c == '\b') out += "\\b";
    else if (c == '\f') out += "\\f";
    else if (c < 0x20 || (ensure_ascii && c == 0x7F)) u_escape(c);
    else if (c >= 0x80 && ensure_ascii) {
      const std::uint32_t cp = decode_at(s, i);
      if (cp >= 0x10000) {
        u_escape(0xD800 + ((cp - 0x10000) >> 10));
        u_escape(0xDC00 + ((cp - 0x10000) & 0x3FF));
      } else {
        u_escape(cp);
      }
      i += utf8_length(c);
      continue;
    } else {
      out += static_cast<char>(c);
    }
    ++i;
  }
  out += '"';
}

// json.dumps(v): floats as Python's repr (NaN, Infinity, -Infinity for the
// non-finite ones), True -> true, None -> null.
// `limit` bounds the size of out (the memory the template has left).
inline void json_dump(const Value& v, const JsonStyle& style, std::size_t level, std::string& out, const Where& at,
                      std::uint64_t limit) {
  if (out.size() > limit) at.fail("tojson: the text is larger than the memory limit allows");
  if (level > 1000) at.fail("tojson: value nested too deeply");
  if (v.is_none()) {
    out += "null";
  } else if (v.is_bool()) {
    out += v.integer() ? "true" : "false";
  } else if (v.is_int()) {
    out += std::to_string(v.integer());
  } else if (v.is_float()) {
    const double d = v.number();
    if (std::isnan(d)) out += "NaN";
    else if (std::isinf(d)) out += d > 0 ? "Infinity" : "-Infinity";
    else out += python_float_repr(d);
  } else if (v.is_string()) {
    json_string(v.str(), style.ensure_ascii, out);
  } else if (v.is_list() || v.is_map()) {
    const bool is_list = v.is_list();
    const std::size_t size = is_list ? v.list().size() : v.map().size();
    if (size == 0) {
      out += is_list ? "[]" : "{}";
      return;
    }
    std::vector<std::size_t> order(size);
    for (std::size_t i = 0; i < size; ++i) order[i] = i;
    if (!is_list && style.sort_keys)
      std::stable_sort(order.begin(), order.end(),
                       [&](std::size_t a, std::size_t b) { return v.map()[a].first < v.map()[b].first; });
    auto newline = [&](std::size_t lvl) {
      if (!style.indent) return;
      out += '\n';
      if (style.indent->size() * lvl > limit - std::min<std::uint64_t>(limit, out.size()))
        at.fail("tojson: the text is larger than the memory limit allows");
      for (std::size_t k = 0; k < lvl; ++k) out += *style.indent;
    };
    out += is_list ? '[' : '{';
    newline(level + 1);
    for (std::size_t k = 0; k < size; ++k) {
      if (k > 0) {
        out += style.item_separator;
        newline(level + 1);
      }
      if (is_list) {
        json_dump(v.list()[order[k]], style, level + 1, out, at, limit);
      } else {
        const auto& [key, value] = v.map()[order[k]];
        json_string(key, style.ensure_ascii, out);
        out += style.key_separator;
        json_dump(value, style, level + 1, out, at, limit);
      }
    }
    newline(level);
    out += is_list ? ']' : '}';
  } else {
    at.fail("tojson: Object of type " + std::string(python_type_name(v)) + " is not JSON serializable");
  }
}

// Python's int() and float() of a string: optional whitespace and sign,
// digits with single underscores between them; float() also takes a
// fraction, an exponent, "inf", "infinity" and "nan". Only ASCII text is
// parsed (Python also reads other scripts' digits); nullopt where Python
// raises ValueError.
inline std::optional<std::string> python_number_text(std::string_view s, bool allow_float) {
  s = strip_code_points(s, true, true, is_python_space);
  std::string t;
  std::size_t i = 0;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) t += s[i++];
  auto digits = [&](bool required) {
    const std::size_t begin = t.size();
    while (i < s.size()) {
      if (s[i] >= '0' && s[i] <= '9') {
        t += s[i++];
      } else if (s[i] == '_' && t.size() > begin && i + 1 < s.size() && s[i + 1] >= '0' && s[i + 1] <= '9') {
        ++i;
      } else {
        break;
      }
    }
    return !required || t.size() > begin;
  };
  if (allow_float) {
    std::string word;
    for (std::size_t k = i; k < s.size(); ++k) word += static_cast<char>(s[k] >= 'A' && s[k] <= 'Z' ? s[k] - 'A' + 'a' : s[k]);
    if (word == "inf" || word == "infinity" || word == "nan") return t + word;
    const bool whole = digits(false);
    bool fraction = false;
    if (i < s.size() && s[i] == '.') {
      t += s[i++];
      fraction = digits(false) && t.back() != '.';
    }
    if (!whole && !fraction) return std::nullopt;
    if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
      t += s[i++];
      if (i < s.size() && (s[i] == '+' || s[i] == '-')) t += s[i++];
      if (!digits(true)) return std::nullopt;
    }
  } else if (!digits(true)) {
    return std::nullopt;
  }
  if (i != s.size()) return std::nullopt;
  return t;
}

// jinja2's int filter: int(x) (int(x, base) for a string), else
// int(float(x)), else the default.
inline Value filter_int(const Value& v, const Value& fallback, const Value& base, const Where& at) {
  if (v.is_undefined()) at.fail(v.undefined().message);
  if (!base.is_integral() || base.integer() != 10) outside_subset(at, "the int filter with a base other than 10");
  if (v.is_integral()) return Value(v.integer());
  auto from_float = [&](double d) -> Value {
    if (std::isnan(d)) return fallback;
    if (std::isinf(d)) at.fail("cannot convert float infinity to integer");
    if (std::fabs(d) >= 9.2e18) outside_subset(at, "an integer beyond 64 bits");
    return Value(static_cast<std::int64_t>(d));
  };
  if (v.is_float()) return from_float(v.number());
  if (!v.is_string()) return fallback;
  if (!is_ascii(v.str())) outside_subset(at, "the int filter on non-ASCII text");
  if (const auto t = python_number_text(v.str(), false)) {
    std::int64_t r = 0;
    const char* b = t->data() + (t->front() == '+' ? 1 : 0);
    const auto res = std::from_chars(b, t->data() + t->size(), r);
    if (res.ec != std::errc{}) outside_subset(at, "an integer beyond 64 bits");
    return Value(r);
  }
  if (const auto t = python_number_text(v.str(), true)) return from_float(std::strtod(t->c_str(), nullptr));
  return fallback;
}

// jinja2's float filter: float(x), else the default.
inline Value filter_float(const Value& v, const Value& fallback, const Where& at) {
  if (v.is_undefined()) at.fail(v.undefined().message);
  if (v.is_number()) return Value(v.number());
  if (!v.is_string()) return fallback;
  if (!is_ascii(v.str())) outside_subset(at, "the float filter on non-ASCII text");
  if (const auto t = python_number_text(v.str(), true)) return Value(std::strtod(t->c_str(), nullptr));
  return fallback;
}

}  // namespace urm::detail::jinja
