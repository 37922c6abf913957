// Syntax tree of the Jinja subset: expressions and statements.
//
// Plain data: one struct per level with a kind tag and child vectors. Each
// expression records its height so the parser can refuse trees deep enough
// to exhaust the evaluator's stack (e.g. ten thousand chained `+`).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "urm/text/jinja/value.hpp"

namespace urm::detail::jinja {

enum class ExprKind : std::uint8_t {
  Literal,   // literal
  Name,      // name
  ListLit,   // [args...]
  TupleLit,  // (args...,)
  DictLit,   // {args[0]: args[1], args[2]: args[3], ...}
  Attr,      // args[0] . name
  Item,      // args[0] [ args[1] ]
  Not,       // not args[0]
  And,       // args[0] and args[1]
  Or,        // args[0] or args[1]
  Add,       // args[0] + args[1]
  Concat,    // args[0] ~ args[1] ~ ...
  Compare,   // args[0] ops[0] args[1] ops[1] args[2] ... (Python chaining)
  Filter,    // args[0] | name(args[1..]), keywords in arg_names
  Arith,     // args[0] name args[1] for name in - * / // % **; unary name args[0] for "neg", "pos"
  Test,      // args[0] is name(args[1..])  (`is not` is Not around it)
  Slice,     // args[0] [ args[1] : args[2] : args[3] ] (an omitted part is a none literal)
  Method,    // args[0] . name (args[1..]), keywords in arg_names
  Call,      // args[0] (args[1..]), keywords in arg_names: a function or macro
  CondExpr,  // args[1] if args[0] else args[2] (args.size() == 2: no else)
};

enum class CompareOp : std::uint8_t { Eq, Ne, Lt, Le, Gt, Ge, In, NotIn };

// The tests of jinja2 3.1 the subset implements (Evaluator::run_test), with
// how many arguments each takes; null for any other name. `x is name` checks
// this at parse time, `select('name')`/`reject('name')` at render time.
struct TestSignature {
  std::string_view name;
  std::size_t args;
};
inline const TestSignature* find_test(std::string_view name) {
  static constexpr std::array<TestSignature, 29> tests = {{
      {"defined", 0}, {"undefined", 0}, {"none", 0},      {"boolean", 0},     {"true", 0},  {"false", 0},
      {"integer", 0}, {"float", 0},     {"number", 0},    {"string", 0},      {"mapping", 0}, {"iterable", 0},
      {"sequence", 0}, {"odd", 0},      {"even", 0},      {"divisibleby", 1}, {"lower", 0}, {"upper", 0},
      {"eq", 1},      {"equalto", 1},   {"ne", 1},        {"lt", 1},          {"lessthan", 1}, {"le", 1},
      {"gt", 1},      {"greaterthan", 1}, {"ge", 1},      {"in", 1},        {"callable", 0}}};
  for (const auto& t : tests)
    if (t.name == name) return &t;
  return nullptr;
}

// jinja2 3.1's filters in the subset, with their parameters after the
// filtered value ("*": any arguments, bound at render time).
struct FilterSignature {
  std::string_view name;
  std::vector<std::string_view> params;
  bool generator = false;  // gives a Python generator
  bool consumes = false;   // accepts a generator
};

inline const FilterSignature* find_filter(std::string_view name) {
  static const std::array<FilterSignature, 35> filters = {{
      {"join", {"d", "attribute"}, false, true},
      {"items", {}, true, false},
      {"select", {"*"}, true, true},
      {"reject", {"*"}, true, true},
      {"selectattr", {"*"}, true, true},
      {"rejectattr", {"*"}, true, true},
      {"map", {"*"}, true, true},
      {"unique", {"case_sensitive", "attribute"}, true, true},
      {"list", {}, false, true},
      {"first", {}, false, true},
      {"last", {}},
      {"sort", {"reverse", "case_sensitive", "attribute"}, false, true},
      {"min", {"case_sensitive", "attribute"}, false, true},
      {"max", {"case_sensitive", "attribute"}, false, true},
      {"sum", {"attribute", "start"}, false, true},
      {"reverse", {}, true, true},
      {"dictsort", {"case_sensitive", "by", "reverse"}},
      {"trim", {"chars"}},
      {"length", {}},
      {"count", {}},
      {"upper", {}},
      {"lower", {}},
      {"title", {}},
      {"capitalize", {}},
      {"default", {"default_value", "boolean"}},
      {"d", {"default_value", "boolean"}},
      // transformers' tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False)
      {"tojson", {"ensure_ascii", "indent", "separators", "sort_keys"}},
      {"string", {}},
      {"safe", {}},
      {"int", {"default", "base"}},
      {"float", {"default"}},
      {"abs", {}},
      {"round", {"precision", "method"}},
      {"replace", {"old", "new", "count"}},
      {"indent", {"width", "first", "blank"}},
  }};
  for (const auto& f : filters)
    if (f.name == name) return &f;
  return nullptr;
}

struct Expr {
  ExprKind kind;
  Pos pos;
  Value literal;                // Literal
  std::string name;             // Name, Attr, Filter, Arith, Test, Method
  std::vector<std::unique_ptr<Expr>> args;
  // Filter, Method, Call: the keyword of each of args[1..], "" for a
  // positional one. (Filters with a fixed signature have every argument
  // named at parse time.)
  std::vector<std::string> arg_names;
  std::vector<CompareOp> ops;   // Compare
  std::uint32_t height = 1;
  // A filter that gives a Python generator (select, reject, selectattr,
  // rejectattr, map, unique, items): only consuming it (a for-loop, join,
  // list, first, another of these...) treats it like a list.
  bool generator = false;
  // A macro's argument that is such a generator: evaluated to a Generator
  // value instead of a list.
  bool pass_generator = false;
};

using ExprPtr = std::unique_ptr<Expr>;

// The variable a {% filter %} block's filters read: its rendered body. The
// lexer never gives a name with a control character.
inline constexpr std::string_view kFilterBlockBody = "\x01filter-body";

enum class NodeKind : std::uint8_t {
  Text,        // copy text
  Output,      // {{ expr }}
  Set,         // {% set target = expr %}, {% set a, b = expr %}
  SetAttr,     // {% set text.attr = expr %} (a namespace)
  SetBlock,    // {% set text %} body {% endset %}
  For,         // {% for target in expr %} body {% else %} else_body {% endfor %}
  If,          // {% if c %} ... {% elif c %} ... {% else %} ... {% endif %}
  Macro,       // {% macro text(params = defaults) %} body {% endmacro %}
  CallBlock,   // {% call(params) expr %} body {% endcall %}: expr is a Call
  Break,       // {% break %}
  Continue,    // {% continue %}
  Generation,  // transformers' {% generation %} body {% endgeneration %}
  FilterBlock, // {% filter f | g %} body {% endfilter %}: expr applies the filters to kFilterBlockBody
};

struct Node {
  Node(NodeKind k, Pos p, std::string t = {}, std::vector<std::string> names = {}, ExprPtr e = nullptr,
       ExprPtr c = nullptr, std::vector<Node> b = {}, std::vector<std::pair<ExprPtr, std::vector<Node>>> br = {})
      : kind(k), pos(p), text(std::move(t)), unpack(std::move(names)), expr(std::move(e)), condition(std::move(c)),
        body(std::move(b)), branches(std::move(br)) {}

  NodeKind kind;
  Pos pos;
  std::string text;                 // Text: the text; Set, For, SetBlock, Macro: the target name
  std::vector<std::string> unpack;  // For, Set: the names of `a, b` (then text is empty); Macro, CallBlock: parameters
  ExprPtr expr;       // Output, Set, SetAttr, For, CallBlock
  ExprPtr condition;  // For: the loop filter of `for x in y if c`, or null
  std::vector<Node> body;  // For, SetBlock, Macro, CallBlock, Generation, FilterBlock
  // If: (condition, body) in order; the else branch has a null condition.
  std::vector<std::pair<ExprPtr, std::vector<Node>>> branches;
  std::string attr;                 // SetAttr: the attribute
  std::vector<ExprPtr> defaults;    // Macro, CallBlock: default of each parameter (null: none)
  std::vector<Node> else_body;      // For: the {% else %} branch (no item)
  // Macro: whether the body reads `caller`, `varargs`, `kwargs` (jinja2
  // then accepts a call block, extra positional, extra keyword arguments).
  bool uses_caller = false, uses_varargs = false, uses_kwargs = false;
};

}  // namespace urm::detail::jinja
