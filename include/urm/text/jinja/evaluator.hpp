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
// `s.strip`) yield methods, which the subset only lets a template call
// (`s.strip()`, call_method) and refuses as values. Slices are Python's
// native subscript (as jinja2 compiles them), so their errors are Python's.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
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
    auto item_at = [&](std::int64_t i) {
      const auto k = static_cast<std::size_t>(i);
      return iterable.is_list()  ? iterable.list()[k]
             : iterable.is_map() ? Value(iterable.map()[k].first)
                                 : Value(iterable.str().substr(offsets[k], offsets[k + 1] - offsets[k]));
    };
    // The loop variables of one item: the target, or the unpacked names.
    auto bind = [&](Scope& scope, Value item) {
      if (n.unpack.empty()) {
        scope.insert_or_assign(n.text, charged(std::move(item), n.pos));
        return;
      }
      if (!item.is_list() && !item.is_string())
        at.fail("cannot unpack non-iterable " + std::string(python_type_name(item)) + " object");
      const std::size_t size = item.is_list() ? item.list().size() : count_code_points(item.str());
      if (size != n.unpack.size())
        at.fail(size < n.unpack.size() ? "not enough values to unpack (expected " + std::to_string(n.unpack.size()) +
                                             ", got " + std::to_string(size) + ")"
                                       : "too many values to unpack (expected " + std::to_string(n.unpack.size()) + ")");
      for (std::size_t k = 0; k < size; ++k)
        scope.insert_or_assign(n.unpack[k], charged(get_item(item, Value(static_cast<std::int64_t>(k)), at), n.pos));
    };
    // The loop filter runs first, without `loop`, so loop.length counts what passes.
    std::vector<std::int64_t> kept;
    for (std::int64_t i = 0; i < length; ++i) {
      if (!n.condition) {
        kept.push_back(i);
        continue;
      }
      step(n.pos);
      Scope scope;
      bind(scope, item_at(i));
      scopes_.push_back(std::move(scope));
      const bool keep = truthy(eval(*n.condition));
      scopes_.pop_back();
      if (keep) kept.push_back(i);
    }
    const auto count = static_cast<std::int64_t>(kept.size());
    for (std::int64_t j = 0; j < count; ++j) {
      step(n.pos);
      Scope scope;
      bind(scope, item_at(kept[static_cast<std::size_t>(j)]));
      scope.insert_or_assign("loop", Value(Loop{j, count}));
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
      case ExprKind::CondExpr: {
        if (truthy(eval(*e.args[0]))) return eval(*e.args[1]);
        if (e.args.size() > 2) return eval(*e.args[2]);
        return Value(Undefined{"the inline if-expression on line " + std::to_string(e.pos.line) +
                               " evaluated to false and no else section was defined."});
      }
      case ExprKind::Arith: {
        const Value left = eval(*e.args[0]);
        if (e.args.size() == 1) return unary(e.name, left, at);
        return charged(arith(e.name, left, eval(*e.args[1]), at), e.pos);
      }
      case ExprKind::Test: {
        const Value value = eval(*e.args[0]);
        List args;
        for (std::size_t k = 1; k < e.args.size(); ++k) args.push_back(eval(*e.args[k]));
        return Value(run_test(e.name, value, args, at));
      }
      case ExprKind::Slice: {
        const Value obj = eval(*e.args[0]);
        const Value start = eval(*e.args[1]), stop = eval(*e.args[2]), stride = eval(*e.args[3]);
        return charged(slice(obj, start, stop, stride, at), e.pos);
      }
      case ExprKind::Method: {
        const Value obj = eval(*e.args[0]);
        List args;
        for (std::size_t k = 1; k < e.args.size(); ++k) args.push_back(eval(*e.args[k]));
        return charged(call_method(obj, e.name, args, at), e.pos);
      }
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
    if (name == "revindex") return Value(l.length - l.index0);
    if (name == "revindex0") return Value(l.length - l.index0 - 1);
    static constexpr std::array<std::string_view, 7> others = {"depth", "depth0", "previtem", "nextitem",
                                                               "cycle", "changed", "reset"};
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

  // Python's unary - and +.
  static Value unary(const std::string& op, const Value& v, const Where& at) {
    if (v.is_undefined()) fail_undefined(v, at);
    if (v.is_integral()) {
      if (op == "pos") return Value(v.integer());
      if (v.integer() == INT64_MIN) at.fail("integer overflow in unary '-'");
      return Value(-v.integer());
    }
    if (v.is_float()) return Value(op == "pos" ? v.number() : -v.number());
    at.fail("bad operand type for unary " + std::string(op == "pos" ? "+" : "-") + ": '" +
            std::string(python_type_name(v)) + "'");
  }

  // Python's - * / // % ** on the values templates meet. Python's ints are
  // unbounded; a result outside int64 is refused rather than wrapped.
  Value arith(const std::string& op, const Value& a, const Value& b, const Where& at) {
    if (a.is_undefined()) fail_undefined(a, at);
    if (b.is_undefined()) fail_undefined(b, at);
    const std::string ta(python_type_name(a)), tb(python_type_name(b));
    if (a.is_number() && b.is_number()) {
      if (a.is_integral() && b.is_integral() && op == "/" && b.integer() == 0) at.fail("division by zero");
      if (a.is_integral() && b.is_integral() && op != "/") return int_arith(op, a.integer(), b.integer(), at);
      return float_arith(op, a.number(), b.number(), at);
    }
    if (op == "*" && (a.is_integral() || b.is_integral()) && (a.is_string() || a.is_list() || b.is_string() || b.is_list()))
      return repeat(a.is_integral() ? b : a, a.is_integral() ? a.integer() : b.integer(), at);
    if (op == "*" && (a.is_string() || a.is_list()) && !b.is_integral())
      at.fail("can't multiply sequence by non-int of type '" + tb + "'");
    if (op == "%" && a.is_string())
      at.fail("printf-style string formatting ('%' on a string) is outside the Jinja subset urm.cpp implements");
    at.fail("unsupported operand type(s) for " + op + ": '" + ta + "' and '" + tb + "'");
  }

  static Value int_arith(const std::string& op, std::int64_t x, std::int64_t y, const Where& at) {
    std::int64_t r = 0;
    bool overflow = false;
    if (op == "-") {
      overflow = __builtin_sub_overflow(x, y, &r);
    } else if (op == "*") {
      overflow = __builtin_mul_overflow(x, y, &r);
    } else if (op == "//" || op == "%") {
      if (y == 0) at.fail(op == "%" ? "integer modulo by zero" : "integer division or modulo by zero");
      if (x == INT64_MIN && y == -1) {
        if (op == "%") return Value(std::int64_t{0});
        overflow = true;
      } else {
        // Python floors the quotient; the remainder takes the divisor's sign.
        std::int64_t q = x / y, m = x % y;
        if (m != 0 && ((m < 0) != (y < 0))) {
          --q;
          m += y;
        }
        r = op == "//" ? q : m;
      }
    } else {  // **
      if (y < 0) {
        if (x == 0) at.fail("0.0 cannot be raised to a negative power");
        return Value(std::pow(static_cast<double>(x), static_cast<double>(y)));
      }
      r = 1;
      for (std::int64_t base = x, e = y; e > 0 && !overflow; e >>= 1) {
        if (e & 1) overflow = __builtin_mul_overflow(r, base, &r);
        if (e > 1 && !overflow) overflow = __builtin_mul_overflow(base, base, &base);
      }
    }
    if (overflow) at.fail("integer overflow in '" + op + "' (Python's integers are unbounded)");
    return Value(r);
  }

  static Value float_arith(const std::string& op, double x, double y, const Where& at) {
    if (op == "-") return Value(x - y);
    if (op == "*") return Value(x * y);
    if (op == "/") {
      if (y == 0) at.fail("float division by zero");
      return Value(x / y);
    }
    if (op == "**") {
      if (x == 0 && y < 0) at.fail("0.0 cannot be raised to a negative power");
      if (x < 0 && y != std::floor(y))
        at.fail("a negative number to a fractional power (a complex number) is outside the Jinja subset urm.cpp implements");
      return Value(std::pow(x, y));
    }
    // CPython's float_divmod: fmod, then the remainder moved to the divisor's sign.
    if (y == 0) at.fail(op == "%" ? "float modulo" : "float floor division by zero");
    double mod = std::fmod(x, y);
    double div = (x - mod) / y;
    if (mod != 0) {
      if ((y < 0) != (mod < 0)) {
        mod += y;
        div -= 1.0;
      }
    } else {
      mod = std::copysign(0.0, y);
    }
    if (op == "%") return Value(mod);
    double floordiv = 0;
    if (div != 0) {
      floordiv = std::floor(div);
      if (div - floordiv > 0.5) floordiv += 1.0;
    } else {
      floordiv = std::copysign(0.0, x / y);
    }
    return Value(floordiv);
  }

  // str * n, list * n (n <= 0 gives an empty one).
  Value repeat(const Value& seq, std::int64_t n, const Where& at) {
    if (n <= 0) return seq.is_string() ? Value(std::string()) : Value(List{});
    const std::size_t unit = seq.is_string() ? seq.str().size() : seq.list().size();
    if (unit != 0 && static_cast<std::uint64_t>(n) > limits_.max_bytes / unit)
      at.fail("template built more than " + std::to_string(limits_.max_bytes) + " bytes of text");
    const auto count = static_cast<std::size_t>(n);
    if (seq.is_string()) {
      charge(unit * count, at.pos);
      std::string out;
      out.reserve(unit * count);
      for (std::size_t k = 0; k < count; ++k) out += seq.str();
      return Value(std::move(out));
    }
    for (std::size_t k = 0; k < unit * count; ++k) step(at.pos);
    List out;
    for (std::size_t k = 0; k < count; ++k) out.insert(out.end(), seq.list().begin(), seq.list().end());
    Value v(std::move(out));
    check_nesting(v, at);
    return v;
  }

  // jinja2 3.1's tests (jinja2/tests.py), over the subset's values.
  bool run_test(const std::string& name, const Value& v, const List& args, const Where& at) {
    if (name == "defined") return !v.is_undefined();
    if (name == "undefined") return v.is_undefined();
    if (name == "none") return v.is_none();
    if (name == "boolean") return v.is_bool();
    if (name == "true") return v.is_bool() && v.integer() == 1;
    if (name == "false") return v.is_bool() && v.integer() == 0;
    if (name == "integer") return v.is_int();
    if (name == "float") return v.is_float();
    if (name == "number") return v.is_number();
    if (name == "string") return v.is_string();
    if (name == "mapping") return v.is_map();
    // iter(x) works on str, list, dict, Undefined and the loop; len(x) and
    // x.__getitem__ (sequence) on str, list, dict and Undefined.
    if (name == "iterable") return v.is_string() || v.is_list() || v.is_map() || v.is_undefined() || v.is_loop();
    if (name == "sequence") return v.is_string() || v.is_list() || v.is_map() || v.is_undefined();
    if (name == "odd") return python_equal(arith("%", v, Value(2), at), Value(1));
    if (name == "even") return python_equal(arith("%", v, Value(2), at), Value(0));
    if (name == "divisibleby") return python_equal(arith("%", v, args[0], at), Value(0));
    if (name == "lower" || name == "upper") {
      // str.islower()/isupper(): some cased character, and all of them in that case.
      const std::string text = python_str(v, at);
      bool cased = false;
      for (const char c : text) {
        if (static_cast<unsigned char>(c) >= 0x80)
          at.fail("the test '" + name + "' on non-ASCII text is outside the Jinja subset urm.cpp implements");
        const bool lower = c >= 'a' && c <= 'z', upper = c >= 'A' && c <= 'Z';
        if ((name == "lower" && upper) || (name == "upper" && lower)) return false;
        cased = cased || lower || upper;
      }
      return cased;
    }
    if (name == "in") return contains(args[0], v, at);
    static constexpr std::pair<std::string_view, CompareOp> comparisons[] = {
        {"eq", CompareOp::Eq}, {"equalto", CompareOp::Eq}, {"ne", CompareOp::Ne}, {"lt", CompareOp::Lt},
        {"lessthan", CompareOp::Lt}, {"le", CompareOp::Le}, {"gt", CompareOp::Gt}, {"greaterthan", CompareOp::Gt},
        {"ge", CompareOp::Ge}};
    for (const auto& [test, op] : comparisons)
      if (test == name) return compare(op, v, args[0], at);
    at.fail("no test named '" + name + "'");
  }

  // Python's x[start:stop:step] on a list or a string (in code points);
  // none for a part means its default.
  Value slice(const Value& obj, const Value& start, const Value& stop, const Value& stride, const Where& at) {
    if (obj.is_undefined()) fail_undefined(obj, at);
    for (const Value* part : {&start, &stop, &stride})
      if (!part->is_none() && !part->is_integral())
        at.fail("slice indices must be integers or None or have an __index__ method");
    if (!obj.is_list() && !obj.is_string()) {
      if (obj.is_map()) at.fail("unhashable type: 'slice'");
      at.fail("'" + std::string(python_type_name(obj)) + "' object is not subscriptable");
    }
    std::vector<std::size_t> offsets;  // code point starts of a string, and its end
    if (obj.is_string()) {
      const std::string& s = obj.str();
      for (std::size_t i = 0; i < s.size(); i += utf8_length(static_cast<unsigned char>(s[i]))) offsets.push_back(i);
      offsets.push_back(s.size());
    }
    const auto n = static_cast<std::int64_t>(obj.is_list() ? obj.list().size() : offsets.size() - 1);
    const std::int64_t by = stride.is_none() ? 1 : stride.integer();
    if (by == 0) at.fail("slice step cannot be zero");
    // CPython's PySlice_AdjustIndices.
    auto adjust = [&](const Value& v, std::int64_t fallback) {
      if (v.is_none()) return fallback;
      std::int64_t i = v.integer();
      if (i < 0) {
        i = i < -n ? (by < 0 ? -1 : 0) : i + n;
      } else if (i >= n) {
        i = by < 0 ? n - 1 : n;
      }
      return i;
    };
    const std::int64_t begin = adjust(start, by < 0 ? n - 1 : 0);
    const std::int64_t end = adjust(stop, by < 0 ? -1 : n);
    List items;
    std::string text;
    for (std::int64_t i = begin; by > 0 ? i < end : i > end; i += by) {
      step(at.pos);  // copying is work the step limit counts
      const auto k = static_cast<std::size_t>(i);
      if (obj.is_list()) items.push_back(obj.list()[k]);
      else text.append(obj.str(), offsets[k], offsets[k + 1] - offsets[k]);
      if ((by > 0 && i > INT64_MAX - by) || (by < 0 && i < INT64_MIN - by)) break;
    }
    return obj.is_list() ? Value(std::move(items)) : Value(std::move(text));
  }

  // The str and dict methods of the subset (parser.hpp kMethods), as the
  // sandbox calls them: str.strip(chars=None) & co, str.startswith(prefix),
  // str.upper(), dict.get(key, default=None), dict.items()/keys()/values()
  // (as lists; a view's repr is refused like a list's).
  Value call_method(const Value& obj, const std::string& method, const List& args, const Where& at) {
    if (obj.is_undefined()) fail_undefined(obj, at);
    const bool str_method = method == "strip" || method == "lstrip" || method == "rstrip" ||
                            method == "startswith" || method == "endswith" || method == "upper" || method == "lower";
    if (str_method && obj.is_string()) {
      const std::string& s = obj.str();
      if (method == "upper" || method == "lower") {
        for (const char c : s)
          if (static_cast<unsigned char>(c) >= 0x80)
            at.fail("str." + method + "() of non-ASCII text is outside the Jinja subset urm.cpp implements");
        return filter_case(obj, method == "upper", at);
      }
      if (method == "startswith" || method == "endswith") {
        if (args.empty()) at.fail(method + "() takes at least 1 argument (0 given)");
        if (!args[0].is_string())
          at.fail(method + " first arg must be str or a tuple of str, not " + std::string(python_type_name(args[0])));
        const std::string& p = args[0].str();
        if (p.size() > s.size()) return Value(false);
        return Value(method == "startswith" ? s.compare(0, p.size(), p) == 0
                                            : s.compare(s.size() - p.size(), p.size(), p) == 0);
      }
      const Value chars = args.empty() ? Value(None{}) : args[0];
      if (!chars.is_none() && !chars.is_string()) at.fail(method + " arg must be None or str");
      return Value(python_strip(s, chars, method != "rstrip", method != "lstrip"));
    }
    if (!str_method && obj.is_map()) {
      const Map& m = obj.map();
      if (method == "get") {
        if (args.empty()) at.fail("get expected at least 1 argument, got 0");
        if (args[0].is_list() || args[0].is_map())
          at.fail("unhashable type: '" + std::string(python_type_name(args[0])) + "'");
        if (args[0].is_string())
          for (const auto& [k, v] : m)
            if (k == args[0].str()) return v;
        return args.size() > 1 ? args[1] : Value(None{});
      }
      if (!args.empty()) at.fail("dict." + method + "() takes no arguments (" + std::to_string(args.size()) + " given)");
      List out;
      for (const auto& [k, v] : m) {
        step(at.pos);
        if (method == "items") out.emplace_back(List{Value(k), v});
        else if (method == "keys") out.emplace_back(k);
        else out.push_back(v);
      }
      return Value(std::move(out));
    }
    // jinja2: the attribute is undefined, and calling an undefined fails.
    at.fail(undefined_attribute(obj, method).undefined().message);
  }

  // The items `join`, `select` and `reject` iterate: a list's items, a
  // dict's keys, a string's characters; nothing for undefined.
  static List iterate(const Value& v, const std::string& filter, const Where& at) {
    if (v.is_undefined()) return {};
    if (v.is_list()) return v.list();
    List out;
    if (v.is_map()) {
      for (const auto& kv : v.map()) out.emplace_back(kv.first);
      return out;
    }
    if (v.is_string()) {
      const std::string& s = v.str();
      for (std::size_t i = 0; i < s.size(); i += utf8_length(static_cast<unsigned char>(s[i])))
        out.emplace_back(s.substr(i, utf8_length(static_cast<unsigned char>(s[i]))));
      return out;
    }
    at.fail(filter + ": '" + std::string(python_type_name(v)) + "' object is not iterable");
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
    if (e.name == "items") {
      if (value.is_undefined()) return Value(List{});
      if (!value.is_map()) at.fail("items: Can only get item pairs from a mapping.");
      return call_method(value, "items", {}, at);
    }
    if (e.name == "join") {
      const Value separator = arg("d", Value(""));
      const Value attribute = arg("attribute", Value(None{}));
      const std::string sep = python_str(separator, at);
      std::string out;
      bool first = true;
      for (const Value& item : iterate(value, "join", at)) {
        step(at.pos);
        if (!first) out += sep;
        first = false;
        out += python_str(attribute.is_none() ? item : get_item(item, attribute, at), at);
      }
      return Value(std::move(out));
    }
    if (e.name == "select" || e.name == "reject") {
      const Value test = eval(*e.args[1]);
      if (!test.is_string()) at.fail(e.name + ": the test name must be a string");
      const Where test_at = where(e.args[1]->pos);
      const TestSignature* sig = find_test(test.str());
      if (sig == nullptr) test_at.fail("the test '" + test.str() + "' is outside the Jinja subset urm.cpp implements");
      List args;
      for (std::size_t k = 2; k < e.args.size(); ++k) args.push_back(eval(*e.args[k]));
      if (args.size() != sig->args)
        test_at.fail("the test '" + test.str() + "' takes " + std::to_string(sig->args) + " argument" +
                     (sig->args == 1 ? "" : "s") + ", got " + std::to_string(args.size()));
      List out;
      for (const Value& item : iterate(value, e.name, at)) {
        step(at.pos);
        if (run_test(test.str(), item, args, at) == (e.name == "select")) out.push_back(item);
      }
      return Value(std::move(out));
    }
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
