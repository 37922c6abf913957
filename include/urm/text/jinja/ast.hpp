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
  Attr,      // args[0] . name
  Item,      // args[0] [ args[1] ]
  Not,       // not args[0]
  And,       // args[0] and args[1]
  Or,        // args[0] or args[1]
  Add,       // args[0] + args[1]
  Concat,    // args[0] ~ args[1] ~ ...
  Compare,   // args[0] ops[0] args[1] ops[1] args[2] ... (Python chaining)
  Filter,    // args[0] | name(args[1..]), arguments bound to arg_names
  Raise,     // raise_exception(args[0])
  Arith,     // args[0] name args[1] for name in - * / // % **; unary name args[0] for "neg", "pos"
  Test,      // args[0] is name(args[1..])  (`is not` is Not around it)
  Slice,     // args[0] [ args[1] : args[2] : args[3] ] (an omitted part is a none literal)
  Method,    // args[0] . name (args[1..]), arguments bound to arg_names (empty: positional)
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
  static constexpr std::array<TestSignature, 28> tests = {{
      {"defined", 0}, {"undefined", 0}, {"none", 0},      {"boolean", 0},     {"true", 0},  {"false", 0},
      {"integer", 0}, {"float", 0},     {"number", 0},    {"string", 0},      {"mapping", 0}, {"iterable", 0},
      {"sequence", 0}, {"odd", 0},      {"even", 0},      {"divisibleby", 1}, {"lower", 0}, {"upper", 0},
      {"eq", 1},      {"equalto", 1},   {"ne", 1},        {"lt", 1},          {"lessthan", 1}, {"le", 1},
      {"gt", 1},      {"greaterthan", 1}, {"ge", 1},      {"in", 1}}};
  for (const auto& t : tests)
    if (t.name == name) return &t;
  return nullptr;
}

struct Expr {
  ExprKind kind;
  Pos pos;
  Value literal;                // Literal
  std::string name;             // Name, Attr, Filter, Arith, Test, Method
  std::vector<std::unique_ptr<Expr>> args;
  // Filter: the parameter each of args[1..] binds to; Method: the keyword of
  // each of args[1..], "" for a positional one.
  std::vector<std::string> arg_names;
  std::vector<CompareOp> ops;   // Compare
  std::uint32_t height = 1;
  // A `select`/`reject` filter: jinja2 gives a generator, which only
  // iterating (a for-loop, `join`, another select/reject) treats like a list.
  bool generator = false;
};

using ExprPtr = std::unique_ptr<Expr>;

enum class NodeKind : std::uint8_t {
  Text,    // copy text
  Output,  // {{ expr }}
  Set,     // {% set target = expr %}
  For,     // {% for target in expr %} body {% endfor %}
  If,      // {% if c %} ... {% elif c %} ... {% else %} ... {% endif %}
};

struct Node {
  NodeKind kind;
  Pos pos;
  std::string text;  // Text: the text; Set, For: the target name
  std::vector<std::string> unpack;  // For: the names of `for a, b in ...` (then text is empty)
  ExprPtr expr;      // Output, Set, For
  ExprPtr condition; // For: the loop filter of `for x in y if c`, or null
  std::vector<Node> body;  // For
  // If: (condition, body) in order; the else branch has a null condition.
  std::vector<std::pair<ExprPtr, std::vector<Node>>> branches;
};

}  // namespace urm::detail::jinja
