// Evaluator of the Jinja subset: runs the statement tree over variables and
// returns the rendered text.
//
// Scoping is Jinja2's: `{% set %}` at the top level assigns a template
// variable (visible after an `if` it was set in); inside a for-loop body it
// assigns a variable of that iteration only: every iteration starts from the
// enclosing scope again and nothing set in the body survives the loop
// (a namespace() object, changed with `{% set ns.x = ... %}`, is how a
// template carries a value out). A macro's body sees its parameters and the
// template's top-level variables as they are when it is called; a call
// block's body (`caller()`) sees the scope the block is in.
//
// Undefined values follow jinja2.Undefined: printing gives "", they are
// false, iterate as empty, have length 0 and equal each other, `x in
// undefined` is false; `+`, ordering, attribute and item access on them fail
// with Jinja's message ("'x' is undefined", "'dict object' has no attribute
// 'y'"). Lookups follow the sandbox's getattr/getitem: `m.key` and
// `m['key']` both read dict keys, but names of Python methods (`m.items`,
// `s.strip`) yield methods, which the subset only lets a template call
// (`s.strip()`, call_method) and refuses as values; the methods that would
// change a list or dict (append, update, ...) are the sandbox's
// SecurityError. Slices are Python's native subscript (as jinja2 compiles
// them), so their errors are Python's.
//
// Limits (limits.hpp): every expression and statement is a step, and so is
// every item a filter, slice or copy touches; every string, list and dict
// the template creates is charged to the memory limit by its size (values
// are shared, never copied, when passed around), before it is allocated.
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
#include "urm/text/jinja/python_str.hpp"
#include "urm/text/jinja/strftime.hpp"
#include "urm/text/jinja/value.hpp"

namespace urm::detail::jinja {

// What a render may depend on besides its variables.
struct RenderContext {
  // The date and time strftime_now() formats; nullopt: the local time now.
  std::optional<DateTime> now;
};

class Evaluator {
 public:
  Evaluator(std::string_view name, const Limits& limits, const Map& variables, const RenderContext& context = {})
      : name_(name), limits_(limits), context_(context) {
    frames_.push_back(Frame{0, next_frame_id_++, {}});
    for (const auto& [k, v] : variables) frames_[0].vars.insert_or_assign(k, v);
  }

  std::string run(const std::vector<Node>& body) {
    out_ = &output_;
    exec(body);
    return std::move(output_);
  }

 private:
  using Scope = std::unordered_map<std::string, Value>;
  // A scope: the variables set in it and the scope names are looked up in next.
  struct Frame {
    std::size_t parent;
    std::uint64_t id;  // unique per render, so a macro can tell its scope is gone
    Scope vars;
  };
  enum class Flow : std::uint8_t { Normal, Break, Continue };

  Where where(Pos pos) const { return Where{name_, pos}; }

  void step(Pos pos) {
    if (++steps_ > limits_.max_steps)
      where(pos).fail("template exceeded " + std::to_string(limits_.max_steps) + " evaluation steps");
  }
  void steps(std::size_t n, Pos pos) {
    steps_ += n;
    if (steps_ > limits_.max_steps)
      where(pos).fail("template exceeded " + std::to_string(limits_.max_steps) + " evaluation steps");
  }
  // Memory the template is about to create: text, list items, dict entries.
  void charge(std::uint64_t bytes, Pos pos) {
    if (bytes > limits_.max_bytes || bytes_ + bytes > limits_.max_bytes)
      where(pos).fail("template built more than " + std::to_string(limits_.max_bytes) + " bytes of values");
    bytes_ += bytes;
  }
  void charge_items(std::uint64_t n, Pos pos) {
    if (n > limits_.max_bytes / sizeof(Value)) charge(limits_.max_bytes + 1, pos);
    charge(n * sizeof(Value), pos);
    steps(n, pos);
  }
  // What is left of the memory limit (for outputs built piece by piece).
  std::uint64_t budget() const { return limits_.max_bytes - bytes_; }
  Value new_string(std::string s, Pos pos) {
    charge(s.size(), pos);
    return Value(std::move(s));
  }
  Value new_list(List l, Pos pos, bool tuple = false) {
    charge_items(l.size(), pos);
    Value v(std::move(l));
    v.tuple = tuple;
    return v;
  }
  Value new_map(Map m, Pos pos) {
    std::uint64_t keys = 0;
    for (const auto& kv : m) keys += kv.first.size();
    charge(keys, pos);
    charge_items(m.size(), pos);
    return Value(std::move(m));
  }

  // ---- scopes ---------------------------------------------------------------
  std::size_t push_frame(std::size_t parent) {
    frames_.push_back(Frame{parent, next_frame_id_++, {}});
    return frames_.size() - 1;
  }
  // Runs f with a new scope on top (parent: where its lookups continue), then drops it.
  template <class F>
  auto in_frame(std::size_t parent, F f) {
    const std::size_t saved = current_;
    current_ = push_frame(parent);
    struct Restore {
      Evaluator& e;
      std::size_t saved;
      ~Restore() {
        e.frames_.pop_back();
        e.current_ = saved;
      }
    } restore{*this, saved};
    return f();
  }
  void assign(const std::string& name, Value v) { frames_[current_].vars.insert_or_assign(name, std::move(v)); }

  const Value* find(const std::string& name) const {
    for (std::size_t i = current_;; i = frames_[i].parent) {
      const auto found = frames_[i].vars.find(name);
      if (found != frames_[i].vars.end()) return &found->second;
      if (i == 0) return nullptr;
    }
  }

  // The globals of transformers' environment (and jinja2's, that the subset has).
  static bool is_builtin(std::string_view name) {
    static constexpr std::array<std::string_view, 5> names = {"raise_exception", "namespace", "range", "strftime_now",
                                                              "dict"};
    return std::find(names.begin(), names.end(), name) != names.end();
  }

  Value lookup(const std::string& name) const {
    if (const Value* v = find(name)) return *v;
    if (is_builtin(name)) return Value(Callable{Callable::Kind::Builtin, name, nullptr, 0});
    static constexpr std::array<std::string_view, 3> others = {"cycler", "joiner", "lipsum"};
    if (std::find(others.begin(), others.end(), name) != others.end())
      return Value(Undefined{"the global function '" + name + "' is outside the Jinja subset urm.cpp implements"});
    return Value(Undefined{python_quote(name) + " is undefined"});
  }

  // ---- statements -----------------------------------------------------------
  void emit(std::string_view s, Pos pos) {
    charge(s.size(), pos);
    out_->append(s);
  }

