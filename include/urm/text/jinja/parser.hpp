// Jinja2 parser for the subset chat templates use: tokens -> statements.
//
// Expression precedence is jinja2.parser's, lowest first:
//   or < and < not < comparisons/in < + < ~ < unary < primary+postfix+filters
// so a filter binds tighter than any binary operator:
// `'a' + m['content'] | trim + 'b'` trims m['content'] only.
//
// Everything outside the subset is rejected here, at parse time, with the
// construct and its line:column, so an unusable template fails when it is
// loaded rather than on some later conversation.
#pragma once

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "urm/text/jinja/ast.hpp"
#include "urm/text/jinja/lexer.hpp"
#include "urm/text/jinja/limits.hpp"

namespace urm::detail::jinja {

class Parser {
 public:
  Parser(std::vector<Token> tokens, std::string_view name, const Limits& limits)
      : tokens_(std::move(tokens)), name_(name), limits_(limits) {}

  std::vector<Node> parse_template() {
    std::vector<Node> body = parse_body({});
    return body;
  }

 private:
  // ---- token stream -------------------------------------------------------
  const Token& peek(std::size_t ahead = 0) const {
    return tokens_[std::min(i_ + ahead, tokens_.size() - 1)];
  }
  Token next() { return i_ < tokens_.size() - 1 ? tokens_[i_++] : tokens_.back(); }
  bool at_op(std::string_view op, std::size_t ahead = 0) const {
    const Token& t = peek(ahead);
    return t.kind == TokenKind::Operator && t.text == op;
  }
  bool at_name(std::string_view n, std::size_t ahead = 0) const {
    const Token& t = peek(ahead);
    return t.kind == TokenKind::Name && t.text == n;
  }

  [[noreturn]] void fail(Pos pos, const std::string& what) const { Where{name_, pos}.fail(what); }
  [[noreturn]] void unsupported(Pos pos, const std::string& what) const {
    fail(pos, what + " is outside the Jinja subset urm.cpp implements");
  }

  static std::string describe(const Token& t) {
    switch (t.kind) {
      case TokenKind::Data: return "template text";
      case TokenKind::VarBegin: return "'{{'";
      case TokenKind::VarEnd: return "'}}'";
      case TokenKind::BlockBegin: return "'{%'";
      case TokenKind::BlockEnd: return "'%}'";
      case TokenKind::Name: return "'" + t.text + "'";
      case TokenKind::String: return "a string";
      case TokenKind::Integer:
      case TokenKind::Float: return "the number " + t.text;
      case TokenKind::Operator: return "'" + t.text + "'";
      case TokenKind::End: return "the end of the template";
    }
    return "?";
  }

  void expect_op(std::string_view op) {
    if (!at_op(op)) fail(peek().pos, "expected '" + std::string(op) + "', got " + describe(peek()));
    next();
  }
  void expect_block_end(std::string_view statement) {
    if (peek().kind != TokenKind::BlockEnd)
      fail(peek().pos, "expected '%}' to end the '" + std::string(statement) + "' statement, got " + describe(peek()));
    next();
  }
  std::string expect_name(std::string_view what) {
    if (peek().kind != TokenKind::Name) fail(peek().pos, "expected " + std::string(what) + ", got " + describe(peek()));
    return next().text;
  }

  // Recursion guard for the parser's own stack.
  struct Depth {
    Parser& p;
    Depth(Parser& parser, Pos pos) : p(parser) {
      if (++p.depth_ > p.limits_.max_depth)
        p.fail(pos, "template nested deeper than " + std::to_string(p.limits_.max_depth) + " levels");
    }
    ~Depth() { --p.depth_; }
    Depth(const Depth&) = delete;
    Depth& operator=(const Depth&) = delete;
  };

  ExprPtr make(ExprKind kind, Pos pos, std::vector<ExprPtr> args = {}) {
    auto e = std::make_unique<Expr>();
    e->kind = kind;
    e->pos = pos;
    e->args = std::move(args);
    for (const auto& a : e->args) {
      e->height = std::max(e->height, a->height + 1);
      if (a->generator) unsupported(a->pos, "using the generator that 'select', 'map', 'items' and similar filters give other than by consuming it (a for-loop, join, list, ...)");
    }
    if (e->height > limits_.max_depth)
      fail(pos, "expression nested deeper than " + std::to_string(limits_.max_depth) + " levels");
    return e;
  }
  ExprPtr make2(ExprKind kind, Pos pos, ExprPtr a, ExprPtr b) {
    std::vector<ExprPtr> args;
    args.push_back(std::move(a));
    args.push_back(std::move(b));
    return make(kind, pos, std::move(args));
  }

  // ---- statements -----------------------------------------------------------
  static constexpr std::array<std::string_view, 13> kKnownStatements = {
      "block", "extends", "print", "include", "from", "import", "with", "autoescape",
      "raw", "do", "trans", "pluralize", "endraw"};

