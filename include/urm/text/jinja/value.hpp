// Values of the Jinja interpreter and the Python semantics Jinja2 gives them.
//
// Jinja2 evaluates templates with Python objects, so "matching Jinja2" means
// matching Python: `str()` of a float is its shortest round-trip repr
// ("1e-05", "1.0"), True == 1, `+` concatenates strings and lists but
// refuses str + int, dicts keep insertion order. The kinds here are the ones
// chat templates see: none, bool, int, float, string, list, map (a Python
// dict with string keys), plus Jinja's `Undefined` (what a missing variable
// or key evaluates to; it prints as "" and is false, but most operations on
// it fail) and the `loop` object of a for-loop.
#pragma once

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "urm/core/error.hpp"
#include "urm/text/unicode_class.hpp"
#include "urm/text/utf8.hpp"

namespace urm::detail::jinja {

// A position in the template: 1-based line, 1-based column in code points.
struct Pos {
  std::uint32_t line = 1;
  std::uint32_t column = 1;
};

inline std::string to_string(Pos p) { return std::to_string(p.line) + ":" + std::to_string(p.column); }

// Where an error happened: the template's name (e.g. "chat template") and a
// position in it. Every interpreter error is "<name> <line>:<col>: <what>".
struct Where {
  std::string_view name;
  Pos pos;
  [[noreturn]] void fail(const std::string& what) const {
    throw Error(std::string(name) + " " + to_string(pos) + ": " + what);
  }
};

struct Value;
using List = std::vector<Value>;
// A Python dict with string keys, in insertion order (as json.loads builds it
// and json.dumps writes it back).
using Map = std::vector<std::pair<std::string, Value>>;

struct Undefined {
  std::string message;  // Jinja's UndefinedError text, e.g. "'x' is undefined"
};
struct None {};
// The `loop` variable inside a for-loop body: the items the loop runs over
// (after its filter) give loop.previtem and loop.nextitem.
struct LoopState {
  std::int64_t index0 = 0;
  std::int64_t length = 0;
  std::shared_ptr<const List> items;
};
// jinja2's namespace(): the one object a template may change, with
// `{% set ns.name = value %}`, so that a value survives a for-loop's scope.
struct Namespace {
  Map attributes;
};
// The Python generator that select, reject, selectattr, rejectattr, map,
// unique and items give, when a template passes it to a macro instead of
// consuming it on the spot (`json_to_python_type(spec|items)` in Hermes' and
// Command-R's tool templates). Its items are computed up front (the filters
// have no side effects); iterating it consumes it, as in Python. Everything
// else a generator does in Python (printing its repr with an address, a
// second iteration, a partial one) is refused.
struct Generator {
  std::vector<Value> items;
  bool consumed = false;
};
struct Node;
// What a template can call: a global function of transformers' environment
// (raise_exception, namespace, range, strftime_now, dict), a macro of the
// template, or the `caller` of a `{% call %}` block.
struct Callable {
  enum class Kind : std::uint8_t { Builtin, Macro, Caller };
  Kind kind = Kind::Builtin;
  std::string name;
  const Node* node = nullptr;    // Macro: the {% macro %}; Caller: the {% call %}
  std::size_t frame = 0;         // Macro, Caller: the scope it was defined in (its body's lookups continue there)
  std::uint64_t frame_id = 0;    // that scope's id, to tell when it has ended
};

// A value. Strings, lists and dicts are shared, not copied, when a value is
// passed around (Python's reference semantics, and no hidden copies for the
// memory limit to miss). Lists are mutable only through list.pop(), the one
// list-mutating method the immutable sandbox allows; strings and dicts never change.
struct Value {
  std::variant<Undefined, None, bool, std::int64_t, double, std::shared_ptr<const std::string>, std::shared_ptr<List>,
               std::shared_ptr<const Map>, std::shared_ptr<const LoopState>, std::shared_ptr<Namespace>,
               std::shared_ptr<const Callable>, std::shared_ptr<Generator>>
      data;
  bool tuple = false;   // a list that is a Python tuple: (a, b), dictsort's and items' pairs
  bool markup = false;  // a string that is a markupsafe.Markup (the |safe filter)