  Flow exec(const std::vector<Node>& body) {
    for (const Node& n : body) {
      step(n.pos);
      switch (n.kind) {
        case NodeKind::Text: emit(n.text, n.pos); break;
        case NodeKind::Output: {
          const Value v = eval(*n.expr);
          if (v.is_string()) {
            emit(v.str(), n.pos);
          } else {
            emit(to_str(v, where(n.expr->pos)), n.pos);
          }
          break;
        }
        case NodeKind::Set: {
          Value v = eval(*n.expr);
          if (n.unpack.empty()) assign(n.text, std::move(v));
          else unpack_into(n.unpack, v, where(n.expr->pos), [&](const std::string& k, Value x) { assign(k, std::move(x)); });
          break;
        }
        case NodeKind::SetAttr: {
          const Value* target = find(n.text);
          if (target == nullptr || !target->is_namespace())
            where(n.pos).fail("cannot assign attribute on non-namespace object");
          Value v = eval(*n.expr);
          // A namespace inside a namespace could hold itself: a reference
          // cycle that would outlive the render (found by fuzz_jinja).
          if (holds_namespace(v, 0)) outside_subset(where(n.expr->pos), "storing a namespace in a namespace");
          set_attribute(target->ns(), n.attr, std::move(v), n.pos);
          break;
        }
        case NodeKind::SetBlock: assign(n.text, capture(n.body, n.pos)); break;
        case NodeKind::For: {
          const Flow f = exec_for(n);
          (void)f;
          break;
        }
        case NodeKind::If:
          for (const auto& [cond, branch] : n.branches) {
            if (!cond || truthy(eval(*cond))) {
              const Flow f = exec(branch);
              if (f != Flow::Normal) return f;
              break;
            }
          }
          break;
        case NodeKind::Macro:
          assign(n.text, Value(Callable{Callable::Kind::Macro, n.text, &n, current_, frames_[current_].id}));
          break;
        case NodeKind::CallBlock: {
          const Value caller(Callable{Callable::Kind::Caller, "caller", &n, current_, frames_[current_].id});
          const Value v = eval_call(*n.expr, &caller);
          emit(to_str(v, where(n.expr->pos)), n.pos);
          break;
        }
        case NodeKind::Generation: {
          const Flow f = exec(n.body);
          if (f != Flow::Normal) return f;
          break;
        }
        case NodeKind::FilterBlock: {
          const Value v = in_frame(current_, [&] {
            assign(std::string(kFilterBlockBody), capture(n.body, n.pos));
            return eval(*n.expr);
          });
          // jinja2 writes the filter's result into the output as it is, and
          // joining the output then fails on anything but a string.
          if (!v.is_string())
            where(n.expr->pos).fail("the result of the 'filter' block: expected str instance, " +
                                    std::string(python_type_name(v)) + " found");
          emit(v.str(), n.pos);
          break;
        }
        case NodeKind::Break: return Flow::Break;
        case NodeKind::Continue: return Flow::Continue;
      }
    }
    return Flow::Normal;
  }

  // Renders a body into a string of its own (block set, macro, caller).
  Value capture(const std::vector<Node>& body, Pos pos) {
    std::string text;
    std::string* saved = out_;
    out_ = &text;
    struct Restore {
      std::string*& out;
      std::string* saved;
      ~Restore() { out = saved; }
    } restore{out_, saved};
    exec(body);
    (void)pos;
    return Value(std::move(text));  // charged as it was emitted
  }

  static bool holds_namespace(const Value& v, std::uint32_t depth) {
    if (v.is_namespace() || depth > 256) return true;
    if (v.is_list())
      return std::any_of(v.list().begin(), v.list().end(), [&](const Value& x) { return holds_namespace(x, depth + 1); });
    if (v.is_map())
      return std::any_of(v.map().begin(), v.map().end(), [&](const auto& kv) { return holds_namespace(kv.second, depth + 1); });
    if (v.is_generator())
      return std::any_of(v.generator().items.begin(), v.generator().items.end(),
                         [&](const Value& x) { return holds_namespace(x, depth + 1); });
    return false;
  }

  void set_attribute(Namespace& ns, const std::string& attr, Value v, Pos pos) {
    for (auto& [k, x] : ns.attributes)
      if (k == attr) {
        x = std::move(v);
        return;
      }
    charge(attr.size() + sizeof(Value), pos);
    ns.attributes.emplace_back(attr, std::move(v));
  }

  // `a, b = value`: Python's unpacking of a list, tuple or string.
  template <class Bind>
  void unpack_into(const std::vector<std::string>& names, const Value& item, const Where& at, Bind bind) {
    if (!item.is_list() && !item.is_string())
      at.fail("cannot unpack non-iterable " + std::string(python_type_name(item)) + " object");
    const std::size_t size = item.is_list() ? item.list().size() : count_code_points(item.str());
    if (size != names.size())
      at.fail(size < names.size() ? "not enough values to unpack (expected " + std::to_string(names.size()) + ", got " +
                                        std::to_string(size) + ")"
                                  : "too many values to unpack (expected " + std::to_string(names.size()) + ")");
    for (std::size_t k = 0; k < size; ++k) bind(names[k], get_item(item, Value(static_cast<std::int64_t>(k)), at));
  }

  // The items a for-loop, a filter or list() go through: a list's items, a
  // dict's keys, a string's characters; nothing for undefined.
  List items_of(const Value& v, const Where& at, std::string_view what = {}) {
    if (v.is_undefined()) return {};
    if (v.is_list()) {
      steps(v.list().size(), at.pos);
      return v.list();
    }
    List out;
    if (v.is_map()) {
      charge_items(v.map().size(), at.pos);
      for (const auto& kv : v.map()) out.emplace_back(kv.first);
      return out;
    }
    if (v.is_string()) {
      const std::string& s = v.str();
      charge_items(count_code_points(s), at.pos);
      charge(s.size(), at.pos);
      for (std::size_t i = 0; i < s.size(); i += utf8_length(static_cast<unsigned char>(s[i])))
        out.emplace_back(s.substr(i, utf8_length(static_cast<unsigned char>(s[i]))));
      return out;
    }
    if (v.is_loop()) outside_subset(at, "iterating over the loop object");
    if (v.is_generator()) {
      Generator& g = v.generator();
      if (g.consumed) outside_subset(at, "iterating over a generator a second time (Python gives nothing)");
      g.consumed = true;
      steps(g.items.size(), at.pos);
      return g.items;
    }
    at.fail(std::string(what.empty() ? "" : std::string(what) + ": ") + "'" + std::string(python_type_name(v)) +
            "' object is not iterable");
  }

  Flow exec_for(const Node& n) {
    const Value iterable = eval(*n.expr);
    const Where at = where(n.expr->pos);
    const List all = items_of(iterable, at);
    auto bind = [&](const Value& item) {
      if (n.unpack.empty()) {
        assign(n.text, item);
      } else {
        unpack_into(n.unpack, item, at, [&](const std::string& k, Value x) { assign(k, std::move(x)); });
      }
    };
    // The loop filter runs first, without `loop`, so loop.length counts what passes.
    auto kept = std::make_shared<List>();
    if (!n.condition) {
      *kept = all;
    } else {
      for (const Value& item : all) {
        step(n.pos);
        const bool keep = in_frame(current_, [&] {
          bind(item);
          return truthy(eval(*n.condition));
        });
        if (keep) kept->push_back(item);
      }
    }
    const std::size_t size_before = iterable.is_list() ? iterable.list().size() : 0;
    const auto count = static_cast<std::int64_t>(kept->size());
    const std::shared_ptr<const List> items = kept;
    for (std::int64_t j = 0; j < count; ++j) {
      step(n.pos);
      const Flow f = in_frame(current_, [&] {
        bind((*items)[static_cast<std::size_t>(j)]);
        assign("loop", Value(LoopState{j, count, items}));
        return exec(n.body);
      });
      if (iterable.is_list() && iterable.list().size() != size_before)
        outside_subset(at, "changing a list (list.pop) while a for-loop goes over it");
      if (f == Flow::Break) break;
    }
    if (count == 0 && !n.else_body.empty()) return exec(n.else_body);
    return Flow::Normal;
  }

  // ---- expressions --------------------------------------------------------
  std::string to_str(const Value& v, const Where& at) {
    if (v.is_list() || v.is_map()) {
      std::string out;
      python_repr(v, at, out, 0, budget());
      charge(out.size(), at.pos);
      return out;
    }
    if (v.is_string()) charge(v.str().size(), at.pos);
    return python_str(v, at);
  }