  // Statements until one of `ends` (not consumed: the caller reads it), or
  // the end of the template when `ends` is empty.
  std::vector<Node> parse_body(const std::vector<std::string_view>& ends, Pos opened_at = {},
                               std::string_view opened = {}) {
    std::vector<Node> body;
    while (true) {
      const Token& t = peek();
      if (t.kind == TokenKind::End) {
        if (ends.empty()) return body;
        fail(opened_at, "'" + std::string(opened) + "' is never closed (missing '{% end" + std::string(opened) + " %}')");
      }
      if (t.kind == TokenKind::Data) {
        Node n{NodeKind::Text, t.pos, t.text, {}, nullptr, nullptr, {}, {}};
        body.push_back(std::move(n));
        next();
        continue;
      }
      if (t.kind == TokenKind::VarBegin) {
        const Pos pos = next().pos;
        if (peek().kind == TokenKind::VarEnd) fail(peek().pos, "expected an expression inside '{{ }}'");
        ExprPtr e = parse_expression();
        refuse_generator(*e);
        if (at_op(",")) unsupported(peek().pos, "a tuple without parentheses");
        if (peek().kind != TokenKind::VarEnd) fail(peek().pos, "expected '}}', got " + describe(peek()));
        next();
        body.push_back(Node{NodeKind::Output, pos, {}, {}, std::move(e), nullptr, {}, {}});
        continue;
      }
      if (t.kind != TokenKind::BlockBegin) fail(t.pos, "unexpected " + describe(t));
      const Token& kw = peek(1);
      if (kw.kind != TokenKind::Name) fail(kw.pos, "expected a statement name after '{%', got " + describe(kw));
      if (std::find(ends.begin(), ends.end(), kw.text) != ends.end()) return body;
      const Pos pos = t.pos;
      const Token keyword = kw;
      next();
      next();
      const Depth depth(*this, pos);
      if (keyword.text == "set") {
        body.push_back(parse_set(pos));
      } else if (keyword.text == "for") {
        body.push_back(parse_for(pos));
      } else if (keyword.text == "if") {
        body.push_back(parse_if(pos));
      } else if (keyword.text == "macro") {
        body.push_back(parse_macro(pos));
      } else if (keyword.text == "call") {
        body.push_back(parse_call_block(pos));
      } else if (keyword.text == "generation") {
        // transformers' AssistantTracker: the body renders as it is (the
        // extension only records where it lands, for assistant masks).
        expect_block_end("generation");
        Node n{NodeKind::Generation, pos, {}, {}, nullptr, nullptr, parse_body({"endgeneration"}, pos, "generation"), {}};
        next();
        next();
        expect_block_end("endgeneration");
        body.push_back(std::move(n));
      } else if (keyword.text == "filter") {
        body.push_back(parse_filter_block(pos));
      } else if (keyword.text == "break" || keyword.text == "continue") {
        if (loop_depth_ == 0) fail(keyword.pos, "'" + keyword.text + "' outside a for-loop");
        expect_block_end(keyword.text);
        body.push_back(Node{keyword.text == "break" ? NodeKind::Break : NodeKind::Continue, pos, {}, {}, nullptr,
                            nullptr, {}, {}});
      } else if (std::find(kKnownStatements.begin(), kKnownStatements.end(), keyword.text) != kKnownStatements.end()) {
        unsupported(keyword.pos, "the '" + keyword.text + "' statement");
      } else if (!ends.empty()) {
        fail(keyword.pos, "unexpected '" + keyword.text + "' inside the '" + std::string(opened) + "' opened at " +
                              to_string(opened_at));
      } else {
        fail(keyword.pos, "unknown statement '" + keyword.text + "'");
      }
    }
  }

  // `{% set name = expr %}`, `{% set a, b = expr %}`, `{% set ns.attr = expr %}`
  // and the block form `{% set name %}...{% endset %}`.
  Node parse_set(Pos pos) {
    const std::string name = parse_target("set");
    if (at_op(".")) {
      next();
      const std::string attr = expect_name("an attribute name after 'set " + name + ".'");
      expect_op("=");
      ExprPtr value = parse_expression();
      refuse_generator(*value);
      if (at_op(",")) unsupported(peek().pos, "a tuple without parentheses");
      expect_block_end("set");
      Node n{NodeKind::SetAttr, pos, name, {}, std::move(value), nullptr, {}, {}};
      n.attr = attr;
      return n;
    }
    std::vector<std::string> names{name};
    while (at_op(",")) {
      next();
      names.push_back(parse_target("set"));
    }
    if (peek().kind == TokenKind::BlockEnd && names.size() == 1) {
      next();
      Node n{NodeKind::SetBlock, pos, name, {}, nullptr, nullptr, parse_body({"endset"}, pos, "set"), {}};
      next();
      next();
      expect_block_end("endset");
      return n;
    }
    if (at_op("|") && names.size() == 1) unsupported(peek().pos, "a filtered block 'set' ('{% set x | f %}')");
    expect_op("=");
    ExprPtr value = parse_expression();
    refuse_generator(*value);
    if (at_op(",")) unsupported(peek().pos, "a tuple without parentheses");
    expect_block_end("set");
    Node n{NodeKind::Set, pos, {}, {}, std::move(value), nullptr, {}, {}};
    if (names.size() == 1) n.text = name;
    else n.unpack = std::move(names);
    return n;
  }

