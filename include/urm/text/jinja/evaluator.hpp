// Evaluator of the Jinja subset: runs the statement tree over variables and
// returns the rendered text.
//
// Scoping is Jinja2's: `{% set %}` at the top level assigns a template
// variable (visible after an `if` it was set in); inside a for-loop body it
// assigns a variable of that iteration only: every iteration starts from the
// enclosing scope again and nothing set in the body survives the loop.
//
// Undefined values follow jinja2.Undefined: printing gives "", they are
// false, iterate as empty, have length 0 and equal each other, `x in
// undefined` is false; `+`, ordering, attribute and item access on them fail
// with Jinja's message ("'x' is undefined", "'dict object' has no attribute
// 'y'"). Lookups follow the sandbox's getattr/getitem: `m.key` and
// `m['key']` both read dict keys, but names of Python methods (`m.items`,
// `s.strip`) would yield methods, which the subset refuses.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "urm/text/jinja/ast.hpp"
#include "urm/text/jinja/filters.hpp"
#include "urm/text/jinja/limits.hpp"
#include "urm/text/jinja/value.hpp"

namespace urm::detail::jinja {

class Evaluator {
 public:
  Evaluator(std::string_view name, const Limits& limits, const Map& variables) : name_(name), limits_(limits) {
    scopes_.emplace_back();
    for (const auto& [k, v] : variables) scopes_.back().insert_or_assign(k, v);
  }

  std::string run(const std::vector<Node>& body) {
    exec(body);
    return std::move(out_);
  }

 private:
  using Scope = std::unordered_map<std::string, Value>;

  Where where(Pos pos) const { return Where{name_, pos}; }

  void step(Pos pos) {
    if (++steps_ > limits_.max_steps)
      where(pos).fail("template exceeded " + std::to_string(limits_.max_steps) + " evaluation steps");
  }
  void charge(std::size_t bytes, Pos pos) {
    bytes_ += bytes;
    if (bytes_ > limits_.max_bytes)
      where(pos).fail("template built more than " + std::to_string(limits_.max_bytes) + " bytes of text");
  }
  Value charged(Value v, Pos pos) {
    if (v.is_string()) charge(v.str().size(), pos);
    return v;
  }

  // ---- statements -----------------------------------------------------------
  void exec(const std::vector<Node>& body) {
    for (const Node& n : body) {
      step(n.pos);
      switch (n.kind) {
        case NodeKind::Text:
          charge(n.text.size(), n.pos);
          out_ += n.text;
          break;
        case NodeKind::Output: {
          const Value v = eval(*n.expr);
          const std::string s = python_str(v, where(n.expr->pos));
          charge(s.size(), n.pos);
          out_ += s;
          break;
        }
        case NodeKind::Set: scopes_.back().insert_or_assign(n.text, eval(*n.expr)); break;
        case NodeKind::For: exec_for(n); break;
        case NodeKind::If:
          for (const auto& [cond, branch] : n.branches) {
            if (!cond || truthy(eval(*cond))) {
              exec(branch);
              break;
            }
          }
          break;
      }
    }
  }

  void exec_for(const Node& n) {
    const Value iterable = eval(*n.expr);
    const Where at = where(n.expr->pos);
    // Items are taken one at a time from the (shared, immutable) container
    // rather than copied up front, so nested loops cost what they produce.
    std::int64_t length = 0;
    std::vector<std::size_t> offsets;  // code point starts, when iterating a string
    if (iterable.is_list()) {
      length = static_cast<std::int64_t>(iterable.list().size());
    } else if (iterable.is_map()) {
      length = static_cast<std::int64_t>(iterable.map().size());
    } else if (iterable.is_string()) {
      const std::string& s = iterable.str();
      for (std::size_t i = 0; i < s.size(); i += utf8_length(static_cast<unsigned char>(s[i]))) offsets.push_back(i);
      length = static_cast<std::int64_t>(offsets.size());
      offsets.push_back(s.size());
    } else if (iterable.is_loop()) {
      at.fail("iterating over the loop object is outside the Jinja subset urm.cpp implements");
    } else if (!iterable.is_undefined()) {
      at.fail("'" + std::string(python_type_name(iterable)) + "' object is not iterable");
    }
    for (std::int64_t i = 0; i < length; ++i) {
      step(n.pos);
      const auto k = static_cast<std::size_t>(i);
      Value item = iterable.is_list()  ? iterable.list()[k]
                   : iterable.is_map() ? Value(iterable.map()[k].first)
                                       : Value(iterable.str().substr(offsets[k], offsets[k + 1] - offsets[k]));
      Scope scope;
      scope.emplace(n.text, charged(std::move(item), n.pos));
      scope.insert_or_assign("loop", Value(Loop{i, length}));
      scopes_.push_back(std::move(scope));
      exec(n.body);
      scopes_.pop_back();
    }
  }