  Value eval(const Expr& e) {
    step(e.pos);
    const Where at = where(e.pos);
    switch (e.kind) {
      case ExprKind::Literal: return e.literal;
      case ExprKind::Name: return lookup(e.name);
      case ExprKind::ListLit:
      case ExprKind::TupleLit: {
        List items;
        items.reserve(e.args.size());
        for (const auto& a : e.args) items.push_back(eval(*a));
        Value v = new_list(std::move(items), e.pos, e.kind == ExprKind::TupleLit);
        check_nesting(v, at);
        return v;
      }
      case ExprKind::DictLit: {
        Map m;
        for (std::size_t k = 0; k + 1 < e.args.size(); k += 2) {
          Value key = eval(*e.args[k]);
          Value value = eval(*e.args[k + 1]);
          if (!key.is_string()) outside_subset(where(e.args[k]->pos), "a dict key that is not a string");
          bool replaced = false;
          for (auto& [existing, x] : m)
            if (existing == key.str()) {
              x = value;
              replaced = true;
            }
          if (!replaced) m.emplace_back(key.str(), std::move(value));
        }
        Value v = new_map(std::move(m), e.pos);
        check_nesting(v, at);
        return v;
      }
      case ExprKind::Attr: return get_attribute(eval(*e.args[0]), e.name, at);
      case ExprKind::Item: {
        const Value obj = eval(*e.args[0]);
        return get_item(obj, eval(*e.args[1]), at);
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
        const Value a = eval(*e.args[0]);
        const Value b = eval(*e.args[1]);
        std::string s = to_str(a, at);
        s += to_str(b, at);
        return Value(std::move(s));  // both halves charged by to_str
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
      case ExprKind::Filter: return apply_filter(e, at);
      case ExprKind::CondExpr: {
        if (truthy(eval(*e.args[0]))) return eval(*e.args[1]);
        if (e.args.size() > 2) return eval(*e.args[2]);
        return Value(Undefined{"the inline if-expression on line " + std::to_string(e.pos.line) +
                               " evaluated to false and no else section was defined."});
      }
      case ExprKind::Arith: {
        const Value left = eval(*e.args[0]);
        if (e.args.size() == 1) return unary(e.name, left, at);
        return arith(e.name, left, eval(*e.args[1]), at);
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
        return slice(obj, start, stop, stride, at);
      }
      case ExprKind::Method: {
        const Value obj = eval(*e.args[0]);
        Args args = eval_args(e);
        return call_method(obj, e.name, args, at);
      }
      case ExprKind::Call: return eval_call(e, nullptr);
    }
    at.fail("unknown expression");
  }

  // Arguments of a call: positional ones in order, then keywords.
  struct Args {
    List positional;
    Map keywords;
  };
  Args eval_args(const Expr& e) {
    Args args;
    for (std::size_t k = 1; k < e.args.size(); ++k) {
      Value v = eval(*e.args[k]);
      if (e.args[k]->pass_generator) v = Value(Generator{v.list()});
      const std::string& keyword = e.arg_names[k - 1];
      if (keyword.empty()) args.positional.push_back(std::move(v));
      else args.keywords.emplace_back(keyword, std::move(v));
    }
    return args;
  }

  // Lists and dicts built by the template (`[x]`, `{'a': x}`, `x + y`) could
  // nest without bound across statements; repr, tojson and == recurse over them.
  void check_nesting(const Value& v, const Where& at) {
    auto depth = [&](auto&& self, const Value& x, std::uint32_t level) -> void {
      if (level > limits_.max_depth)
        at.fail("list nested deeper than " + std::to_string(limits_.max_depth) + " levels");
      if (x.is_list())
        for (const auto& item : x.list())
          if (item.is_list() || item.is_map()) self(self, item, level + 1);
      if (x.is_map())
        for (const auto& kv : x.map())
          if (kv.second.is_list() || kv.second.is_map()) self(self, kv.second, level + 1);
    };
    depth(depth, v, 0);
  }

  [[noreturn]] static void fail_undefined(const Value& v, const Where& at) { at.fail(v.undefined().message); }

  // ---- calls --------------------------------------------------------------
  Value eval_call(const Expr& e, const Value* caller) {
    const Where at = where(e.pos);
    const Value callee = eval(*e.args[0]);
    Args args = eval_args(e);
    if (callee.is_undefined()) fail_undefined(callee, at);
    if (!callee.is_callable()) at.fail("'" + std::string(python_type_name(callee)) + "' object is not callable");
    const Callable& f = callee.callable();
    if (f.kind == Callable::Kind::Builtin) {
      if (caller) at.fail("a call block calls '" + f.name + "', which is not a macro");
      for (const Value& v : args.positional)
        if (v.is_generator()) outside_subset(at, "passing a generator to '" + f.name + "'");
      for (const auto& kv : args.keywords)
        if (kv.second.is_generator()) outside_subset(at, "passing a generator to '" + f.name + "'");
      return call_builtin(f.name, args, at);
    }
    return call_macro(f, std::move(args), caller, at);
  }

  Value call_macro(const Callable& f, Args args, const Value* caller, const Where& at) {
    const Node& m = *f.node;
    if (f.frame >= frames_.size() || frames_[f.frame].id != f.frame_id)
      outside_subset(at, "calling a macro after the scope it was defined in has ended");
    if (++call_depth_ > limits_.max_depth)
      at.fail("macros called more than " + std::to_string(limits_.max_depth) + " deep");
    struct Depth {
      std::uint32_t& d;
      ~Depth() { --d; }
    } depth{call_depth_};
    const bool is_caller = f.kind == Callable::Kind::Caller;
    const std::string label = is_caller ? "macro 'caller'" : "macro '" + m.text + "'";
    if (args.positional.size() > m.unpack.size() && (is_caller || !m.uses_varargs))
      at.fail(label + " takes not more than " + std::to_string(m.unpack.size()) + " argument(s)");
    return in_frame(f.frame, [&] {
      for (std::size_t k = 0; k < m.unpack.size(); ++k) {
        const std::string& param = m.unpack[k];
        const Value* given = nullptr;
        if (k < args.positional.size()) given = &args.positional[k];
        for (const auto& [kw, v] : args.keywords)
          if (kw == param) {
            if (given) at.fail(label + " got multiple values for argument " + python_quote(param));
            given = &v;
          }
        if (given) assign(param, *given);
        else if (m.defaults[k]) assign(param, eval(*m.defaults[k]));
        else assign(param, Value(Undefined{"parameter " + python_quote(param) + " was not provided"}));
      }
      Map extra;
      for (auto& [kw, v] : args.keywords)
        if (std::find(m.unpack.begin(), m.unpack.end(), kw) == m.unpack.end()) extra.emplace_back(kw, v);
      if (!extra.empty() && (is_caller || !m.uses_kwargs))
        at.fail(label + " takes no keyword argument " + python_quote(extra[0].first));
      if (!is_caller) {
        List rest;
        for (std::size_t k = m.unpack.size(); k < args.positional.size(); ++k) rest.push_back(args.positional[k]);
        if (m.uses_varargs) assign("varargs", new_list(std::move(rest), at.pos, true));
        if (m.uses_kwargs) assign("kwargs", new_map(std::move(extra), at.pos));
        if (caller) {
          if (!m.uses_caller) at.fail(label + " takes no keyword argument 'caller'");
          assign("caller", *caller);
        }
      }
      return capture(m.body, at.pos);
    });
  }

  Value call_builtin(const std::string& name, const Args& args, const Where& at) {
    auto no_keywords = [&] {
      if (!args.keywords.empty()) at.fail(name + "() takes no keyword arguments");
    };
    if (name == "raise_exception") {
      if (args.positional.size() != 1 || !args.keywords.empty())
        at.fail("raise_exception takes exactly one argument, the message");
      const std::string message = python_str(args.positional[0], at);
      throw Error(std::string(name_) + " " + to_string(at.pos) + ": raise_exception: " + message);
    }
    if (name == "strftime_now") {
      no_keywords();
      if (args.positional.size() != 1) at.fail("strftime_now takes exactly one argument, the format");
      if (!args.positional[0].is_string())
        at.fail("strftime_now: the format must be a string, not " + std::string(python_type_name(args.positional[0])));
      try {
        return new_string(python_strftime(args.positional[0].str(), context_.now ? *context_.now : local_now()), at.pos);
      } catch (const Error& err) {
        at.fail(err.what());
      }
    }
    if (name == "namespace" || name == "dict") {
      // namespace(mapping=None, **attrs), dict(mapping=None, **items)
      if (args.positional.size() > 1)
        at.fail(name + " expected at most 1 argument, got " + std::to_string(args.positional.size()));
      Map m;
      if (!args.positional.empty()) {
        const Value& init = args.positional[0];
        if (!init.is_map()) outside_subset(at, name + "() of a " + std::string(python_type_name(init)));
        m = init.map();
      }
      for (const auto& [k, v] : args.keywords) {
        bool replaced = false;
        for (auto& [k2, v2] : m)
          if (k2 == k) {
            v2 = v;
            replaced = true;
          }
        if (!replaced) m.emplace_back(k, v);
      }
      Value v = new_map(std::move(m), at.pos);
      if (name == "dict") return v;
      auto ns = std::make_shared<Namespace>();
      ns->attributes = v.map();
      return Value(std::move(ns));
    }
    // range(stop), range(start, stop[, step]); the sandbox's safe_range
    // refuses more than MAX_RANGE = 100000 items.
    no_keywords();
    const List& p = args.positional;
    if (p.empty() || p.size() > 3) at.fail("range expected at most 3 arguments, got " + std::to_string(p.size()));
    for (const Value& v : p)
      if (!v.is_integral())
        at.fail("'" + std::string(python_type_name(v)) + "' object cannot be interpreted as an integer");
    const std::int64_t start = p.size() == 1 ? 0 : p[0].integer();
    const std::int64_t stop = p.size() == 1 ? p[0].integer() : p[1].integer();
    const std::int64_t by = p.size() == 3 ? p[2].integer() : 1;
    if (by == 0) at.fail("range() arg 3 must not be zero");
    const long double span = by > 0 ? static_cast<long double>(stop) - start : static_cast<long double>(start) - stop;
    const long double n = span <= 0 ? 0 : std::ceil(span / std::abs(static_cast<long double>(by)));
    if (n > 100000) at.fail("Range too big. The sandbox blocks ranges larger than MAX_RANGE (100000).");
    List out;
    charge_items(static_cast<std::uint64_t>(n), at.pos);
    for (std::int64_t k = 0; k < static_cast<std::int64_t>(n); ++k) out.emplace_back(start + k * by);
    return Value(std::move(out));
  }

  // ---- attributes and items -------------------------------------------------
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
    if (!name.empty() && name[0] == '_') return true;  // the sandbox refuses every _name
    if (obj.is_map()) return in(dict_methods);
    if (obj.is_list()) return !obj.tuple ? in(list_methods) : name == "count" || name == "index";
    if (obj.is_string()) return in(str_methods);
    return false;
  }