  // `{% filter f(args) | g %} body {% endfilter %}`: the body renders into a
  // string of its own scope, which goes through the filters (jinja2's
  // FilterBlock). The filters apply to kFilterBlockBody, a name no template
  // can write, that the evaluator binds to the rendered body.
  Node parse_filter_block(Pos pos) {
    ExprPtr e = make(ExprKind::Name, pos);
    e->name = std::string(kFilterBlockBody);
    while (true) {
      const Token t = peek();
      const std::string name = expect_name("a filter name after 'filter'");
      e = parse_filter(std::move(e), name, t.pos);
      if (!at_op("|")) break;
      next();
    }
    refuse_generator(*e);
    expect_block_end("filter");
    Node n{NodeKind::FilterBlock, pos, {}, {}, std::move(e), nullptr, parse_body({"endfilter"}, pos, "filter"), {}};
    next();
    next();
    expect_block_end("endfilter");
    return n;
  }

  // The single name a `set`, `for` or macro parameter assigns to.
  std::string parse_target(const std::string& statement) {
    const Token t = peek();
    if (t.kind != TokenKind::Name) fail(t.pos, "expected a name after '" + statement + "', got " + describe(t));
    static constexpr std::array<std::string_view, 6> constants = {"true", "false", "none", "True", "False", "None"};
    if (std::find(constants.begin(), constants.end(), t.text) != constants.end())
      fail(t.pos, "cannot assign to '" + t.text + "'");
    next();
    return t.text;
  }

  // `{% for name in expr %} body {% endfor %}`, `{% for a, b in expr %}`
  // (each item unpacked into the names), `{% for x in expr if c %}`
  // (items for which c is false are skipped before the loop counts them)
  // and `{% else %}` (rendered when no item is left).
  Node parse_for(Pos pos) {
    std::vector<std::string> names{parse_target("for")};
    while (at_op(",")) {
      next();
      if (at_name("in")) break;
      names.push_back(parse_target("for"));
    }
    const std::string shown = names.size() == 1 ? names[0] : names[0] + ", ...";
    if (!at_name("in")) fail(peek().pos, "expected 'in' after 'for " + shown + "', got " + describe(peek()));
    next();
    ExprPtr iterable = parse_or();
    iterable->generator = false;
    ExprPtr condition;
    if (at_name("if")) {
      next();
      condition = parse_or();
      refuse_generator(*condition);
    }
    if (at_name("recursive")) unsupported(peek().pos, "a recursive for-loop");
    if (at_op(",")) unsupported(peek().pos, "a tuple without parentheses");
    expect_block_end("for");
    ++loop_depth_;
    std::vector<Node> body = parse_body({"endfor", "else"}, pos, "for");
    --loop_depth_;
    std::vector<Node> else_body;
    if (at_name("else", 1)) {
      next();
      next();
      expect_block_end("else");
      else_body = parse_body({"endfor"}, pos, "for");
    }
    next();  // {%
    next();  // endfor
    expect_block_end("endfor");
    Node n{NodeKind::For, pos, {}, {}, std::move(iterable), std::move(condition), std::move(body), {}};
    n.else_body = std::move(else_body);
    if (names.size() == 1) n.text = names[0];
    else n.unpack = std::move(names);
    return n;
  }

  // `{% if c %} ... {% elif c %} ... {% else %} ... {% endif %}`
  Node parse_if(Pos pos) {
    Node n{NodeKind::If, pos, {}, {}, nullptr, nullptr, {}, {}};
    ExprPtr cond = parse_condition("if");
    while (true) {
      std::vector<Node> body = parse_body({"elif", "else", "endif"}, pos, "if");
      n.branches.emplace_back(std::move(cond), std::move(body));
      next();  // {%
      const std::string tag = next().text;
      if (tag == "elif") {
        cond = parse_condition("elif");
        continue;
      }
      if (tag == "else") {
        expect_block_end("else");
        std::vector<Node> else_body = parse_body({"endif", "elif", "else"}, pos, "if");
        if (!at_name("endif", 1)) fail(peek(1).pos, "unexpected '" + peek(1).text + "' after '{% else %}'");
        n.branches.emplace_back(nullptr, std::move(else_body));
        next();
        next();
      }
      expect_block_end("endif");
      return n;
    }
  }