  // ---- expressions --------------------------------------------------------
  Value lookup(const std::string& name) const {
    for (auto it = scopes_.rbegin(); it != scopes_.rend(); ++it) {
      const auto found = it->find(name);
      if (found != it->end()) return found->second;
    }
    return Value(Undefined{python_quote(name) + " is undefined"});
  }

  Value eval(const Expr& e) {
    step(e.pos);
    const Where at = where(e.pos);
    switch (e.kind) {
      case ExprKind::Literal: return charged(e.literal, e.pos);
      case ExprKind::Name: return charged(lookup(e.name), e.pos);
      case ExprKind::ListLit: {
        List items;
        items.reserve(e.args.size());
        for (const auto& a : e.args) items.push_back(eval(*a));
        Value v(std::move(items));
        check_nesting(v, at);
        return v;
      }
      case ExprKind::Attr: return charged(get_attribute(eval(*e.args[0]), e.name, at), e.pos);
      case ExprKind::Item: {
        const Value obj = eval(*e.args[0]);
        return charged(get_item(obj, eval(*e.args[1]), at), e.pos);
      }
      case ExprKind::Not: return Value(!truthy(eval(*e.args[0])));
      case ExprKind::And: {
        Value left = eval(*e.args[0]);
        return truthy(left) ? eval(*e.args[1]) : left;
      }
      case ExprKind::Or: {
        Value left = eval(*e.args[0]);
        return truthy(left) ? left : eval(*e.args[1]);
      }
      case ExprKind::Add: {
        const Value left = eval(*e.args[0]);
        return add(left, eval(*e.args[1]), at);
      }
      case ExprKind::Concat: {
        std::string s = python_str(eval(*e.args[0]), at);
        s += python_str(eval(*e.args[1]), at);
        return charged(Value(std::move(s)), e.pos);
      }
      case ExprKind::Compare: {
        Value left = eval(*e.args[0]);
        for (std::size_t k = 0; k < e.ops.size(); ++k) {
          Value right = eval(*e.args[k + 1]);
          if (!compare(e.ops[k], left, right, at)) return Value(false);
          left = std::move(right);
        }
        return Value(true);
      }
      case ExprKind::Filter: return charged(apply_filter(e, at), e.pos);
      case ExprKind::Raise: {
        const std::string message = python_str(eval(*e.args[0]), at);
        throw Error(std::string(name_) + " " + to_string(e.pos) + ": raise_exception: " + message);
      }
    }
    at.fail("unknown expression");
  }

  // Lists built by the template (`[x]`, `x + y`) could nest without bound
  // across statements; json_dump and == recurse over them.
  void check_nesting(const Value& v, const Where& at) {
    auto depth = [&](auto&& self, const Value& x, std::uint32_t level) -> void {
      if (level > limits_.max_depth)
        at.fail("list nested deeper than " + std::to_string(limits_.max_depth) + " levels");
      step(at.pos);
      if (x.is_list())
        for (const auto& item : x.list()) self(self, item, level + 1);
      if (x.is_map())
        for (const auto& kv : x.map()) self(self, kv.second, level + 1);
    };
    depth(depth, v, 0);
  }

  [[noreturn]] static void fail_undefined(const Value& v, const Where& at) { at.fail(v.undefined().message); }

  // Python methods a name would resolve to instead of a key or undefined.
  static bool is_method_of(const Value& obj, std::string_view name) {
    static constexpr std::array<std::string_view, 11> dict_methods = {
        "clear", "copy", "fromkeys", "get", "items", "keys", "pop", "popitem", "setdefault", "update", "values"};
    static constexpr std::array<std::string_view, 11> list_methods = {
        "append", "clear", "copy", "count", "extend", "index", "insert", "pop", "remove", "reverse", "sort"};
    static constexpr std::array<std::string_view, 47> str_methods = {
        "capitalize", "casefold", "center", "count", "encode", "endswith", "expandtabs", "find", "format",
        "format_map", "index", "isalnum", "isalpha", "isascii", "isdecimal", "isdigit", "isidentifier", "islower",
        "isnumeric", "isprintable", "isspace", "istitle", "isupper", "join", "ljust", "lower", "lstrip",
        "maketrans", "partition", "removeprefix", "removesuffix", "replace", "rfind", "rindex", "rjust",
        "rpartition", "rsplit", "rstrip", "split", "splitlines", "startswith", "strip", "swapcase", "title",
        "translate", "upper", "zfill"};
    auto in = [&](const auto& names) { return std::find(names.begin(), names.end(), name) != names.end(); };
    if (name.size() >= 2 && name.substr(0, 2) == "__") return true;
    if (obj.is_map()) return in(dict_methods);
    if (obj.is_list()) return in(list_methods);
    if (obj.is_string()) return in(str_methods);
    return false;
  }