  Value() : data(Undefined{}) {}
  Value(Undefined u) : data(std::move(u)) {}
  Value(None) : data(None{}) {}
  Value(bool b) : data(b) {}
  Value(std::int64_t i) : data(i) {}
  Value(int i) : data(static_cast<std::int64_t>(i)) {}
  Value(double d) : data(d) {}
  Value(std::string s) : data(std::make_shared<const std::string>(std::move(s))) {}
  Value(const char* s) : data(std::make_shared<const std::string>(s)) {}
  Value(List l) : data(std::make_shared<List>(std::move(l))) {}
  Value(Map m) : data(std::make_shared<const Map>(std::move(m))) {}
  Value(LoopState l) : data(std::make_shared<const LoopState>(std::move(l))) {}
  Value(std::shared_ptr<Namespace> n) : data(std::move(n)) {}
  Value(Callable c) : data(std::make_shared<const Callable>(std::move(c))) {}
  Value(Generator g) : data(std::make_shared<Generator>(std::move(g))) {}
  static Value make_tuple(List l) {
    Value v(std::move(l));
    v.tuple = true;
    return v;
  }

  bool is_undefined() const { return std::holds_alternative<Undefined>(data); }
  bool is_none() const { return std::holds_alternative<None>(data); }
  bool is_bool() const { return std::holds_alternative<bool>(data); }
  bool is_int() const { return std::holds_alternative<std::int64_t>(data); }
  bool is_float() const { return std::holds_alternative<double>(data); }
  bool is_string() const { return std::holds_alternative<std::shared_ptr<const std::string>>(data); }
  bool is_list() const { return std::holds_alternative<std::shared_ptr<List>>(data); }
  bool is_map() const { return std::holds_alternative<std::shared_ptr<const Map>>(data); }
  bool is_loop() const { return std::holds_alternative<std::shared_ptr<const LoopState>>(data); }
  bool is_namespace() const { return std::holds_alternative<std::shared_ptr<Namespace>>(data); }
  bool is_callable() const { return std::holds_alternative<std::shared_ptr<const Callable>>(data); }
  bool is_generator() const { return std::holds_alternative<std::shared_ptr<Generator>>(data); }
  // Python's numbers: bool is a subclass of int.
  bool is_integral() const { return is_bool() || is_int(); }
  bool is_number() const { return is_integral() || is_float(); }