  ExprPtr parse_condition(std::string_view statement) {
    ExprPtr cond = parse_or();
    refuse_generator(*cond);
    if (at_name("if")) unsupported(peek().pos, "a conditional expression ('x if c else y')");
    if (at_op(",")) unsupported(peek().pos, "a tuple without parentheses");
    expect_block_end(statement);
    return cond;
  }

  // `(a, b=default, ...)` of a macro or call block: names and defaults.
  void parse_parameters(Node& n, const std::string& statement) {
    expect_op("(");
    while (!at_op(")")) {
      if (!n.unpack.empty()) {
        expect_op(",");
        if (at_op(")")) break;
      }
      const Token t = peek();
      std::string param = parse_target(statement);
      if (std::find(n.unpack.begin(), n.unpack.end(), param) != n.unpack.end())
        fail(t.pos, "duplicate parameter '" + param + "'");
      ExprPtr fallback;
      if (at_op("=")) {
        next();
        fallback = parse_expression();
        refuse_generator(*fallback);
      } else if (!n.defaults.empty() && n.defaults.back()) {
        fail(t.pos, "parameter without a default follows one with a default");
      }
      n.unpack.push_back(std::move(param));
      n.defaults.push_back(std::move(fallback));
    }
    next();
  }

  // Whether any expression in the body reads the name (macros look for
  // `caller`, `varargs` and `kwargs`; nested macros have their own).
  static bool reads(const Expr* e, std::string_view name) {
    if (e == nullptr) return false;
    if (e->kind == ExprKind::Name && e->name == name) return true;
    return std::any_of(e->args.begin(), e->args.end(), [&](const ExprPtr& a) { return reads(a.get(), name); });
  }
  static bool reads(const std::vector<Node>& body, std::string_view name) {
    for (const Node& n : body) {
      if (n.kind == NodeKind::Macro) continue;
      if (reads(n.expr.get(), name) || reads(n.condition.get(), name) || reads(n.body, name) || reads(n.else_body, name))
        return true;
      for (const auto& d : n.defaults)
        if (reads(d.get(), name)) return true;
      for (const auto& [c, b] : n.branches)
        if (reads(c.get(), name) || reads(b, name)) return true;
    }
    return false;
  }

  // `{% macro name(params) %} body {% endmacro %}`
  Node parse_macro(Pos pos) {
    Node n{NodeKind::Macro, pos, {}, {}, nullptr, nullptr, {}, {}};
    n.text = parse_target("macro");
    parse_parameters(n, "macro");
    expect_block_end("macro");
    const std::uint32_t loops = loop_depth_;
    loop_depth_ = 0;  // {% break %} does not leave a macro
    n.body = parse_body({"endmacro"}, pos, "macro");
    loop_depth_ = loops;
    next();
    next();
    if (peek().kind == TokenKind::Name && peek().text == n.text) next();  // {% endmacro name %}
    expect_block_end("endmacro");
    n.uses_caller = reads(n.body, "caller");
    n.uses_varargs = reads(n.body, "varargs");
    n.uses_kwargs = reads(n.body, "kwargs");
    return n;
  }

  // `{% call m(args) %} body {% endcall %}`, `{% call(params) m(args) %}`:
  // m is called with `caller` = a macro that renders the body.
  Node parse_call_block(Pos pos) {
    Node n{NodeKind::CallBlock, pos, {}, {}, nullptr, nullptr, {}, {}};
    if (at_op("(")) parse_parameters(n, "call");
    ExprPtr call = parse_expression();
    if (call->kind != ExprKind::Call) fail(call->pos, "expected a macro call after 'call'");
    n.expr = std::move(call);
    expect_block_end("call");
    const std::uint32_t loops = loop_depth_;
    loop_depth_ = 0;
    n.body = parse_body({"endcall"}, pos, "call");
    loop_depth_ = loops;
    next();
    next();
    expect_block_end("endcall");
    return n;
  }

  // ---- expressions --------------------------------------------------------
  void refuse_generator(const Expr& e) const {
    if (e.generator) unsupported(e.pos, "using the generator that 'select', 'map', 'items' and similar filters give other than by consuming it (a for-loop, join, list, ...)");
  }

  // `a if c else b`; without `else` a false c gives undefined.
  ExprPtr parse_expression() {
    ExprPtr e = parse_or();
    while (at_name("if")) {
      const Pos pos = next().pos;
      const Depth depth(*this, pos);
      std::vector<ExprPtr> args;
      args.push_back(parse_or());
      args.push_back(std::move(e));
      if (at_name("else")) {
        next();
        args.push_back(parse_expression());
      }
      e = make(ExprKind::CondExpr, pos, std::move(args));
    }
    return e;
  }