  [[noreturn]] static void fail_method(const Value& obj, std::string_view name, const Where& at) {
    at.fail("'" + std::string(name) + "' of a " + std::string(python_type_name(obj)) +
            " is a Python method or attribute; using it is outside the Jinja subset urm.cpp implements");
  }

  static Value undefined_attribute(const Value& obj, std::string_view name) {
    return Value(Undefined{python_quote(object_type_repr(obj)) + " has no attribute " + python_quote(name)});
  }

  static Value loop_attribute(const Loop& l, std::string_view name, const Where& at) {
    if (name == "index0") return Value(l.index0);
    if (name == "index") return Value(l.index0 + 1);
    if (name == "first") return Value(l.index0 == 0);
    if (name == "last") return Value(l.index0 + 1 == l.length);
    if (name == "length") return Value(l.length);
    static constexpr std::array<std::string_view, 9> others = {"revindex", "revindex0", "depth",   "depth0", "previtem",
                                                               "nextitem", "cycle",     "changed", "reset"};
    if (std::find(others.begin(), others.end(), name) != others.end())
      at.fail("'loop." + std::string(name) + "' is outside the Jinja subset urm.cpp implements");
    return undefined_attribute(Value(l), name);
  }

  // obj.name: the sandbox's getattr — a Python attribute first, then a key.
  static Value get_attribute(const Value& obj, const std::string& name, const Where& at) {
    if (obj.is_undefined()) fail_undefined(obj, at);
    if (obj.is_loop()) return loop_attribute(obj.loop(), name, at);
    if (is_method_of(obj, name)) fail_method(obj, name, at);
    if (obj.is_map())
      for (const auto& [k, v] : obj.map())
        if (k == name) return v;
    if (obj.is_number())
      at.fail("attribute access on a number is outside the Jinja subset urm.cpp implements");
    return undefined_attribute(obj, name);
  }

  // obj[key]: the sandbox's getitem — the item first, then (for a string key)
  // a Python attribute.
  static Value get_item(const Value& obj, const Value& key, const Where& at) {
    if (obj.is_undefined()) fail_undefined(obj, at);
    if (key.is_string()) {
      if (obj.is_map())
        for (const auto& [k, v] : obj.map())
          if (k == key.str()) return v;
      return get_attribute(obj, key.str(), at);
    }
    if ((obj.is_list() || obj.is_string()) && key.is_integral()) {
      const std::int64_t i = key.integer();
      if (obj.is_list()) {
        const auto n = static_cast<std::int64_t>(obj.list().size());
        const std::int64_t j = i < 0 ? i + n : i;
        if (j >= 0 && j < n) return obj.list()[static_cast<std::size_t>(j)];
      } else {
        const std::string& s = obj.str();
        const auto n = static_cast<std::int64_t>(count_code_points(s));
        std::int64_t j = i < 0 ? i + n : i;
        if (j >= 0 && j < n) {
          std::size_t b = 0;
          for (; j > 0; --j) b += utf8_length(static_cast<unsigned char>(s[b]));
          return Value(s.substr(b, utf8_length(static_cast<unsigned char>(s[b]))));
        }
      }
    }
    if (obj.is_number())
      at.fail("subscripting a " + std::string(python_type_name(obj)) +
              " is outside the Jinja subset urm.cpp implements");
    // Any other key: Python raises IndexError, KeyError or TypeError, which
    // the sandbox's getitem turns into an undefined value.
    const std::string key_text = key.is_list() || key.is_map() || key.is_loop() ? std::string(python_type_name(key))
                                 : key.is_undefined()                           ? std::string("Undefined")
                                                                                : python_str(key, at);
    return Value(Undefined{object_type_repr(obj) + " has no element " + key_text});
  }

  // Python's +.
  Value add(const Value& a, const Value& b, const Where& at) {
    if (a.is_undefined()) fail_undefined(a, at);
    if (b.is_undefined()) fail_undefined(b, at);
    if (a.is_integral() && b.is_integral()) {
      std::int64_t r = 0;
      if (__builtin_add_overflow(a.integer(), b.integer(), &r)) at.fail("integer overflow in '+'");
      return Value(r);
    }
    if (a.is_number() && b.is_number()) return Value(a.number() + b.number());
    if (a.is_string() && b.is_string()) {
      charge(a.str().size() + b.str().size(), at.pos);
      return Value(a.str() + b.str());
    }
    if (a.is_list() && b.is_list()) {
      for (std::size_t k = 0; k < a.list().size() + b.list().size(); ++k) step(at.pos);
      List l = a.list();
      l.insert(l.end(), b.list().begin(), b.list().end());
      Value v(std::move(l));
      check_nesting(v, at);
      return v;
    }
    const std::string ta(python_type_name(a)), tb(python_type_name(b));
    if (a.is_string() || a.is_list()) at.fail("can only concatenate " + ta + " (not \"" + tb + "\") to " + ta);
    at.fail("unsupported operand type(s) for +: '" + ta + "' and '" + tb + "'");
  }