  [[noreturn]] static void fail_method(const Value& obj, std::string_view name, const Where& at) {
    outside_subset(at, "'" + std::string(name) + "' of a " + std::string(python_type_name(obj)) +
                           " is a Python method or attribute; using it");
  }

  static Value undefined_attribute(const Value& obj, std::string_view name) {
    return Value(Undefined{python_quote(object_type_repr(obj)) + " has no attribute " + python_quote(name)});
  }

  static Value loop_attribute(const LoopState& l, std::string_view name, const Where& at) {
    if (name == "index0") return Value(l.index0);
    if (name == "index") return Value(l.index0 + 1);
    if (name == "first") return Value(l.index0 == 0);
    if (name == "last") return Value(l.index0 + 1 == l.length);
    if (name == "length") return Value(l.length);
    if (name == "revindex") return Value(l.length - l.index0);
    if (name == "revindex0") return Value(l.length - l.index0 - 1);
    if (name == "depth") return Value(1);
    if (name == "depth0") return Value(0);
    if (name == "previtem") {
      if (l.index0 == 0) return Value(Undefined{"there is no previous item"});
      return (*l.items)[static_cast<std::size_t>(l.index0 - 1)];
    }
    if (name == "nextitem") {
      if (l.index0 + 1 >= l.length) return Value(Undefined{"there is no next item"});
      return (*l.items)[static_cast<std::size_t>(l.index0 + 1)];
    }
    if (name == "changed" || name == "reset" || name == "cycle")
      outside_subset(at, "'loop." + std::string(name) + "' other than as loop.cycle(...)");
    return Value(Undefined{"'jinja2.runtime.LoopContext object' has no attribute " + python_quote(name)});
  }

  // obj.name: the sandbox's getattr — a Python attribute first, then a key.
  static Value get_attribute(const Value& obj, const std::string& name, const Where& at) {
    if (obj.is_undefined()) fail_undefined(obj, at);
    if (obj.is_loop()) return loop_attribute(obj.loop(), name, at);
    if (obj.is_generator()) {
      // A generator's own attributes (send, close, gi_frame, ...) are
      // Python internals; any other name is undefined, as jinja2 gives it.
      static constexpr std::array<std::string_view, 9> own = {"send", "throw", "close", "gi_code", "gi_frame",
                                                              "gi_running", "gi_yieldfrom", "gi_suspended", "gi_name"};
      if (name.empty() || name[0] == '_' || std::find(own.begin(), own.end(), name) != own.end())
        fail_method(obj, name, at);
      return undefined_attribute(obj, name);
    }
    if (obj.is_namespace()) {
      if (!name.empty() && name[0] == '_') fail_method(obj, name, at);
      for (const auto& [k, v] : obj.ns().attributes)
        if (k == name) return v;
      return undefined_attribute(obj, name);
    }
    if (is_method_of(obj, name)) fail_method(obj, name, at);
    if (obj.is_map())
      for (const auto& [k, v] : obj.map())
        if (k == name) return v;
    if (obj.is_number()) outside_subset(at, "attribute access on a number");
    if (obj.is_callable()) outside_subset(at, "attribute access on a function or macro");
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
    if (obj.is_number()) outside_subset(at, "subscripting a " + std::string(python_type_name(obj)));
    if (obj.is_namespace() || obj.is_loop() || obj.is_callable())
      outside_subset(at, "subscripting a " + std::string(python_type_name(obj)));
    if (obj.is_generator() && !key.is_integral()) outside_subset(at, "subscripting a generator other than by a string or an integer");
    // Any other key: Python raises IndexError, KeyError or TypeError, which
    // the sandbox's getitem turns into an undefined value.
    const std::string key_text = key.is_list() || key.is_map() || key.is_loop() || key.is_namespace() || key.is_callable() ||
                                         key.is_generator()
                                     ? std::string(python_type_name(key))
                                 : key.is_undefined() ? std::string("Undefined")
                                                      : python_str(key, at);
    return Value(Undefined{object_type_repr(obj) + " has no element " + key_text});
  }