  const std::string& str() const { return *std::get<std::shared_ptr<const std::string>>(data); }
  const List& list() const { return *std::get<std::shared_ptr<List>>(data); }
  List& mutable_list() const { return *std::get<std::shared_ptr<List>>(data); }
  const Map& map() const { return *std::get<std::shared_ptr<const Map>>(data); }
  const Undefined& undefined() const { return std::get<Undefined>(data); }
  const LoopState& loop() const { return *std::get<std::shared_ptr<const LoopState>>(data); }
  Namespace& ns() const { return *std::get<std::shared_ptr<Namespace>>(data); }
  const Callable& callable() const { return *std::get<std::shared_ptr<const Callable>>(data); }
  Generator& generator() const { return *std::get<std::shared_ptr<Generator>>(data); }
  std::int64_t integer() const { return is_bool() ? (std::get<bool>(data) ? 1 : 0) : std::get<std::int64_t>(data); }
  double number() const { return is_float() ? std::get<double>(data) : static_cast<double>(integer()); }
};

// Python's type(x).__name__, as its error messages name types.
inline std::string_view python_type_name(const Value& v) {
  if (v.is_undefined()) return "Undefined";
  if (v.is_none()) return "NoneType";
  if (v.is_bool()) return "bool";
  if (v.is_int()) return "int";
  if (v.is_float()) return "float";
  if (v.is_string()) return v.markup ? "Markup" : "str";
  if (v.is_list()) return v.tuple ? "tuple" : "list";
  if (v.is_map()) return "dict";
  if (v.is_namespace()) return "Namespace";
  if (v.is_callable()) return v.callable().kind == Callable::Kind::Builtin ? "function" : "Macro";
  if (v.is_generator()) return "generator";
  return "LoopContext";
}

// Jinja's object_type_repr: how an UndefinedError names the object.
inline std::string object_type_repr(const Value& v) {
  if (v.is_none()) return "None";
  if (v.is_loop()) return "jinja2.runtime.LoopContext object";
  if (v.is_namespace()) return "jinja2.utils.Namespace object";
  if (v.is_callable() && v.callable().kind != Callable::Kind::Builtin) return "jinja2.runtime.Macro object";
  if (v.is_string() && v.markup) return "markupsafe.Markup object";
  return std::string(python_type_name(v)) + " object";
}

// Python's repr(str) for the ASCII-printable strings that appear in error
// messages as names and keys (other characters are shown as-is).
inline std::string python_quote(std::string_view s) {
  const bool single = s.find('\'') == std::string_view::npos || s.find('"') != std::string_view::npos;
  const char q = single ? '\'' : '"';
  std::string out(1, q);
  for (const char c : s) {
    if (c == '\\' || c == q) out += '\\';
    out += c;
  }
  return out + q;
}

// Python's float.__repr__: the shortest string that round-trips, written
// positionally when the decimal exponent is in [-4, 16) and in scientific
// notation ("1e-05", "1.5e+16") otherwise; integral values keep ".0".
inline std::string python_float_repr(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
  char buf[64];
  const auto res = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
  const std::string_view sci(buf, static_cast<std::size_t>(res.ptr - buf));
  // sci is "[-]D[.DDD]e(+|-)XX": split into sign, digits and exponent.
  const bool negative = sci.front() == '-';
  const std::size_t e_at = sci.find('e');
  std::string digits;
  for (std::size_t i = negative ? 1 : 0; i < e_at; ++i)
    if (sci[i] != '.') digits += sci[i];
  int exponent = 0;
  std::from_chars(sci.data() + e_at + (sci[e_at + 1] == '+' ? 2 : 1), sci.data() + sci.size(), exponent);
  std::string out = negative ? "-" : "";
  if (exponent < -4 || exponent >= 16) {
    out += digits[0];
    if (digits.size() > 1) out += "." + digits.substr(1);
    out += exponent < 0 ? "e-" : "e+";
    const std::string e = std::to_string(std::abs(exponent));
    out += (e.size() < 2 ? "0" : "") + e;
  } else if (exponent < 0) {
    out += "0." + std::string(static_cast<std::size_t>(-exponent - 1), '0') + digits;
  } else {
    const auto point = static_cast<std::size_t>(exponent) + 1;
    if (digits.size() <= point) {
      out += digits + std::string(point - digits.size(), '0') + ".0";
    } else {
      out += digits.substr(0, point) + "." + digits.substr(point);
    }
  }
  return out;
}

// Python's bool(x): Jinja's truth test for `if`, `and`, `or`, `not`.
inline bool truthy(const Value& v) {
  if (v.is_undefined() || v.is_none()) return false;
  if (v.is_integral()) return v.integer() != 0;
  if (v.is_float()) return v.number() != 0.0;
  if (v.is_string()) return !v.str().empty();
  if (v.is_list()) return !v.list().empty();
  if (v.is_map()) return !v.map().empty();
  return true;  // a loop object has length >= 1 inside its loop; namespaces and functions are true
}

[[noreturn]] inline void outside_subset(const Where& at, const std::string& what) {
  at.fail(what + " is outside the Jinja subset urm.cpp implements");
}

// Python's repr(str): single quotes unless the text has a ' and no ";
// backslash escapes for the quote, \\, \t \n \r and other control
// characters; non-ASCII characters as they are when printable, escaped
// otherwise (see below).
inline std::string python_repr_str(std::string_view s) {
  const bool dq = s.find('\'') != std::string_view::npos && s.find('"') == std::string_view::npos;
  const char q = dq ? '"' : '\'';
  static constexpr char hex[] = "0123456789abcdef";
  std::string out(1, q);
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      if (c == '\\' || c == static_cast<unsigned char>(q)) {
        out += '\\';
        out += static_cast<char>(c);
      } else if (c == '\n') {
        out += "\\n";
      } else if (c == '\r') {
        out += "\\r";
      } else if (c == '\t') {
        out += "\\t";
      } else if (c < 0x20 || c == 0x7F) {
        out += "\\x";
        out += hex[c >> 4];
        out += hex[c & 0xF];
      } else {
        out += static_cast<char>(c);
      }
      ++i;
      continue;
    }
    // Python prints a character as it is when str.isprintable() holds (its
    // General_Category is none of Cc Cf Cs Co Cn Zl Zp Zs), else escaped as
    // \xhh, \uhhhh or \Uhhhhhhhh. (Categories are Unicode 16.0's; Python
    // 3.11 uses 14.0, so a character assigned since then prints escaped there.)
    const Utf8Char u = decode_utf8_at(s, i);
    using namespace unicode_data;
    switch (general_category(u.cp)) {
      case kCc: case kCf: case kCs: case kCo: case kCn: case kZl: case kZp: case kZs: {
        char buf[16];
        if (u.cp < 0x100) std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned>(u.cp));
        else if (u.cp < 0x10000) std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(u.cp));
        else std::snprintf(buf, sizeof buf, "\\U%08x", static_cast<unsigned>(u.cp));
        out += buf;
        break;
      }
      default: out.append(s.substr(i, u.len));
    }
    i += u.len;
  }
  return out + q;
}