  // A left-associative chain `operand (op operand)*`.
  template <class AtOperator>
  ExprPtr parse_chain(AtOperator at_operator, ExprKind kind, ExprPtr (Parser::*operand)()) {
    ExprPtr left = (this->*operand)();
    while (at_operator()) {
      const Pos pos = next().pos;
      left = make2(kind, pos, std::move(left), (this->*operand)());
    }
    return left;
  }

  ExprPtr parse_or() {
    const Depth depth(*this, peek().pos);
    return parse_chain([&] { return at_name("or"); }, ExprKind::Or, &Parser::parse_and);
  }

  ExprPtr parse_and() { return parse_chain([&] { return at_name("and"); }, ExprKind::And, &Parser::parse_not); }

  ExprPtr parse_not() {
    if (at_name("not")) {
      const Pos pos = next().pos;
      const Depth depth(*this, pos);
      std::vector<ExprPtr> args;
      args.push_back(parse_not());
      return make(ExprKind::Not, pos, std::move(args));
    }
    return parse_compare();
  }

  ExprPtr parse_compare() {
    const Pos pos = peek().pos;
    std::vector<ExprPtr> args;
    std::vector<CompareOp> ops;
    args.push_back(parse_add());
    static constexpr std::pair<std::string_view, CompareOp> symbols[] = {
        {"==", CompareOp::Eq}, {"!=", CompareOp::Ne}, {"<", CompareOp::Lt},
        {"<=", CompareOp::Le}, {">", CompareOp::Gt},  {">=", CompareOp::Ge}};
    while (true) {
      std::optional<CompareOp> op;
      for (const auto& [symbol, o] : symbols)
        if (at_op(symbol)) op = o;
      if (at_name("in")) op = CompareOp::In;
      if (at_name("not") && at_name("in", 1)) {
        op = CompareOp::NotIn;
        next();
      }
      if (!op) break;
      next();
      ops.push_back(*op);
      args.push_back(parse_add());
    }
    if (ops.empty()) return std::move(args[0]);
    ExprPtr e = make(ExprKind::Compare, pos, std::move(args));
    e->ops = std::move(ops);
    return e;
  }

  // A left-associative chain of the arithmetic operators `ops`.
  ExprPtr parse_arith(std::initializer_list<std::string_view> ops, ExprPtr (Parser::*operand)()) {
    ExprPtr left = (this->*operand)();
    while (true) {
      const auto op = std::find_if(ops.begin(), ops.end(), [&](std::string_view o) { return at_op(o); });
      if (op == ops.end()) return left;
      const Pos pos = next().pos;
      if (*op == "+") {
        left = make2(ExprKind::Add, pos, std::move(left), (this->*operand)());
      } else {
        left = make2(ExprKind::Arith, pos, std::move(left), (this->*operand)());
        left->name = std::string(*op);
      }
    }
  }

  ExprPtr parse_add() { return parse_arith({"+", "-"}, &Parser::parse_concat); }

  ExprPtr parse_concat() { return parse_chain([&] { return at_op("~"); }, ExprKind::Concat, &Parser::parse_math); }

  ExprPtr parse_math() { return parse_arith({"*", "/", "//", "%"}, &Parser::parse_pow); }

  ExprPtr parse_pow() { return parse_arith({"**"}, &Parser::parse_unary_filtered); }

  ExprPtr parse_unary_filtered() { return parse_unary(true); }

  // jinja2's parse_unary: `-x|f` is `(-x)|f`, but `- x|f` inside is not filtered twice.
  ExprPtr parse_unary(bool with_filters) {
    ExprPtr e;
    if (at_op("-") || at_op("+")) {
      const Token t = next();
      const Depth depth(*this, t.pos);
      std::vector<ExprPtr> args;
      args.push_back(parse_unary(false));
      e = make(ExprKind::Arith, t.pos, std::move(args));
      e->name = t.text == "-" ? "neg" : "pos";
    } else {
      e = parse_primary();
    }
    e = parse_postfix(std::move(e));
    return with_filters ? parse_filters(std::move(e)) : std::move(e);
  }