  // Python's <, for the types that order: numbers, strings, lists.
  static bool less(const Value& a, const Value& b, std::string_view op, const Where& at) {
    if (a.is_number() && b.is_number()) {
      if (a.is_integral() && b.is_integral()) return a.integer() < b.integer();
      const long double x = a.is_float() ? static_cast<long double>(a.number()) : static_cast<long double>(a.integer());
      const long double y = b.is_float() ? static_cast<long double>(b.number()) : static_cast<long double>(b.integer());
      return x < y;
    }
    if (a.is_string() && b.is_string()) return a.str() < b.str();  // UTF-8 byte order is code point order
    if (a.is_list() && b.is_list()) {
      const List &x = a.list(), &y = b.list();
      for (std::size_t i = 0; i < x.size() && i < y.size(); ++i)
        if (!python_equal(x[i], y[i])) return less(x[i], y[i], op, at);
      return x.size() < y.size();
    }
    at.fail("'" + std::string(op) + "' not supported between instances of '" + std::string(python_type_name(a)) +
            "' and '" + std::string(python_type_name(b)) + "'");
  }

  static bool contains(const Value& container, const Value& item, const Where& at) {
    if (container.is_undefined()) return false;
    if (container.is_string()) {
      if (!item.is_string())
        at.fail("'in <string>' requires string as left operand, not " + std::string(python_type_name(item)));
      return container.str().find(item.str()) != std::string::npos;
    }
    if (container.is_list()) {
      for (const auto& x : container.list())
        if (python_equal(x, item)) return true;
      return false;
    }
    if (container.is_map()) {
      if (item.is_list() || item.is_map()) at.fail("unhashable type: '" + std::string(python_type_name(item)) + "'");
      if (!item.is_string()) return false;
      for (const auto& kv : container.map())
        if (kv.first == item.str()) return true;
      return false;
    }
    if (container.is_loop()) at.fail("'in' on the loop object is outside the Jinja subset urm.cpp implements");
    at.fail("argument of type '" + std::string(python_type_name(container)) + "' is not iterable");
  }

  static bool compare(CompareOp op, const Value& a, const Value& b, const Where& at) {
    switch (op) {
      case CompareOp::Eq: return python_equal(a, b);
      case CompareOp::Ne: return !python_equal(a, b);
      case CompareOp::In: return contains(b, a, at);
      case CompareOp::NotIn: return !contains(b, a, at);
      default: break;
    }
    if (a.is_undefined()) fail_undefined(a, at);
    if (b.is_undefined()) fail_undefined(b, at);
    switch (op) {
      case CompareOp::Lt: return less(a, b, "<", at);
      case CompareOp::Le: return !less(b, a, "<=", at);
      case CompareOp::Gt: return less(b, a, ">", at);
      case CompareOp::Ge: return !less(a, b, ">=", at);
      default: return false;
    }
  }

  Value apply_filter(const Expr& e, const Where& at) {
    const Value value = eval(*e.args[0]);
    auto arg = [&](std::string_view param, Value fallback) -> Value {
      for (std::size_t i = 0; i < e.arg_names.size(); ++i)
        if (e.arg_names[i] == param) return eval(*e.args[i + 1]);
      return fallback;
    };
    if (e.name == "trim") return filter_trim(value, arg("chars", Value(None{})), at);
    if (e.name == "length") return filter_length(value, at);
    if (e.name == "upper") return filter_case(value, true, at);
    if (e.name == "lower") return filter_case(value, false, at);
    if (e.name == "default") return filter_default(value, arg("default_value", Value("")), arg("boolean", Value(false)));
    // tojson
    const JsonStyle style = json_style(arg("ensure_ascii", Value(false)), arg("indent", Value(None{})),
                                       arg("separators", Value(None{})), arg("sort_keys", Value(false)), at);
    std::string out;
    json_dump(value, style, 0, out, at);
    return Value(std::move(out));
  }

  std::string_view name_;
  const Limits& limits_;
  std::vector<Scope> scopes_;
  std::string out_;
  std::uint64_t steps_ = 0;
  std::uint64_t bytes_ = 0;
};

}  // namespace urm::detail::jinja
