// A parsed Jinja template of the subset chat templates use, rendered the way
// transformers renders chat templates (jinja2's ImmutableSandboxedEnvironment
// with trim_blocks and lstrip_blocks; tojson = json.dumps, ensure_ascii=False).
//
// The subset (grammar in parser.hpp, semantics in evaluator.hpp) covers the
// templates of Llama-3 and Llama-3.1-Instruct (URM-LLaMa-3-8B,
// URM-LLaMa-3.1-8B, with their tool-calling paths), Gemma, Mistral, Zephyr,
// ChatML and Qwen2 (tests/data/templates, tests/text/test_chat_template*.cpp):
//   {{ expr }}  {# comment #}  whitespace control {%- -%} {{- -}} {%+ +%}
//   {% set x = expr %}   {% if %}{% elif %}{% else %}{% endif %}
//   {% for x in expr %}, {% for a, b in expr %} (unpacking), {% for x in expr
//     if cond %} (loop filter); loop.index0/index/first/last/length
//   literals: strings, integers, floats, true/false/none, [lists]
//   x.name  x['key']  x[0]  x[-1]  slices x[a:b:c] (lists, strings)
//   + - * / // % ** (numbers; str/list + and * n), unary - +, ~
//   == != < <= > >=  in  not in  and or not   a if c else b
//   tests: x is [not] defined undefined none boolean true false integer float
//     number string mapping iterable sequence odd even divisibleby lower upper
//     eq/equalto ne lt/lessthan le gt/greaterthan ge in
//   filters: trim length upper lower default tojson join items select reject
//   methods: str.strip/lstrip/rstrip(chars) startswith/endswith(prefix)
//     upper/lower(); dict.get(key, default) items() keys() values()
//   raise_exception(msg)
// with Python's semantics: floor division and modulo by the divisor's sign,
// `/` always a float, the exact ZeroDivisionError/TypeError messages.
// Everything else is an urm::Error "<name> <line>:<col>: <construct> is
// outside the Jinja subset urm.cpp implements", at parse time where the
// syntax shows it: other tests (callable, sameas), filters (map, ...),
// functions (namespace, range, strftime_now — so templates that ask for
// today's date are refused rather than rendered with some date), dict
// literals, tuples, macros, break/continue, `set x.y`, loop.revindex and
// friends, and using the generator `select`/`reject`/`items` return other
// than by iterating it (a for-loop, join, select, reject). At render time:
// printf-style `str % x`, ints beyond 64 bits, complex powers, non-ASCII
// case mapping, printing a list or dict (its Python repr).
// Known simplification: dict.items()/keys()/values() give lists, not views
// (indexing them works here where Python would fail).
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "urm/core/error.hpp"
#include "urm/text/jinja/ast.hpp"
#include "urm/text/jinja/evaluator.hpp"
#include "urm/text/jinja/lexer.hpp"
#include "urm/text/jinja/limits.hpp"
#include "urm/text/jinja/parser.hpp"
#include "urm/text/jinja/python_str.hpp"
#include "urm/text/jinja/strftime.hpp"
#include "urm/text/jinja/unicode.hpp"
#include "urm/text/jinja/value.hpp"

namespace urm::detail::jinja {

class Template {
 public:
  // `name` starts every error message, e.g. "chat template 3:14: ...".
  static Template parse(std::string_view source, std::string name = "template", Limits limits = {}) {
    if (const std::size_t bad = find_invalid_utf8(source); bad != std::string_view::npos)
      throw Error(name + ": not valid UTF-8 (byte " + std::to_string(bad) + ")");
    Template t;
    t.name_ = std::move(name);
    t.limits_ = limits;
    t.body_ = Parser(Lexer(source, t.name_).tokenize(), t.name_, t.limits_).parse_template();
    return t;
  }

  // Renders with the given top-level variables. Strings in them must be
  // valid UTF-8 (the caller checks where they come from).
  std::string render(const Map& variables, const RenderContext& context = {}) const {
    return Evaluator(name_, limits_, variables, context).run(body_);
  }

  const std::string& name() const { return name_; }

 private:
  Template() = default;
  std::string name_;
  Limits limits_;
  std::vector<Node> body_;
};

}  // namespace urm::detail::jinja