// Python's repr(x) of the values a template can print: what str() gives for
// a list, tuple or dict (`{{ messages }}`, `x | string`).
// `limit` bounds the size of out (the memory the template has left).
inline void python_repr(const Value& v, const Where& at, std::string& out, std::uint32_t depth = 0,
                        std::uint64_t limit = UINT64_MAX);

// Python's str(x), which `{{ }}`, `~` and the string filters apply.
inline std::string python_str(const Value& v, const Where& at) {
  if (v.is_undefined()) return "";
  if (v.is_none()) return "None";
  if (v.is_bool()) return v.integer() ? "True" : "False";
  if (v.is_int()) return std::to_string(v.integer());
  if (v.is_float()) return python_float_repr(v.number());
  if (v.is_string()) return v.str();
  if (v.is_list() || v.is_map()) {
    std::string out;
    python_repr(v, at, out);
    return out;
  }
  outside_subset(at, "converting a " + std::string(python_type_name(v)) + " to a string");
}

inline void python_repr(const Value& v, const Where& at, std::string& out, std::uint32_t depth, std::uint64_t limit) {
  if (depth > 256) at.fail("value nested too deeply to print");
  if (out.size() > limit) at.fail("printing a list or dict: the text is larger than the memory limit allows");
  if (v.is_string()) {
    if (v.str().size() > limit - std::min<std::uint64_t>(limit, out.size()))
      at.fail("printing a list or dict: the text is larger than the memory limit allows");
    out += python_repr_str(v.str());
    if (v.markup) out = "Markup(" + out + ")";
  } else if (v.is_list()) {
    const List& l = v.list();
    out += v.tuple ? '(' : '[';
    for (std::size_t i = 0; i < l.size(); ++i) {
      if (i) out += ", ";
      python_repr(l[i], at, out, depth + 1, limit);
    }
    if (v.tuple && l.size() == 1) out += ',';
    out += v.tuple ? ')' : ']';
  } else if (v.is_map()) {
    out += '{';
    bool first = true;
    for (const auto& [k, x] : v.map()) {
      if (!first) out += ", ";
      first = false;
      out += python_repr_str(k);
      out += ": ";
      python_repr(x, at, out, depth + 1, limit);
    }
    out += '}';
  } else if (v.is_undefined() || v.is_loop() || v.is_namespace() || v.is_callable() || v.is_generator()) {
    outside_subset(at, "the Python repr of a " + std::string(python_type_name(v)));
  } else {
    out += python_str(v, at);
  }
}

// Python's ==. Numbers compare by value across bool/int/float; Undefined
// equals Undefined (Jinja compares their types); otherwise types must match.
inline bool python_equal(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) {
    if (a.is_integral() && b.is_integral()) return a.integer() == b.integer();
    // long double holds every int64 exactly, as Python's exact int/float compare.
    const long double x = a.is_float() ? static_cast<long double>(a.number()) : static_cast<long double>(a.integer());
    const long double y = b.is_float() ? static_cast<long double>(b.number()) : static_cast<long double>(b.integer());
    return x == y;
  }
  if (a.data.index() != b.data.index() || a.tuple != b.tuple) return false;
  if (a.is_undefined() || a.is_none()) return true;
  if (a.is_string()) return a.str() == b.str();
  if (a.is_list()) {
    const List &x = a.list(), &y = b.list();
    if (x.size() != y.size()) return false;
    for (std::size_t i = 0; i < x.size(); ++i)
      if (!python_equal(x[i], y[i])) return false;
    return true;
  }
  if (a.is_map()) {
    const Map &x = a.map(), &y = b.map();
    if (x.size() != y.size()) return false;
    for (const auto& [k, v] : x) {
      bool found = false;
      for (const auto& [k2, v2] : y)
        if (k2 == k) {
          found = python_equal(v, v2);
          break;
        }
      if (!found) return false;
    }
    return true;
  }
  if (a.is_loop()) return &a.loop() == &b.loop();
  if (a.is_namespace()) return &a.ns() == &b.ns();
  if (a.is_generator()) return &a.generator() == &b.generator();
  return &a.callable() == &b.callable();
}

}  // namespace urm::detail::jinja
