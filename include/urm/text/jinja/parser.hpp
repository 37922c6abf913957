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
    for (const auto& a : e->args) e->height = std::max(e->height, a->height + 1);
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
  static constexpr std::array<std::string_view, 20> kKnownStatements = {
      "block", "extends", "print", "macro", "include", "from", "import", "with", "autoescape", "filter",
      "call", "raw", "break", "continue", "generation", "do", "endset", "trans", "pluralize", "endraw"};

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
        Node n{NodeKind::Text, t.pos, t.text, nullptr, {}, {}};
        body.push_back(std::move(n));
        next();
        continue;
      }
      if (t.kind == TokenKind::VarBegin) {
        const Pos pos = next().pos;
        if (peek().kind == TokenKind::VarEnd) fail(peek().pos, "expected an expression inside '{{ }}'");
        ExprPtr e = parse_expression();
        if (at_op(",")) unsupported(peek().pos, "a tuple");
        if (peek().kind != TokenKind::VarEnd) fail(peek().pos, "expected '}}', got " + describe(peek()));
        next();
        body.push_back(Node{NodeKind::Output, pos, {}, std::move(e), {}, {}});
        continue;
      }
      if (t.kind != TokenKind::BlockBegin) fail(t.pos, "unexpected " + describe(t));
      const Token& kw = peek(1);
      if (kw.kind != TokenKind::Name) fail(kw.pos, "expected a statement name after '{%', got " + describe(kw));
      if (std::find(ends.begin(), ends.end(), kw.text) != ends.end()) return body;
      const Pos pos = t.pos;
      next();
      next();
      const Depth depth(*this, pos);
      if (kw.text == "set") {
        body.push_back(parse_set(pos));
      } else if (kw.text == "for") {
        body.push_back(parse_for(pos));
      } else if (kw.text == "if") {
        body.push_back(parse_if(pos));
      } else if (std::find(kKnownStatements.begin(), kKnownStatements.end(), kw.text) != kKnownStatements.end()) {
        unsupported(kw.pos, "the '" + kw.text + "' statement");
      } else if (!ends.empty()) {
        fail(kw.pos, "unexpected '" + kw.text + "' inside the '" + std::string(opened) + "' opened at " +
                         to_string(opened_at));
      } else {
        fail(kw.pos, "unknown statement '" + kw.text + "'");
      }
    }
  }

  // `{% set name = expr %}`
  Node parse_set(Pos pos) {
    const std::string name = parse_target("set");
    if (at_op(".")) unsupported(peek().pos, "assigning to an attribute ('set " + name + ".x = ...')");
    if (peek().kind == TokenKind::BlockEnd) unsupported(pos, "the block form '{% set " + name + " %}...{% endset %}'");
    expect_op("=");
    ExprPtr value = parse_expression();
    if (at_op(",")) unsupported(peek().pos, "a tuple");
    expect_block_end("set");
    return Node{NodeKind::Set, pos, name, std::move(value), {}, {}};
  }

  // The single name a `set` or `for` assigns to.
  std::string parse_target(const std::string& statement) {
    const Token t = peek();
    if (t.kind != TokenKind::Name) fail(t.pos, "expected a name after '" + statement + "', got " + describe(t));
    static constexpr std::array<std::string_view, 6> constants = {"true", "false", "none", "True", "False", "None"};
    if (std::find(constants.begin(), constants.end(), t.text) != constants.end())
      fail(t.pos, "cannot assign to '" + t.text + "'");
    next();
    if (at_op(",")) unsupported(peek().pos, "tuple unpacking in '" + statement + "'");
    return t.text;
  }

  // `{% for name in expr %} body {% endfor %}`
  Node parse_for(Pos pos) {
    const std::string name = parse_target("for");
    if (!at_name("in")) fail(peek().pos, "expected 'in' after 'for " + name + "', got " + describe(peek()));
    next();
    ExprPtr iterable = parse_or();
    if (at_name("if")) unsupported(peek().pos, "a loop filter ('for ... in ... if ...')");
    if (at_name("recursive")) unsupported(peek().pos, "a recursive for-loop");
    if (at_op(",")) unsupported(peek().pos, "a tuple");
    expect_block_end("for");
    std::vector<Node> body = parse_body({"endfor", "else"}, pos, "for");
    if (at_name("else", 1)) unsupported(peek().pos, "'{% else %}' in a for-loop");
    next();  // {%
    next();  // endfor
    expect_block_end("endfor");
    Node n{NodeKind::For, pos, name, std::move(iterable), std::move(body), {}};
    return n;
  }

  // `{% if c %} ... {% elif c %} ... {% else %} ... {% endif %}`
  Node parse_if(Pos pos) {
    Node n{NodeKind::If, pos, {}, nullptr, {}, {}};
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
    if (at_name("if")) unsupported(peek().pos, "a conditional expression ('x if c else y')");
    if (at_op(",")) unsupported(peek().pos, "a tuple");
    expect_block_end(statement);
    return cond;
  }

  // ---- expressions --------------------------------------------------------
  ExprPtr parse_expression() {
    ExprPtr e = parse_or();
    if (at_name("if")) unsupported(peek().pos, "a conditional expression ('x if c else y')");
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

  ExprPtr parse_add() {
    ExprPtr e = parse_chain([&] { return at_op("+"); }, ExprKind::Add, &Parser::parse_concat);
    if (at_op("-")) unsupported(peek().pos, "the '-' operator");
    return e;
  }

  ExprPtr parse_concat() { return parse_chain([&] { return at_op("~"); }, ExprKind::Concat, &Parser::parse_math); }

  ExprPtr parse_math() {
    ExprPtr left = parse_unary();
    for (const std::string_view op : {"*", "/", "//", "%", "**"})
      if (at_op(op)) unsupported(peek().pos, "the '" + std::string(op) + "' operator");
    return left;
  }

  ExprPtr parse_unary() {
    if (at_op("-") || at_op("+")) unsupported(peek().pos, "the unary '" + peek().text + "' operator");
    ExprPtr e = parse_primary();
    e = parse_postfix(std::move(e));
    return parse_filters(std::move(e));
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
          if (at_op(")")) unsupported(t.pos, "a tuple");
          ExprPtr e = parse_expression();
          if (at_op(",")) unsupported(peek().pos, "a tuple");
          expect_op(")");
          return e;
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
        if (t.text == "{") unsupported(t.pos, "a dict literal '{...}'");
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
        if (at_op(":")) unsupported(peek().pos, "slicing 'x[a:b]'");
        ExprPtr index = parse_expression();
        if (at_op(":")) unsupported(peek().pos, "slicing 'x[a:b]'");
        if (at_op(",")) unsupported(peek().pos, "a tuple subscript");
        expect_op("]");
        e = make2(ExprKind::Item, pos, std::move(e), std::move(index));
      } else if (at_op("(")) {
        e = parse_call(std::move(e));
      } else {
        return e;
      }
    }
  }

  // Only `raise_exception(message)` may be called.
  ExprPtr parse_call(ExprPtr callee) {
    const Pos pos = peek().pos;
    if (callee->kind != ExprKind::Name) unsupported(pos, "calling a method or the result of an expression");
    if (callee->name != "raise_exception") unsupported(callee->pos, "calling '" + callee->name + "(...)'");
    next();
    const Depth depth(*this, pos);
    std::vector<ExprPtr> args;
    if (!at_op(")")) args.push_back(parse_expression());
    if (args.size() != 1 || !at_op(")"))
      fail(callee->pos, "raise_exception takes exactly one argument, the message");
    next();
    auto e = make(ExprKind::Raise, callee->pos, std::move(args));
    return e;
  }

  // `x | f | g(args)`; tests (`x is defined`) are outside the subset.
  ExprPtr parse_filters(ExprPtr e) {
    while (true) {
      if (at_op("|")) {
        next();
        const Token t = peek();
        const std::string name = expect_name("a filter name after '|'");
        e = parse_filter(std::move(e), name, t.pos);
      } else if (at_name("is")) {
        const Pos pos = next().pos;
        std::string test = at_name("not") ? "not " : "";
        if (!test.empty()) next();
        test += peek().kind == TokenKind::Name ? peek().text : describe(peek());
        unsupported(pos, "the test 'is " + test + "'");
      } else if (at_op("(")) {
        unsupported(peek().pos, "calling the result of a filter");
      } else {
        return e;
      }
    }
  }

  struct FilterSignature {
    std::string_view name;
    std::vector<std::string_view> params;  // after the filtered value
  };

  static const FilterSignature* find_filter(std::string_view name) {
    static const std::array<FilterSignature, 6> filters = {{
        {"trim", {"chars"}},
        {"length", {}},
        {"upper", {}},
        {"lower", {}},
        {"default", {"default_value", "boolean"}},
        // transformers' tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False)
        {"tojson", {"ensure_ascii", "indent", "separators", "sort_keys"}},
    }};
    for (const auto& f : filters)
      if (f.name == name) return &f;
    return nullptr;
  }

  ExprPtr parse_filter(ExprPtr value, const std::string& name, Pos pos) {
    const FilterSignature* sig = find_filter(name);
    if (sig == nullptr) unsupported(pos, "the filter '" + name + "'");
    std::vector<ExprPtr> args;
    args.push_back(std::move(value));
    std::vector<std::string> kwargs;
    if (at_op("(")) {
      next();
      const Depth depth(*this, pos);
      while (!at_op(")")) {
        if (args.size() + kwargs.size() > 1) {
          expect_op(",");
          if (at_op(")")) break;
        }
        if (at_op("*") || at_op("**")) unsupported(peek().pos, "'*args' and '**kwargs' in a filter call");
        if (peek().kind == TokenKind::Name && at_op("=", 1)) {
          const Token k = next();
          next();
          if (std::find(sig->params.begin(), sig->params.end(), k.text) == sig->params.end())
            fail(k.pos, "the filter '" + name + "' has no parameter '" + k.text + "'");
          if (std::find(kwargs.begin(), kwargs.end(), k.text) != kwargs.end())
            fail(k.pos, "parameter '" + k.text + "' of the filter '" + name + "' given twice");
          kwargs.push_back(k.text);
          args.push_back(parse_expression());
        } else {
          if (!kwargs.empty()) fail(peek().pos, "a positional argument follows a keyword argument");
          args.push_back(parse_expression());
        }
      }
      next();
    }
    const std::size_t positional = args.size() - 1 - kwargs.size();
    if (positional > sig->params.size())
      fail(pos, "the filter '" + name + "' takes at most " + std::to_string(sig->params.size()) + " argument" +
                    (sig->params.size() == 1 ? "" : "s") + ", got " + std::to_string(positional));
    // Name every argument: positional ones take the parameters in order.
    std::vector<std::string> names;
    for (std::size_t i = 0; i < positional; ++i) names.emplace_back(sig->params[i]);
    for (const auto& k : kwargs) {
      if (std::find(names.begin(), names.end(), k) != names.end())
        fail(pos, "parameter '" + k + "' of the filter '" + name + "' given twice");
      names.push_back(k);
    }
    auto e = make(ExprKind::Filter, pos, std::move(args));
    e->name = name;
    e->arg_names = std::move(names);
    return e;
  }

  std::vector<Token> tokens_;
  std::size_t i_ = 0;
  std::string_view name_;
  const Limits& limits_;
  std::uint32_t depth_ = 0;
};

}  // namespace urm::detail::jinja