  ExprPtr parse_primary() {
    const Token t = next();
    switch (t.kind) {
      case TokenKind::Name: {
        if (t.text == "true" || t.text == "True") return literal(t.pos, Value(true));
        if (t.text == "false" || t.text == "False") return literal(t.pos, Value(false));
        if (t.text == "none" || t.text == "None") return literal(t.pos, Value(None{}));
        auto e = make(ExprKind::Name, t.pos);
        e->name = t.text;
        return e;
      }
      case TokenKind::String: {
        std::string s = t.text;
        while (peek().kind == TokenKind::String) s += next().text;  // 'a' 'b' is 'ab', as in Python
        return literal(t.pos, Value(std::move(s)));
      }
      case TokenKind::Integer: {
        std::int64_t v = 0;
        const auto r = std::from_chars(t.text.data(), t.text.data() + t.text.size(), v);
        if (r.ec != std::errc{}) fail(t.pos, "integer literal " + t.text + " does not fit in 64 bits");
        return literal(t.pos, Value(v));
      }
      case TokenKind::Float: return literal(t.pos, Value(std::strtod(t.text.c_str(), nullptr)));
      case TokenKind::Operator: {
        if (t.text == "(") {
          const Depth depth(*this, t.pos);
          if (at_op(")")) {
            next();
            return make(ExprKind::TupleLit, t.pos);
          }
          ExprPtr e = parse_expression();
          if (!at_op(",")) {
            expect_op(")");
            return e;
          }
          std::vector<ExprPtr> items;
          items.push_back(std::move(e));
          while (at_op(",")) {
            next();
            if (at_op(")")) break;
            items.push_back(parse_expression());
          }
          expect_op(")");
          return make(ExprKind::TupleLit, t.pos, std::move(items));
        }
        if (t.text == "[") {
          const Depth depth(*this, t.pos);
          std::vector<ExprPtr> items;
          while (!at_op("]")) {
            if (!items.empty()) {
              expect_op(",");
              if (at_op("]")) break;
            }
            items.push_back(parse_expression());
          }
          next();
          return make(ExprKind::ListLit, t.pos, std::move(items));
        }
        if (t.text == "{") {
          const Depth depth(*this, t.pos);
          std::vector<ExprPtr> items;
          while (!at_op("}")) {
            if (!items.empty()) {
              expect_op(",");
              if (at_op("}")) break;
            }
            items.push_back(parse_expression());
            expect_op(":");
            items.push_back(parse_expression());
          }
          next();
          return make(ExprKind::DictLit, t.pos, std::move(items));
        }
        break;
      }
      default: break;
    }
    fail(t.pos, "expected an expression, got " + describe(t));
  }

  ExprPtr literal(Pos pos, Value v) {
    auto e = make(ExprKind::Literal, pos);
    e->literal = std::move(v);
    return e;
  }

  ExprPtr parse_postfix(ExprPtr e) {
    while (true) {
      if (at_op(".")) {
        const Pos pos = next().pos;
        const Token t = next();
        if (t.kind == TokenKind::Name) {
          std::vector<ExprPtr> args;
          args.push_back(std::move(e));
          e = make(ExprKind::Attr, pos, std::move(args));
          e->name = t.text;
        } else if (t.kind == TokenKind::Integer) {  // x.0 is x[0]
          e = make2(ExprKind::Item, pos, std::move(e), literal(t.pos, Value(static_cast<std::int64_t>(std::stoll(t.text)))));
        } else {
          fail(t.pos, "expected an attribute name after '.', got " + describe(t));
        }
      } else if (at_op("[")) {
        const Pos pos = next().pos;
        const Depth depth(*this, pos);
        if (at_op("]")) unsupported(peek().pos, "a tuple subscript");
        e = parse_subscript(std::move(e), pos);
        if (at_op(",")) unsupported(peek().pos, "a tuple subscript");
        expect_op("]");
      } else if (at_op("(")) {
        e = parse_call(std::move(e));
      } else {
        return e;
      }
    }
  }

  // `x[i]` or a slice `x[a:b]`, `x[a:b:c]` with any part omitted (jinja2's
  // parse_subscribed), after the '['.
  ExprPtr parse_subscript(ExprPtr obj, Pos pos) {
    std::vector<ExprPtr> parts;
    parts.push_back(std::move(obj));
    if (!at_op(":")) {
      ExprPtr index = parse_expression();
      if (!at_op(":")) return make2(ExprKind::Item, pos, std::move(parts[0]), std::move(index));
      parts.push_back(std::move(index));
    } else {
      parts.push_back(literal(peek().pos, Value(None{})));
    }
    next();  // the first ':'
    auto part = [&] {
      if (at_op(":") || at_op("]") || at_op(",")) return literal(peek().pos, Value(None{}));
      return parse_expression();
    };
    parts.push_back(part());
    if (at_op(":")) {
      next();
      parts.push_back(part());
    } else {
      parts.push_back(literal(peek().pos, Value(None{})));
    }
    return make(ExprKind::Slice, pos, std::move(parts));
  }

