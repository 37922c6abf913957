// A parsed Jinja template of the subset chat templates use, rendered the way
// transformers renders chat templates (jinja2's ImmutableSandboxedEnvironment
// with trim_blocks and lstrip_blocks; tojson = json.dumps, ensure_ascii=False).
//
// The subset (grammar in parser.hpp, semantics in evaluator.hpp):
//   {{ expr }}  {# comment #}  whitespace control {%- -%} {{- -}} {%+ +%}
//   {% set x = expr %}   {% if %}{% elif %}{% else %}{% endif %}
//   {% for x in expr %}...{% endfor %} with loop.index0/index/first/last/length
//   literals: strings, integers, floats, true/false/none, [lists]
//   x.name  x['key']  x[0]   +  ~  == != < <= > >=  in  not in  and or not
//   filters: trim length upper lower default tojson; raise_exception(msg)
// Everything else (tests `is ...`, `-`, `*`, `%`, slices, dict literals,
// tuples, `x if c else y`, macros, other filters and calls, loop.revindex,
// ...) is an urm::Error "<name> <line>:<col>: <construct> is outside the
// Jinja subset urm.cpp implements", at parse time where the syntax shows it.
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
  std::string render(const Map& variables) const { return Evaluator(name_, limits_, variables).run(body_); }

  const std::string& name() const { return name_; }

 private:
  Template() = default;
  std::string name_;
  Limits limits_;
  std::vector<Node> body_;
};

}  // namespace urm::detail::jinja
