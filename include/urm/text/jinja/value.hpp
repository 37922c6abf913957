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

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "urm/core/error.hpp"

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
// The `loop` variable inside a for-loop body.
struct Loop {
  std::int64_t index0 = 0;
  std::int64_t length = 0;
};

struct Value {
  std::variant<Undefined, None, bool, std::int64_t, double, std::string, std::shared_ptr<const List>,
               std::shared_ptr<const Map>, Loop>
      data;

  Value() : data(Undefined{}) {}
  Value(Undefined u) : data(std::move(u)) {}
  Value(None) : data(None{}) {}
  Value(bool b) : data(b) {}
  Value(std::int64_t i) : data(i) {}
  Value(int i) : data(static_cast<std::int64_t>(i)) {}
  Value(double d) : data(d) {}
  Value(std::string s) : data(std::move(s)) {}
  Value(const char* s) : data(std::string(s)) {}
  Value(List l) : data(std::make_shared<const List>(std::move(l))) {}
  Value(Map m) : data(std::make_shared<const Map>(std::move(m))) {}
  Value(Loop l) : data(l) {}

  bool is_undefined() const { return std::holds_alternative<Undefined>(data); }
  bool is_none() const { return std::holds_alternative<None>(data); }
  bool is_bool() const { return std::holds_alternative<bool>(data); }
  bool is_int() const { return std::holds_alternative<std::int64_t>(data); }
  bool is_float() const { return std::holds_alternative<double>(data); }
  bool is_string() const { return std::holds_alternative<std::string>(data); }
  bool is_list() const { return std::holds_alternative<std::shared_ptr<const List>>(data); }
  bool is_map() const { return std::holds_alternative<std::shared_ptr<const Map>>(data); }
  bool is_loop() const { return std::holds_alternative<Loop>(data); }
  // Python's numbers: bool is a subclass of int.
  bool is_integral() const { return is_bool() || is_int(); }
  bool is_number() const { return is_integral() || is_float(); }

  const std::string& str() const { return std::get<std::string>(data); }
  const List& list() const { return *std::get<std::shared_ptr<const List>>(data); }
  const Map& map() const { return *std::get<std::shared_ptr<const Map>>(data); }
  const Undefined& undefined() const { return std::get<Undefined>(data); }
  const Loop& loop() const { return std::get<Loop>(data); }
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
  if (v.is_string()) return "str";
  if (v.is_list()) return "list";
  if (v.is_map()) return "dict";
  return "LoopContext";
}

// Jinja's object_type_repr: how an UndefinedError names the object.
inline std::string object_type_repr(const Value& v) {
  if (v.is_none()) return "None";
  if (v.is_loop()) return "jinja2.runtime.LoopContext object";
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
  return true;  // a loop object has length >= 1 inside its loop
}

// Python's str(x), which `{{ }}`, `~` and the string filters apply. Lists,
// maps and the loop object would print as Python reprs; templates have no
// business printing those, so the interpreter refuses.
inline std::string python_str(const Value& v, const Where& at) {
  if (v.is_undefined()) return "";
  if (v.is_none()) return "None";
  if (v.is_bool()) return v.integer() ? "True" : "False";
  if (v.is_int()) return std::to_string(v.integer());
  if (v.is_float()) return python_float_repr(v.number());
  if (v.is_string()) return v.str();
  at.fail("converting a " + std::string(python_type_name(v)) +
          " to a string (its Python repr) is outside the Jinja subset urm.cpp implements");
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
  if (a.data.index() != b.data.index()) return false;
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
  const Loop &x = a.loop(), &y = b.loop();
  return x.index0 == y.index0 && x.length == y.length;
}

}  // namespace urm::detail::jinja