  // The methods of Python's str, dict and list (and loop.cycle) that
  // templates call: the most positional arguments each takes, and whether
  // it takes keywords. Types are checked at render time.
  struct MethodSignature {
    std::string_view name;
    std::size_t max_args;
    bool keywords;
  };
  static constexpr std::size_t kAny = 1000;
  static constexpr std::array<MethodSignature, 24> kMethods = {{
      {"strip", 1, false}, {"lstrip", 1, false}, {"rstrip", 1, false}, {"startswith", 1, false}, {"endswith", 1, false}, {"upper", 0, false},
      {"lower", 0, false}, {"title", 0, false}, {"capitalize", 0, false}, {"split", 2, true}, {"rsplit", 2, true}, {"replace", 3, false},
      {"format", kAny, true}, {"join", 1, false}, {"find", 1, false}, {"count", 1, false}, {"get", 2, false}, {"items", 0, false}, {"keys", 0, false},
      {"values", 0, false}, {"pop", 1, false}, {"append", 1, false}, {"cycle", kAny, false}, {"index", 1, false}}};

  // `f(args)` for a name f: a global function (raise_exception, namespace,
  // range, strftime_now, dict) or a macro; `x.method(args)` for the methods above.
  ExprPtr parse_call(ExprPtr callee) {
    const Pos pos = peek().pos;
    if (callee->kind == ExprKind::Attr) return parse_method_call(std::move(callee), pos);
    if (callee->kind != ExprKind::Name) unsupported(pos, "calling the result of an expression");
    std::vector<ExprPtr> args;
    args.push_back(std::move(callee));
    std::vector<std::string> keywords = parse_arguments(args, "a call", true);
    const std::string& name = args[0]->name;
    if (name == "raise_exception" && (args.size() != 2 || !keywords[0].empty()))
      fail(args[0]->pos, "raise_exception takes exactly one argument, the message");
    const Pos at = args[0]->pos;
    auto e = make(ExprKind::Call, at, std::move(args));
    e->arg_names = std::move(keywords);
    return e;
  }

  // `(a, b, k=v, ...)` after a callee (args[0]), the '(' next: appends the
  // arguments to args and returns their keywords ("" for positional ones).
  // pass_generators: a generator argument is passed on as a generator (to a
  // macro; the evaluator refuses it for a global function).
  std::vector<std::string> parse_arguments(std::vector<ExprPtr>& args, std::string_view what,
                                           bool pass_generators = false) {
    const Pos open = next().pos;
    const Depth depth(*this, open);
    std::vector<std::string> keywords;
    while (!at_op(")")) {
      if (!keywords.empty()) {
        expect_op(",");
        if (at_op(")")) break;
      }
      if (at_op("*") || at_op("**")) unsupported(peek().pos, "'*args' and '**kwargs' in " + std::string(what));
      if (peek().kind == TokenKind::Name && at_op("=", 1)) {
        const Token k = next();
        next();
        if (std::find(keywords.begin(), keywords.end(), k.text) != keywords.end())
          fail(k.pos, "keyword argument '" + k.text + "' given twice");
        keywords.push_back(k.text);
      } else {
        if (!keywords.empty() && !keywords.back().empty())
          fail(peek().pos, "a positional argument follows a keyword argument");
        keywords.emplace_back();
      }
      args.push_back(parse_expression());
      if (pass_generators && args.back()->generator) {
        args.back()->generator = false;
        args.back()->pass_generator = true;
      }
      refuse_generator(*args.back());
    }
    next();
    return keywords;
  }

  ExprPtr parse_method_call(ExprPtr callee, Pos pos) {
    const std::string method = callee->name;
    const auto sig = std::find_if(kMethods.begin(), kMethods.end(), [&](const auto& m) { return m.name == method; });
    if (sig == kMethods.end()) unsupported(callee->pos, "calling the method '" + method + "(...)'");
    (void)pos;
    std::vector<ExprPtr> args;
    args.push_back(std::move(callee->args[0]));
    std::vector<std::string> keywords = parse_arguments(args, "a call");
    std::size_t positional = 0;
    for (std::size_t k = 0; k < keywords.size(); ++k) {
      if (keywords[k].empty()) {
        ++positional;
      } else if (!sig->keywords) {
        unsupported(keyword_pos(args[k + 1]->pos, keywords[k]), "a keyword argument to the method '" + method + "'");
      }
    }
    if (positional > sig->max_args)
      fail(callee->pos, "the method '" + method + "' takes at most " + std::to_string(sig->max_args) + " argument" +
                            (sig->max_args == 1 ? "" : "s") + ", got " + std::to_string(positional));
    auto e = make(ExprKind::Method, callee->pos, std::move(args));
    e->name = method;
    e->arg_names = std::move(keywords);
    return e;
  }

  // `x | f | g(args)` and tests `x is name`.
  ExprPtr parse_filters(ExprPtr e) {
    while (true) {
      if (at_op("|")) {
        next();
        const Token t = peek();
        const std::string name = expect_name("a filter name after '|'");
        e = parse_filter(std::move(e), name, t.pos);
      } else if (at_name("is")) {
        e = parse_test(std::move(e));
      } else if (at_op("(")) {
        unsupported(peek().pos, "calling the result of a filter");
      } else {
        return e;
      }
    }
  }