  // Python's +. A Markup (|safe) on either side escapes the other side's
  // text (markupsafe's __add__/__radd__).
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
      if (a.markup != b.markup) {
        Value v = new_string(a.markup ? a.str() + html_escape(b.str()) : html_escape(a.str()) + b.str(), at.pos);
        v.markup = true;
        return v;
      }
      charge(a.str().size() + b.str().size(), at.pos);
      Value v(a.str() + b.str());
      v.markup = a.markup;
      return v;
    }
    if (a.is_list() && b.is_list() && a.tuple == b.tuple) {
      charge_items(a.list().size() + b.list().size(), at.pos);
      List l = a.list();
      l.insert(l.end(), b.list().begin(), b.list().end());
      Value v(std::move(l));
      v.tuple = a.tuple;
      check_nesting(v, at);
      return v;
    }
    const std::string ta(python_type_name(a)), tb(python_type_name(b));
    if ((a.is_string() && !a.markup) || a.is_list())
      at.fail("can only concatenate " + ta + " (not \"" + tb + "\") to " + ta);
    at.fail("unsupported operand type(s) for +: '" + ta + "' and '" + tb + "'");
  }

  // markupsafe.escape: & < > " ' as HTML entities.
  static std::string html_escape(std::string_view s) {
    std::string out;
    for (const char c : s) {
      switch (c) {
        case '&': out += "&amp;"; break;
        case '<': out += "&lt;"; break;
        case '>': out += "&gt;"; break;
        case '"': out += "&#34;"; break;
        case '\'': out += "&#39;"; break;
        default: out += c;
      }
    }
    return out;
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
    if (container.is_loop() || container.is_namespace() || container.is_callable() || container.is_generator())
      outside_subset(at, "'in' on a " + std::string(python_type_name(container)));
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
    if (op == "%" && a.is_string()) outside_subset(at, "printf-style string formatting ('%' on a string)");
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
    const auto count = static_cast<std::uint64_t>(n);
    if (seq.is_string()) {
      if (unit != 0 && count > limits_.max_bytes / unit) charge(limits_.max_bytes + 1, at.pos);
      charge(unit * count, at.pos);
      std::string out;
      out.reserve(unit * count);
      for (std::uint64_t k = 0; k < count; ++k) out += seq.str();
      return Value(std::move(out));
    }
    if (unit != 0 && count > limits_.max_bytes / unit) charge(limits_.max_bytes + 1, at.pos);
    charge_items(unit * count, at.pos);
    List out;
    out.reserve(unit * count);
    for (std::uint64_t k = 0; k < count; ++k) out.insert(out.end(), seq.list().begin(), seq.list().end());
    Value v(std::move(out));
    v.tuple = seq.tuple;
    check_nesting(v, at);
    return v;
  }

  // jinja2 3.1's tests (jinja2/tests.py), over the subset's values.
  bool run_test(const std::string& name, const Value& v, const List& args, const Where& at) {
    if (v.is_generator()) {
      // What Python answers for a generator: iterable, none of the other types.
      static constexpr std::array<std::string_view, 13> type_tests = {
          "defined", "undefined", "none", "boolean", "true", "false", "integer",
          "float", "number", "string", "mapping", "sequence", "callable"};
      if (name == "iterable" || name == "defined") return true;
      if (std::find(type_tests.begin(), type_tests.end(), name) != type_tests.end()) return false;
      outside_subset(at, "the test '" + name + "' of a generator");
    }
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
          outside_subset(at, "the test '" + name + "' on non-ASCII text");
        const bool lower = c >= 'a' && c <= 'z', upper = c >= 'A' && c <= 'Z';
        if ((name == "lower" && upper) || (name == "upper" && lower)) return false;
        cased = cased || lower || upper;
      }
      return cased;
    }
    if (name == "in") return contains(args[0], v, at);
    if (name == "callable") return v.is_callable();
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
    const std::int64_t count = by > 0 ? (end > begin ? (end - begin + by - 1) / by : 0)
                                      : (begin > end ? (begin - end - by - 1) / -by : 0);
    if (obj.is_list()) charge_items(static_cast<std::uint64_t>(count), at.pos);
    else steps(static_cast<std::size_t>(count), at.pos);
    for (std::int64_t i = begin; by > 0 ? i < end : i > end; i += by) {
      const auto k = static_cast<std::size_t>(i);
      if (obj.is_list()) items.push_back(obj.list()[k]);
      else text.append(obj.str(), offsets[k], offsets[k + 1] - offsets[k]);
      if ((by > 0 && i > INT64_MAX - by) || (by < 0 && i < INT64_MIN - by)) break;
    }
    if (obj.is_string()) charge(text.size(), at.pos);
    Value v = obj.is_list() ? Value(std::move(items)) : Value(std::move(text));
    v.tuple = obj.tuple;
    return v;
  }


  // ---- methods ------------------------------------------------------------
  static bool positional_only(const Args& args) { return args.keywords.empty(); }

  const Value* keyword(const Args& args, std::string_view name) const {
    for (const auto& [k, v] : args.keywords)
      if (k == name) return &v;
    return nullptr;
  }

  [[noreturn]] static void fail_unsafe(const Value& obj, const std::string& method, const Where& at) {
    at.fail("access to attribute " + python_quote(method) + " of " + python_quote(python_type_name(obj)) +
            " object is unsafe.");
  }

  // Python's str, dict and list methods of the subset (parser.hpp kMethods)
  // and loop.cycle, as the sandbox calls them.
  Value call_method(const Value& obj, const std::string& method, const Args& args, const Where& at) {
    if (obj.is_undefined()) fail_undefined(obj, at);
    const List& p = args.positional;
    if (obj.is_loop() && method == "cycle") {
      if (p.empty()) at.fail("no items for cycling given");
      return p[static_cast<std::size_t>(obj.loop().index0) % p.size()];
    }
    if (obj.is_string()) {
      if (obj.markup) outside_subset(at, "calling a method of a |safe string");
      return call_str_method(obj.str(), method, args, at);
    }
    if (obj.is_map()) {
      const Map& m = obj.map();
      if (method == "get") {
        if (p.empty()) at.fail("get expected at least 1 argument, got 0");
        if (p[0].is_list() || p[0].is_map()) at.fail("unhashable type: '" + std::string(python_type_name(p[0])) + "'");
        if (p[0].is_string())
          for (const auto& [k, v] : m)
            if (k == p[0].str()) return v;
        return p.size() > 1 ? p[1] : Value(None{});
      }
      if (method == "items" || method == "keys" || method == "values") {
        if (!p.empty()) at.fail("dict." + method + "() takes no arguments (" + std::to_string(p.size()) + " given)");
        charge_items(m.size() * (method == "items" ? 3 : 1), at.pos);
        List out;
        for (const auto& [k, v] : m) {
          if (method == "items") out.push_back(Value::make_tuple(List{Value(k), v}));
          else if (method == "keys") out.emplace_back(k);
          else out.push_back(v);
        }
        return Value(std::move(out));
      }
      if (method == "pop") fail_unsafe(obj, method, at);
    }
    if (obj.is_list()) {
      if (method == "pop" && !obj.tuple) {
        List& l = obj.mutable_list();
        if (l.empty()) at.fail("pop from empty list");
        std::int64_t i = -1;
        if (!p.empty()) {
          if (!p[0].is_integral())
            at.fail("'" + std::string(python_type_name(p[0])) + "' object cannot be interpreted as an integer");
          i = p[0].integer();
        }
        const auto n = static_cast<std::int64_t>(l.size());
        if (i < 0) i += n;
        if (i < 0 || i >= n) at.fail("pop index out of range");
        Value v = l[static_cast<std::size_t>(i)];
        l.erase(l.begin() + i);
        return v;
      }
      if (method == "append" && !obj.tuple) fail_unsafe(obj, method, at);
      if (method == "index" || method == "count") {
        if (p.size() != 1) at.fail(method + "() takes exactly one argument (" + std::to_string(p.size()) + " given)");
        std::int64_t count = 0;
        const List& l = obj.list();
        steps(l.size(), at.pos);
        for (std::size_t k = 0; k < l.size(); ++k)
          if (python_equal(l[k], p[0])) {
            if (method == "index") return Value(static_cast<std::int64_t>(k));
            ++count;
          }
        if (method == "index") at.fail(to_str(p[0], at) + " is not in " + std::string(obj.tuple ? "tuple" : "list"));
        return Value(count);
      }
    }
    // jinja2: the attribute is undefined, and calling an undefined fails.
    at.fail(undefined_attribute(obj, method).undefined().message);
  }

  Value call_str_method(const std::string& s, const std::string& method, const Args& args, const Where& at) {
    const List& p = args.positional;
    if (method == "upper" || method == "lower" || method == "title" || method == "capitalize") {
      const CaseMapping m = method == "upper" ? CaseMapping::Upper
                            : method == "lower" ? CaseMapping::Lower
                            : method == "title" ? CaseMapping::Title
                                                : CaseMapping::Capitalize;
      return new_string(python_case(s, m, "str." + method + "()", at), at.pos);
    }
    if (method == "startswith" || method == "endswith") {
      if (p.empty()) at.fail(method + "() takes at least 1 argument (0 given)");
      List prefixes;
      if (p[0].is_string()) {
        prefixes.push_back(p[0]);
      } else if (p[0].is_list() && p[0].tuple) {
        prefixes = p[0].list();
        for (const Value& x : prefixes)
          if (!x.is_string())
            at.fail("tuple for " + method + " must only contain str, not " + std::string(python_type_name(x)));
      } else {
        at.fail(method + " first arg must be str or a tuple of str, not " + std::string(python_type_name(p[0])));
      }
      for (const Value& x : prefixes) {
        const std::string& q = x.str();
        if (q.size() > s.size()) continue;
        if (method == "startswith" ? s.compare(0, q.size(), q) == 0 : s.compare(s.size() - q.size(), q.size(), q) == 0)
          return Value(true);
      }
      return Value(false);
    }
    if (method == "strip" || method == "lstrip" || method == "rstrip") {
      const Value chars = p.empty() ? Value(None{}) : p[0];
      if (!chars.is_none() && !chars.is_string()) at.fail(method + " arg must be None or str");
      return new_string(python_strip(s, chars, method != "rstrip", method != "lstrip"), at.pos);
    }
    if (method == "split" || method == "rsplit") {
      Value sep = p.size() > 0 ? p[0] : Value(None{});
      Value maxsplit = p.size() > 1 ? p[1] : Value(-1);
      if (const Value* k = keyword(args, "sep")) {
        if (p.size() > 0) at.fail("argument for " + method + "() given by name ('sep') and position (1)");
        sep = *k;
      }
      if (const Value* k = keyword(args, "maxsplit")) {
        if (p.size() > 1) at.fail("argument for " + method + "() given by name ('maxsplit') and position (2)");
        maxsplit = *k;
      }
      for (const auto& [k, v] : args.keywords)
        if (k != "sep" && k != "maxsplit") at.fail(method + "() got an unexpected keyword argument " + python_quote(k));
      if (!maxsplit.is_integral())
        at.fail("'" + std::string(python_type_name(maxsplit)) + "' object cannot be interpreted as an integer");
      const std::vector<std::string> parts = python_split(s, sep, maxsplit.integer(), method == "rsplit", at);
      charge(s.size(), at.pos);
      charge_items(parts.size(), at.pos);
      List out;
      for (const auto& part : parts) out.emplace_back(part);
      return Value(std::move(out));
    }
    if (method == "replace") {
      if (p.size() < 2) at.fail("replace expected at least 2 arguments, got " + std::to_string(p.size()));
      for (std::size_t k = 0; k < 2; ++k)
        if (!p[k].is_string())
          at.fail("replace() argument " + std::to_string(k + 1) + " must be str, not " + std::string(python_type_name(p[k])));
      std::int64_t count = -1;
      if (p.size() > 2) {
        if (!p[2].is_integral())
          at.fail("'" + std::string(python_type_name(p[2])) + "' object cannot be interpreted as an integer");
        count = p[2].integer();
      }
      return new_string(checked_replace(s, p[0].str(), p[1].str(), count, at), at.pos);
    }
    if (method == "format") {
      std::string out = python_format(s, p, args.keywords, at);
      return new_string(std::move(out), at.pos);
    }
    if (method == "join") {
      if (p.size() != 1) at.fail("str.join() takes exactly one argument (" + std::to_string(p.size()) + " given)");
      const List items = items_of(p[0], at, "join");
      std::string out;
      for (std::size_t k = 0; k < items.size(); ++k) {
        if (!items[k].is_string())
          at.fail("sequence item " + std::to_string(k) + ": expected str instance, " +
                  std::string(python_type_name(items[k])) + " found");
        if (k) out += s;
        out += items[k].str();
        if (out.size() > budget()) charge(out.size(), at.pos);
      }
      return new_string(std::move(out), at.pos);
    }
    if (method == "find" || method == "count") {
      if (p.size() != 1 || !p[0].is_string())
        at.fail(method + "(): the argument must be one string");
      const std::string& sub = p[0].str();
      if (method == "find") {
        const std::size_t f = s.find(sub);
        return Value(f == std::string::npos ? std::int64_t{-1}
                                            : static_cast<std::int64_t>(count_code_points(std::string_view(s).substr(0, f))));
      }
      if (sub.empty()) return Value(static_cast<std::int64_t>(count_code_points(s) + 1));
      std::int64_t n = 0;
      for (std::size_t f = s.find(sub); f != std::string::npos; f = s.find(sub, f + sub.size())) ++n;
      return Value(n);
    }
    at.fail(undefined_attribute(Value(s), method).undefined().message);
  }

  // str.replace with the result's size bounded before it is built.
  std::string checked_replace(std::string_view s, std::string_view old, std::string_view with, std::int64_t count,
                              const Where& at) {
    std::uint64_t hits = 0;
    if (old.empty()) {
      hits = count_code_points(s) + 1;
    } else {
      for (std::size_t f = s.find(old); f != std::string_view::npos; f = s.find(old, f + old.size())) ++hits;
    }
    if (count >= 0) hits = std::min<std::uint64_t>(hits, static_cast<std::uint64_t>(count));
    if (with.size() > old.size() && hits > 0 && (with.size() - old.size()) > budget() / hits)
      charge(limits_.max_bytes + 1, at.pos);
    return python_replace(s, old, with, count);
  }

  // ---- filters ------------------------------------------------------------
  // A filter's argument by parameter name: positional by its place in the
  // signature, else by keyword, else the fallback.
  static Value param(const FilterSignature& sig, const Args& args, std::string_view name, Value fallback) {
    for (std::size_t i = 0; i < sig.params.size(); ++i)
      if (sig.params[i] == name && i < args.positional.size()) return args.positional[i];
    for (const auto& [k, v] : args.keywords)
      if (k == name) return v;
    return fallback;
  }

  Value apply_filter(const Expr& e, const Where& at) {
    const Value value = eval(*e.args[0]);
    Args args = eval_args(e);
    return filter(e.name, value, args, at);
  }

  // make_attrgetter: `attribute` is a key, an index or a dotted path of them ("a.0.b").
  Value get_path(const Value& item, const Value& attribute, const Where& at) {
    if (attribute.is_none()) return item;
    if (attribute.is_integral()) return get_item(item, attribute, at);
    if (!attribute.is_string()) at.fail("attribute must be a string or an integer");
    Value v = item;
    for (const std::string& part : python_split(attribute.str(), Value("."), -1, false, at)) {
      const bool digits = !part.empty() && part.find_first_not_of("0123456789") == std::string::npos;
      v = get_item(v, digits ? Value(static_cast<std::int64_t>(std::stoll(part))) : Value(part), at);
    }
    return v;
  }

  // |sort and |dictsort: the values in the stable order of their keys
  // (Python's sorted(key=..., reverse=...), which keeps equal keys in order
  // either way), as a new list.
  Value sorted_by_key(std::vector<std::pair<Value, Value>> keyed, bool reverse, const Where& at) {
    steps(keyed.size() * 20, at.pos);
    std::stable_sort(keyed.begin(), keyed.end(), [&](const auto& a, const auto& b) {
      return reverse ? less(b.first, a.first, "<", at) : less(a.first, b.first, "<", at);
    });
    List out;
    for (auto& kv : keyed) out.push_back(std::move(kv.second));
    return new_list(std::move(out), at.pos);
  }

  // jinja2's ignore_case: the key of a case-insensitive sort, min, max, unique.
  Value sort_key(const Value& item, const Value& attribute, bool case_sensitive, const Where& at) {
    Value key = get_path(item, attribute, at);
    if (!case_sensitive && key.is_string()) return Value(python_case(key.str(), CaseMapping::Lower, "a case-insensitive sort", at));
    return key;
  }

  Value filter(const std::string& name, const Value& value, const Args& args, const Where& at) {
    const FilterSignature* sig = find_filter(name);
    if (sig == nullptr) outside_subset(at, "the filter '" + name + "'");
    if (value.is_generator() && !sig->consumes) outside_subset(at, "the filter '" + name + "' of a generator");
    const bool variadic = sig->params.size() == 1 && sig->params[0] == "*";
    if (!variadic) {
      if (args.positional.size() > sig->params.size())
        at.fail("the filter '" + name + "' takes at most " + std::to_string(sig->params.size()) + " arguments, got " +
                std::to_string(args.positional.size()));
      for (const auto& [k, v] : args.keywords)
        if (std::find(sig->params.begin(), sig->params.end(), k) == sig->params.end())
          at.fail("the filter '" + name + "' has no parameter '" + k + "'");
    }
    auto arg = [&](std::string_view param_name, Value fallback) { return param(*sig, args, param_name, std::move(fallback)); };
    if (name == "trim") return filter_trim(value, arg("chars", Value(None{})), at);
    if (name == "length" || name == "count") return filter_length(value, at);
    if (name == "upper" || name == "lower" || name == "title" || name == "capitalize") {
      const CaseMapping m = name == "upper" ? CaseMapping::Upper
                            : name == "lower" ? CaseMapping::Lower
                            : name == "title" ? CaseMapping::Title
                                              : CaseMapping::Capitalize;
      Value v = new_string(python_case(to_str(value, at), m, name, at), at.pos);
      v.markup = value.is_string() && value.markup;
      return v;
    }
    if (name == "default" || name == "d") return filter_default(value, arg("default_value", Value("")), arg("boolean", Value(false)));
    if (name == "items") {
      if (value.is_undefined()) return Value(List{});
      if (!value.is_map()) at.fail("items: Can only get item pairs from a mapping.");
      return call_method(value, "items", {}, at);
    }
    if (name == "join") {
      const Value attribute = arg("attribute", Value(None{}));
      const std::string sep = to_str(arg("d", Value("")), at);
      std::string out;
      bool first = true;
      for (const Value& item : items_of(value, at, "join")) {
        if (!first) out += sep;
        first = false;
        const Value x = get_path(item, attribute, at);
        if (x.is_string()) out += x.str();
        else out += to_str(x, at);
        if (out.size() > budget()) charge(out.size(), at.pos);
      }
      return new_string(std::move(out), at.pos);
    }
    // jinja2's select_or_reject and map start with `if value:`: a false
    // value (none, undefined, an empty list) gives an empty generator and
    // the arguments are never looked at.
    if ((name == "select" || name == "reject" || name == "selectattr" || name == "rejectattr" || name == "map") &&
        !truthy(value))
      return new_list({}, at.pos);
    if (name == "select" || name == "reject" || name == "selectattr" || name == "rejectattr") {
      const bool by_attribute = name == "selectattr" || name == "rejectattr";
      const bool keep_passing = name == "select" || name == "selectattr";
      const List& p = args.positional;
      if (by_attribute && p.empty()) at.fail(name + ": missing the attribute");
      const std::size_t off = by_attribute ? 1 : 0;
      std::optional<std::string> test;
      if (p.size() > off) {
        if (!p[off].is_string()) at.fail(name + ": the test name must be a string");
        test = p[off].str();
        const TestSignature* t = find_test(*test);
        if (t == nullptr) outside_subset(at, "the test '" + *test + "'");
        if (p.size() - off - 1 != t->args)
          at.fail("the test '" + *test + "' takes " + std::to_string(t->args) + " argument" + (t->args == 1 ? "" : "s") +
                  ", got " + std::to_string(p.size() - off - 1));
      }
      if (!args.keywords.empty()) outside_subset(at, "a keyword argument to '" + name + "'");
      const List test_args(p.begin() + static_cast<std::ptrdiff_t>(std::min(p.size(), off + 1)), p.end());
      List out;
      for (const Value& item : items_of(value, at, name)) {
        const Value x = by_attribute ? get_path(item, p[0], at) : item;
        const bool passes = test ? run_test(*test, x, test_args, at) : truthy(x);
        if (passes == keep_passing) out.push_back(item);
      }
      return new_list(std::move(out), at.pos);
    }
    if (name == "map") {
      List out;
      const List items = items_of(value, at, "map");
      if (args.positional.empty()) {
        const Value* attribute = keyword(args, "attribute");
        if (attribute == nullptr) at.fail("map requires a filter argument");
        const Value* fallback = keyword(args, "default");
        for (const auto& [k, v] : args.keywords)
          if (k != "attribute" && k != "default") at.fail("Unexpected keyword argument " + python_quote(k));
        for (const Value& item : items) {
          Value x = get_path(item, *attribute, at);
          if (fallback && !fallback->is_none() && x.is_undefined()) x = *fallback;
          out.push_back(std::move(x));
        }
      } else {
        if (!args.positional[0].is_string()) at.fail("map: the filter name must be a string");
        const std::string inner = args.positional[0].str();
        if (find_filter(inner) == nullptr) outside_subset(at, "the filter '" + inner + "'");
        Args rest{List(args.positional.begin() + 1, args.positional.end()), args.keywords};
        for (const Value& item : items) out.push_back(filter(inner, item, rest, at));
      }
      return new_list(std::move(out), at.pos);
    }
    if (name == "unique") {
      const bool case_sensitive = truthy(arg("case_sensitive", Value(false)));
      const Value attribute = arg("attribute", Value(None{}));
      List out, seen;
      for (const Value& item : items_of(value, at, "unique")) {
        const Value key = sort_key(item, attribute, case_sensitive, at);
        if (key.is_list() || key.is_map()) at.fail("unhashable type: '" + std::string(python_type_name(key)) + "'");
        steps(seen.size(), at.pos);
        if (std::none_of(seen.begin(), seen.end(), [&](const Value& s) { return python_equal(s, key); })) {
          seen.push_back(key);
          out.push_back(item);
        }
      }
      return new_list(std::move(out), at.pos);
    }
    if (name == "list") return new_list(items_of(value, at, "list"), at.pos);
    if (name == "first" || name == "last") {
      if (value.is_undefined()) fail_undefined(value, at);
      const List items = items_of(value, at, name);
      if (items.empty()) return Value(Undefined{"No " + name + " item, sequence was empty."});
      return name == "first" ? items.front() : items.back();
    }
    if (name == "sort") {
      const bool reverse = truthy(arg("reverse", Value(false)));
      const bool case_sensitive = truthy(arg("case_sensitive", Value(false)));
      const Value attribute = arg("attribute", Value(None{}));
      List items = items_of(value, at, "sort");
      std::vector<std::pair<Value, Value>> keyed;
      for (Value& item : items) keyed.emplace_back(sort_key(item, attribute, case_sensitive, at), std::move(item));
      return sorted_by_key(std::move(keyed), reverse, at);
    }
    if (name == "min" || name == "max") {
      const bool case_sensitive = truthy(arg("case_sensitive", Value(false)));
      const Value attribute = arg("attribute", Value(None{}));
      const List items = items_of(value, at, name);
      if (items.empty()) return Value(Undefined{"No aggregated item, sequence was empty."});
      std::size_t best = 0;
      Value best_key = sort_key(items[0], attribute, case_sensitive, at);
      for (std::size_t k = 1; k < items.size(); ++k) {
        Value key = sort_key(items[k], attribute, case_sensitive, at);
        if (name == "min" ? less(key, best_key, "<", at) : less(best_key, key, ">", at)) {
          best = k;
          best_key = std::move(key);
        }
      }
      return items[best];
    }
    if (name == "sum") {
      const Value attribute = arg("attribute", Value(None{}));
      Value total = arg("start", Value(0));
      for (const Value& item : items_of(value, at, "sum")) total = add(total, get_path(item, attribute, at), at);
      return total;
    }
    if (name == "reverse") {
      if (value.is_string()) {
        std::string out;
        const std::string& s = value.str();
        for (std::size_t i = s.size(); i > 0;) {
          const std::size_t b = previous_start(s, i);
          out.append(s, b, i - b);
          i = b;
        }
        return new_string(std::move(out), at.pos);
      }
      List items = items_of(value, at, "reverse");
      std::reverse(items.begin(), items.end());
      return new_list(std::move(items), at.pos);
    }
    if (name == "dictsort") {
      if (!value.is_map()) at.fail("dictsort: the value must be a dict, not " + std::string(python_type_name(value)));
      const bool case_sensitive = truthy(arg("case_sensitive", Value(false)));
      const Value by = arg("by", Value("key"));
      const bool reverse = truthy(arg("reverse", Value(false)));
      std::size_t pos = 0;
      if (by.is_string() && by.str() == "value") pos = 1;
      else if (!by.is_string() || by.str() != "key") at.fail("You can only sort by either \"key\" or \"value\"");
      List pairs = call_method(value, "items", {}, at).list();
      std::vector<std::pair<Value, Value>> keyed;
      for (Value& pair : pairs) keyed.emplace_back(sort_key(pair.list()[pos], Value(None{}), case_sensitive, at), std::move(pair));
      return sorted_by_key(std::move(keyed), reverse, at);
    }
    if (name == "string") {
      if (value.is_string()) return value;
      return new_string(to_str(value, at), at.pos);
    }
    if (name == "safe") {
      Value v = value.is_string() ? value : new_string(to_str(value, at), at.pos);
      v.markup = true;
      return v;
    }
    if (name == "int") return filter_int(value, arg("default", Value(0)), arg("base", Value(10)), at);
    if (name == "float") return filter_float(value, arg("default", Value(0.0)), at);
    if (name == "abs") {
      if (value.is_integral()) {
        if (value.integer() == INT64_MIN) at.fail("integer overflow in abs");
        return Value(value.integer() < 0 ? -value.integer() : value.integer());
      }
      if (value.is_float()) return Value(std::fabs(value.number()));
      if (value.is_undefined()) fail_undefined(value, at);
      at.fail("bad operand type for abs(): '" + std::string(python_type_name(value)) + "'");
    }
    if (name == "round") {
      const Value precision = arg("precision", Value(0));
      const Value method = arg("method", Value("common"));
      if (!precision.is_integral() || precision.integer() != 0)
        outside_subset(at, "round with a precision other than 0");
      if (!method.is_string() || (method.str() != "common" && method.str() != "floor" && method.str() != "ceil"))
        at.fail("method must be 'common', 'ceil' or 'floor'");
      if (value.is_undefined()) fail_undefined(value, at);
      if (!value.is_number()) at.fail("type " + std::string(python_type_name(value)) + " doesn't define __round__ method");
      if (method.str() == "common" && value.is_integral()) return Value(value.integer());
      const double x = value.number();
      if (method.str() == "floor") return Value(std::floor(x));
      if (method.str() == "ceil") return Value(std::ceil(x));
      return Value(std::nearbyint(x));  // round half to even, as Python's round()
    }
    if (name == "replace") {
      const std::string s = to_str(value, at);
      const std::string old = to_str(arg("old", Value(Undefined{"replace() needs 'old'"})), at);
      const std::string with = to_str(arg("new", Value(Undefined{})), at);
      const Value count = arg("count", Value(None{}));
      if (!count.is_none() && !count.is_integral()) at.fail("replace: count must be an integer");
      return new_string(checked_replace(s, old, with, count.is_none() ? -1 : count.integer(), at), at.pos);
    }
    if (name == "indent") return filter_indent(value, arg("width", Value(4)), truthy(arg("first", Value(false))),
                                               truthy(arg("blank", Value(false))), at);
    if (name == "tojson") {
      const JsonStyle style = json_style(arg("ensure_ascii", Value(false)), arg("indent", Value(None{})),
                                         arg("separators", Value(None{})), arg("sort_keys", Value(false)), at);
      std::string out;
      json_dump(value, style, 0, out, at, budget());
      return new_string(std::move(out), at.pos);
    }
    outside_subset(at, "the filter '" + name + "'");
  }

  // jinja2's do_indent (with the "s += newline" quirk: a trailing newline
  // gives an indented empty last line only when blank is true).
  Value filter_indent(const Value& value, const Value& width, bool first, bool blank, const Where& at) {
    std::string indentation;
    if (width.is_string()) indentation = width.str();
    else if (width.is_integral()) indentation = std::string(static_cast<std::size_t>(std::max<std::int64_t>(0, std::min<std::int64_t>(width.integer(), 1 << 20))), ' ');
    else at.fail("indent: width must be an integer or a string");
    const std::string s = to_str(value, at) + "\n";
    const std::vector<std::string> lines = python_splitlines(s);
    std::uint64_t size = s.size() + lines.size() * (indentation.size() + 1);
    charge(size, at.pos);
    std::string rv;
    if (blank) {
      for (std::size_t k = 0; k < lines.size(); ++k) {
        if (k) rv += "\n" + indentation;
        rv += lines[k];
      }
    } else {
      rv = lines.empty() ? std::string() : lines[0];
      for (std::size_t k = 1; k < lines.size(); ++k) {
        rv += "\n";
        if (!lines[k].empty()) rv += indentation;
        rv += lines[k];
      }
    }
    if (first) rv = indentation + rv;
    return Value(std::move(rv));
  }

  std::string_view name_;
  const Limits& limits_;
  RenderContext context_;
  std::vector<Frame> frames_;
  std::size_t current_ = 0;
  std::uint64_t next_frame_id_ = 0;
  std::string output_;
  std::string* out_ = &output_;
  std::uint64_t steps_ = 0;
  std::uint64_t bytes_ = 0;
  std::uint32_t call_depth_ = 0;
};

}  // namespace urm::detail::jinja