  // `x is [not] name`, `x is name arg`, `x is name(arg)` (jinja2's parse_test).
  ExprPtr parse_test(ExprPtr value) {
    const Pos pos = next().pos;
    const bool negated = at_name("not");
    if (negated) next();
    const Token t = peek();
    const std::string name = expect_name("a test name after 'is'");
    const TestSignature* sig = find_test(name);
    if (sig == nullptr) unsupported(pos, "the test 'is " + std::string(negated ? "not " : "") + name + "'");
    refuse_generator(*value);
    std::vector<ExprPtr> args;
    args.push_back(std::move(value));
    if (at_op("(")) {
      next();
      const Depth depth(*this, pos);
      while (!at_op(")")) {
        if (args.size() > 1) {
          expect_op(",");
          if (at_op(")")) break;
        }
        if (peek().kind == TokenKind::Name && at_op("=", 1)) unsupported(peek().pos, "a keyword argument to a test");
        args.push_back(parse_expression());
      }
      next();
    } else {
      const Token& c = peek();
      const bool starts_operand = c.kind == TokenKind::String || c.kind == TokenKind::Integer ||
                                  c.kind == TokenKind::Float || at_op("(") || at_op("[") || at_op("{") ||
                                  (c.kind == TokenKind::Name && !at_name("else") && !at_name("or") && !at_name("and"));
      if (starts_operand) {
        if (at_name("is")) fail(c.pos, "You cannot chain multiple tests with is");
        args.push_back(parse_postfix(parse_primary()));
      }
    }
    if (args.size() - 1 != sig->args)
      fail(t.pos, "the test '" + name + "' takes " + std::to_string(sig->args) + " argument" + (sig->args == 1 ? "" : "s") +
                      ", got " + std::to_string(args.size() - 1));
    ExprPtr e = make(ExprKind::Test, pos, std::move(args));
    e->name = name;
    if (!negated) return e;
    std::vector<ExprPtr> inner;
    inner.push_back(std::move(e));
    return make(ExprKind::Not, pos, std::move(inner));
  }

  ExprPtr parse_filter(ExprPtr value, const std::string& name, Pos pos) {
    const FilterSignature* sig = find_filter(name);
    if (sig == nullptr)
      unsupported(pos, "the filter '" + name + "'");
    if (value->generator && !sig->consumes) refuse_generator(*value);
    value->generator = false;
    std::vector<ExprPtr> args;
    args.push_back(std::move(value));
    std::vector<std::string> keywords;
    if (at_op("(")) keywords = parse_arguments(args, "a filter call");
    const bool variadic = sig->params.size() == 1 && sig->params[0] == "*";
    if (variadic) {
      auto e = make(ExprKind::Filter, pos, std::move(args));
      e->name = name;
      e->arg_names = std::move(keywords);
      e->generator = true;
      return e;
    }
    std::size_t positional = 0;
    for (std::size_t k = 0; k < keywords.size(); ++k) {
      if (keywords[k].empty()) {
        ++positional;
        continue;
      }
      if (std::find(sig->params.begin(), sig->params.end(), keywords[k]) == sig->params.end())
        fail(keyword_pos(args[k + 1]->pos, keywords[k]), "the filter '" + name + "' has no parameter '" + keywords[k] + "'");
    }
    if (positional > sig->params.size())
      fail(pos, "the filter '" + name + "' takes at most " + std::to_string(sig->params.size()) + " argument" +
                    (sig->params.size() == 1 ? "" : "s") + ", got " + std::to_string(positional));
    // Name every argument: positional ones take the parameters in order.
    std::vector<std::string> names;
    for (std::size_t i = 0; i < positional; ++i) names.emplace_back(sig->params[i]);
    for (std::size_t k = positional; k < keywords.size(); ++k) {
      if (std::find(names.begin(), names.end(), keywords[k]) != names.end())
        fail(pos, "parameter '" + keywords[k] + "' of the filter '" + name + "' given twice");
      names.push_back(keywords[k]);
    }
    auto e = make(ExprKind::Filter, pos, std::move(args));
    e->name = name;
    e->arg_names = std::move(names);
    e->generator = sig->generator;
    return e;
  }

  // Where `keyword=` starts, given its value's position on the same line.
  static Pos keyword_pos(Pos value, const std::string& keyword) {
    Pos p = value;
    const auto back = static_cast<std::uint32_t>(keyword.size() + 1);
    p.column = p.column > back ? p.column - back : 1;
    return p;
  }

  std::vector<Token> tokens_;

  std::size_t i_ = 0;
  std::string_view name_;
  const Limits& limits_;
  std::uint32_t depth_ = 0;
  std::uint32_t loop_depth_ = 0;  // for-loops around the statement being parsed (for break/continue)
};

}  // namespace urm::detail::jinja
