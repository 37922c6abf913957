// Unit tests of the Jinja subset interpreter, construct by construct.
//
// Expected strings were produced by jinja2 3.1.6 configured as transformers
// renders chat templates: ImmutableSandboxedEnvironment(trim_blocks=True,
// lstrip_blocks=True), transformers' tojson (json.dumps, ensure_ascii=False)
// and raise_exception, with the variables of variables() below.
#include <doctest/doctest.h>

#include <iterator>
#include <random>
#include <string>
#include <string_view>

#include "urm/text/jinja/template.hpp"

using namespace urm::detail::jinja;

namespace {

Map variables() {
  List messages{Value(Map{{"role", "system"}, {"content", "Be brief."}}),
                Value(Map{{"role", "user"}, {"content", "  Hi there \n"}}),
                Value(Map{{"role", "assistant"}, {"content", "Hello!"}})};
  Map data{{"a", Value(List{1, 2.5, None{}, true, "é\"\n\001😀\177"})},
           {"b", Value(Map{})},
           {"c", Value(List{})},
           {"z", 0.1}};
  return Map{{"messages", Value(std::move(messages))},
             {"bos_token", "<s>"},
             {"eos_token", "</s>"},
             {"add_generation_prompt", true},
             {"tools", None{}},
             {"documents", None{}},
             {"data", Value(std::move(data))}};
}

std::string render(std::string_view source, Limits limits = {}) {
  return Template::parse(source, "template", limits).render(variables());
}

}  // namespace

TEST_CASE("jinja: output, literals and string escapes") {
  CHECK(render("{{ 'a' }}{{ \"b\" }}{{ 1 }}|{{ 2.5 }}|{{ true }}|{{ False }}|{{ none }}|{{ 1e-5 }}|{{ 1e16 }}|{{ 1E3 }}|{{ 1_000 }}|{{ 'x' 'y' }}") == "ab1|2.5|True|False|None|1e-05|1e+16|1000.0|1000|xy");
  CHECK(render("{{ 'a\\tb\\x41\\u00e9\\U0001F600\\q\\'' }}{{ \"\\\"\\\\\\101\" }}") == "a\tbAé😀\\q'\"\\A");
  CHECK(render("{{ bos_token }}{{ nothing }}[{{ messages[0].missing }}]") == "<s>[]");
  CHECK(render("{{ [1, 'a', none][1] }}{{ ['x',][0] }}{{ [] | length }}\n") == "ax0");
}

TEST_CASE("jinja: set, for (loop variables, scoping) and if/elif/else") {
  CHECK(render("{% set x = 'v' %}{{ x }}{% set x = x + 'w' %}{{ x }}") == "vvw");
  CHECK(render("{% if true %}{% set x = 1 %}{% endif %}{{ x }}") == "1");
  CHECK(render("{% set x = 'o' %}{% for i in [1, 2] %}{% set x = x ~ i %}{{ x }}{% endfor %}[{{ x }}]") == "o1o2[o]");
  CHECK(render("{% for i in [1, 2] %}{% if i == 2 %}[{{ y }}]{% endif %}{% set y = i %}{% endfor %}[{{ y }}]") == "[][]");
  CHECK(render("{% for m in messages %}{{ loop.index0 }}{{ loop.index }}{{ loop.first }}{{ loop.last }}{{ loop.length }}|{% endfor %}{{ loop }}") == "01TrueFalse3|12FalseFalse3|23FalseTrue3|");
  CHECK(render("{% for m in messages %}{{ loop.revindex }}{{ loop.revindex0 }},{% endfor %}") == "32,21,10,");
  CHECK(render("{% for a in [1, 2] %}{% for b in 'xé' %}{{ a ~ b ~ loop.index }} {% endfor %}{{ loop.index }};{% endfor %}") == "1x1 1é2 1;2x1 2é2 2;");
  CHECK(render("{% for k in messages[0] %}{{ k }},{% endfor %}{% for x in nothing %}a{% endfor %}b{% for m in [] %}c{% endfor %}") == "role,content,b");
  CHECK(render("{% for m in messages %}{% if m.role == 'system' %}S{% elif m.role == 'user' %}U{% elif m.role == 'nobody' %}N{% else %}A{% endif %}{% endfor %}") == "SUA");
  CHECK(render("{% if false %}a{% elif none %}b{% endif %}{% if '' %}c{% else %}d{% endif %}") == "d");
  CHECK(render("{% for m in messages %}{% set last = m.content %}{% endfor %}[{{ last }}]\n") == "[]");
}

TEST_CASE("jinja: operators: + ~ comparisons and/or/not in, subscripts and attributes") {
  CHECK(render("{{ 'a' + 'b' }}|{{ 1 + 2 }}|{{ 1 + 1.5 }}|{{ true + 1 }}|{{ 0.1 + 0.2 }}|{{ ([1] + [2]) | length }}") == "ab|3|2.5|2|0.30000000000000004|2");
  CHECK(render("{{ 'n=' ~ 3 ~ none ~ true ~ 0.5 ~ nothing ~ 'é' }}") == "n=3NoneTrue0.5é");
  CHECK(render("{{ 'a' + messages[1]['content'] | trim + 'b' }}|{{ 'A' ~ messages[1].content | trim | upper ~ 'B' }}") == "aHi thereb|AHI THEREB");
  CHECK(render("{{ 1 < 2 }}{{ 2 <= 2 }}{{ 'a' > 'b' }}{{ 'b' >= 'a' }}{{ 1 == 1.0 }}{{ true == 1 }}{{ 'a' != 'a' }}{{ [1, 2] < [1, 3] }}{{ 1 < 2 < 3 }}{{ 3 > 2 > 2 }}{{ none == none }}{{ nothing == nothing }}{{ 'é' > 'z' }}{{ messages[0] == messages[0] }}{{ [1, 'a'] == [1, 'a'] }}{{ 0 == '' }}") == "TrueTrueFalseTrueTrueTrueFalseTrueTrueFalseTrueTrueTrueTrueTrueFalse");
  CHECK(render("{{ 'a' or 'b' }}|{{ '' or 0 }}|{{ 'a' and 0 }}|{{ not '' }}|{{ not messages }}|{{ none or 'x' }}|{{ nothing or 'u' }}|{{ 1 and 2 and 3 }}|{{ not not 1 }}") == "a|0|0|True|False|x|u|3|True");
  CHECK(render("{{ 'ell' in 'hello' }}{{ 'user' in ['user', 'assistant'] }}{{ 'role' in messages[0] }}{{ 'x' not in messages[0] }}{{ 'a' in nothing }}{{ 2 in [1, 2.0] }}{{ 1 in messages[0] }}{{ '' in 'abc' }}") == "TrueTrueTrueTrueFalseTrueFalseTrue");
  CHECK(render("{{ messages[0]['role'] }}|{{ messages[0].role }}|{{ messages[2].content }}|{{ messages[5] }}|{{ messages.0.role }}|{{ 'héllo'[1] }}|{{ messages[0].missing }}|{{ none.x }}|{{ messages[true].role }}|{{ messages['a'] }}|{{ messages[none] }}|{{ messages[0][1] }}|{{ 'abc'['x'] }}") == "system|system|Hello!||system|é|||user||||");
}

TEST_CASE("jinja: filters trim length upper lower default tojson") {
  CHECK(render("[{{ '  a b \\n' | trim }}]{{ 'xxaxx' | trim('x') }}[{{ '\\u3000a\\u00a0\\x1c' | trim }}]{{ 5 | trim }}{{ none | trim }}[{{ nothing | trim }}]{{ 'éaé' | trim('é') }}{{ 'ab' | trim(chars=none) }}") == "[a b]a[a]5None[]aab");
  CHECK(render("{{ 'héllo' | length }}{{ messages | length }}{{ messages[0] | length }}{{ nothing | length }}{{ '😀' | length }}") == "53201");
  CHECK(render("{{ 'MiXed 1' | upper }}{{ 'MiXed 1' | lower }}{{ true | upper }}") == "MIXED 1mixed 1TRUE");
  CHECK(render("{{ nothing | default('d') }}|{{ '' | default('d') }}|{{ '' | default('d', true) }}|{{ none | default('d') }}|{{ nothing | default }}|{{ 0 | default('d', boolean=true) }}|{{ messages[0].x | default(messages[0].role) }}") == "d||d|None||d|system");
  CHECK(render("{{ data | tojson }}") == "{\"a\": [1, 2.5, null, true, \"é\\\"\\n\\u0001😀\177\"], \"b\": {}, \"c\": [], \"z\": 0.1}");
  CHECK(render("{{ data | tojson(indent=2) }}") == "{\n  \"a\": [\n    1,\n    2.5,\n    null,\n    true,\n    \"é\\\"\\n\\u0001😀\177\"\n  ],\n  \"b\": {},\n  \"c\": [],\n  \"z\": 0.1\n}");
  CHECK(render("{{ data | tojson(ensure_ascii=true) }}") == "{\"a\": [1, 2.5, null, true, \"\\u00e9\\\"\\n\\u0001\\ud83d\\ude00\\u007f\"], \"b\": {}, \"c\": [], \"z\": 0.1}");
  CHECK(render("{{ data | tojson(sort_keys=true, separators=[',', ':']) }}") == "{\"a\":[1,2.5,null,true,\"é\\\"\\n\\u0001😀\177\"],\"b\":{},\"c\":[],\"z\":0.1}");
  CHECK(render("{{ messages | tojson(indent='\\t') }}") == "[\n\t{\n\t\t\"role\": \"system\",\n\t\t\"content\": \"Be brief.\"\n\t},\n\t{\n\t\t\"role\": \"user\",\n\t\t\"content\": \"  Hi there \\n\"\n\t},\n\t{\n\t\t\"role\": \"assistant\",\n\t\t\"content\": \"Hello!\"\n\t}\n]");
  CHECK(render("{{ 1.0 | tojson }}{{ 'x' | tojson }}{{ none | tojson }}{{ [] | tojson(indent=0) }}{{ [1, [2]] | tojson(indent=0) }}{{ 1e100 | tojson }}{{ data.a | tojson(false, 1) }}\n") == "1.0\"x\"null[][\n1,\n[\n2\n]\n]1e+100[\n 1,\n 2.5,\n null,\n true,\n \"é\\\"\\n\\u0001😀\177\"\n]");
}

TEST_CASE("jinja: tests 'is defined', 'is none', 'is mapping', 'is iterable', ... and 'is not'") {
  CHECK(render("{{ x is defined }}{{ bos_token is defined }}{{ x is undefined }}{{ none is none }}{{ 0 is none }}{{ x is none }}{{ messages is not none }}{{ not x is defined }}{{ not bos_token is defined }}") == "FalseTrueTrueTrueFalseFalseTrueTrueFalse");
  CHECK(render("{{ 'a' is string }}{{ 1 is string }}{{ messages[0] is mapping }}{{ messages is mapping }}{{ 'a' is iterable }}{{ messages is iterable }}{{ messages[0] is iterable }}{{ 1 is iterable }}{{ none is iterable }}{{ x is iterable }}{{ x is mapping }}") == "TrueFalseTrueFalseTrueTrueTrueFalseFalseTrueFalse");
  CHECK(render("{{ 1 is number }}{{ 1.5 is number }}{{ true is number }}{{ 'a' is number }}{{ 1 is integer }}{{ true is integer }}{{ 1.0 is float }}{{ true is boolean }}{{ 1 is boolean }}{{ true is true }}{{ 1 is true }}{{ false is false }}{{ 0 is false }}") == "TrueTrueTrueFalseTrueFalseTrueTrueFalseTrueFalseTrueFalse");
  CHECK(render("{{ 'ab' is sequence }}{{ messages is sequence }}{{ messages[0] is sequence }}{{ 1 is sequence }}{{ x is sequence }}{{ none is sequence }}") == "TrueTrueTrueFalseTrueFalse");
  CHECK(render("{{ 3 is odd }}{{ 3 is even }}{{ -2 is even }}{{ 3.0 is odd }}{{ 9 is divisibleby 3 }}{{ 9 is divisibleby(4) }}{{ 'abc' is lower }}{{ 'aBc' is lower }}{{ 'ABC 1' is upper }}{{ '1' is upper }}") == "TrueFalseTrueTrueTrueFalseTrueFalseTrueFalse");
  CHECK(render("{{ 1 is eq 1 }}{{ 1 is equalto 2 }}{{ 'a' is ne 'b' }}{{ 1 is lt 2 }}{{ 2 is le 1 }}{{ 3 is gt(2) }}{{ 3 is greaterthan 4 }}{{ 2 is ge 2 }}{{ 1 is lessthan 1 }}{{ 'a' is in 'cat' }}{{ 'role' is in messages[0] }}{{ 5 is in [1, 2] }}") == "TrueFalseTrueTrueFalseTrueFalseTrueFalseTrueTrueFalse");
  CHECK(render("{{ messages is defined and messages | length > 2 }}{{ x is defined or 'no' }}{{ (x is defined) ~ 1 }}") == "TruenoFalse1");
}

TEST_CASE("jinja: arithmetic - * / // % ** and unary minus, with Python's semantics and precedence") {
  CHECK(render("{{ 7 - 2 }}|{{ 7 * 2 }}|{{ 7 / 2 }}|{{ 6 / 2 }}|{{ 7 // 2 }}|{{ -7 // 2 }}|{{ 7 % 3 }}|{{ -7 % 3 }}|{{ 7 % -3 }}|{{ 2 ** 10 }}|{{ 2 ** -1 }}|{{ 2 ** 3 ** 2 }}|{{ -2 ** 2 }}|{{ 1 + 2 * 3 - 4 }}|{{ 10 - 2 - 3 }}") == "5|14|3.5|3.0|3|-4|1|2|-2|1024|0.5|64|4|3|5");
  CHECK(render("{{ 7.5 % 2 }}|{{ -7.5 % 2 }}|{{ 7.5 // 2 }}|{{ -7.5 // 2 }}|{{ 7.5 % -2 }}|{{ 1.5 * 2 }}|{{ 0.1 * 3 }}|{{ 1 - 0.9 }}|{{ 2.0 ** 0.5 }}|{{ true * 3 }}|{{ true - false }}|{{ 5 % 2 == 1 }}") == "1.5|0.5|3.0|-4.0|-0.5|3.0|0.30000000000000004|0.09999999999999998|1.4142135623730951|3|1|True");
  CHECK(render("{{ -1 }}|{{ - 2.5 }}|{{ +3 }}|{{ -true }}|{{ messages[-1].role }}|{{ messages[-3].role }}|{{ 'ab' * 3 }}|{{ 3 * 'ab' }}|{{ 'ab' * 0 }}|{{ ([1] * 3) | length }}|{{ 'x' * -1 }}") == "-1|-2.5|3|-1|assistant|system|ababab|ababab||3|");
  CHECK(render("{{ 'a' ~ (1 + 2) }}|{{ 2 * 3 ~ 4 }}|{{ 'a' ~ 2 * 3 }}|{{ 2 ~ 3 * 2 }}") == "a3|64|a6|26");
}

TEST_CASE("jinja: slices of lists and strings") {
  CHECK(render("{% for m in messages[1:] %}{{ m.role }},{% endfor %}|{% for m in messages[:1] %}{{ m.role }},{% endfor %}|{% for m in messages[::-1] %}{{ m.role }},{% endfor %}|{% for m in messages[-2:] %}{{ m.role }},{% endfor %}|{% for m in messages[1:2] %}{{ m.role }},{% endfor %}|{{ messages[5:] | length }}|{{ messages[:] | length }}") == "user,assistant,|system,|assistant,user,system,|user,assistant,|user,|0|3");
  CHECK(render("{{ 'héllo wörld'[1:4] }}|{{ 'hello'[::2] }}|{{ 'hello'[::-1] }}|{{ 'hello'[-3:] }}|{{ 'hello'[:-3] }}|{{ 'hello'[10:] }}|{{ 'hello'[4:1:-1] }}|{{ 'hello'[1:4:2] }}|{{ 'hello'[-100:100] }}|{{ 'hello'[:none] }}") == "éll|hlo|olleh|llo|he||oll|el|hello|hello");
}

TEST_CASE("jinja: conditional expressions and loop filters") {
  CHECK(render("{{ 'a' if true else 'b' }}|{{ 'a' if false else 'b' }}|{{ 'a' if false }}|{{ 1 if x is defined else 2 }}|{{ 'a' if true else 'b' if true else 'c' }}|{{ 'x' ~ ('y' if none else 'z') }}") == "a|b||2|a|xz");
  CHECK(render("{% set y = 'v' if messages else 'w' %}{{ y }}{% for m in messages if m.role != 'system' %}{{ loop.index }}{{ m.role }}{{ loop.length }}{{ loop.last }};{% endfor %}") == "v1user2False;2assistant2True;");
}

TEST_CASE("jinja: unpacking in for, items, str and dict methods, join, select and reject") {
  CHECK(render("{% for k, v in messages[0] | items %}{{ k }}={{ v }};{% endfor %}|{% for a, b in [[1, 2], 'xy'] %}{{ a }}{{ b }}{% endfor %}|{% for k, v in x | items %}no{% endfor %}") == "role=system;content=Be brief.;|12xy|");
  CHECK(render("{% for k, v in messages[0].items() %}{{ k }}={{ v }};{% endfor %}|{% for k in messages[0].keys() %}{{ k }};{% endfor %}|{% for v in messages[0].values() %}{{ v }};{% endfor %}|{{ messages[0].get('role') }}|{{ messages[0].get('x') }}|{{ messages[0].get('x', 'd') }}") == "role=system;content=Be brief.;|role;content;|system;Be brief.;|system|None|d");
  CHECK(render("{{ messages[1].content.strip() }}|{{ '  a  '.lstrip() }}|{{ '  a  '.rstrip() }}|{{ 'xxaxx'.strip('x') }}|{{ 'Hello'.startswith('He') }}|{{ 'Hello'.startswith('lo') }}|{{ 'Hello'.endswith('lo') }}|{{ 'Hello'.upper() }}|{{ 'Hello'.lower() }}|{{ '　a '.strip() }}|{{ 'abc'.strip(none) }}") == "Hi there|a  |  a|a|True|False|True|HELLO|hello|a|abc");
  CHECK(render("{{ ['a', 'b', 1] | join(', ') }}|{{ 'abc' | join('-') }}|{{ messages | join('|', attribute='role') }}|{{ messages[0] | join }}|{{ x | join(',') }}|{{ [] | join(',') }}|{{ [1, none, true] | join }}") == "a, b, 1|a-b-c|system|user|assistant|rolecontent|||1NoneTrue");
  CHECK(render("{{ [1, 2, 3, 4] | select('odd') | join(',') }}|{{ [1, 2, 3, 4] | reject('odd') | join(',') }}|{{ ['a', 'code_interpreter', 'b'] | reject('equalto', 'code_interpreter') | join(', ') }}|{{ [1, none, 2] | select('none') | join }}|{% for i in [1, 5, 10] | select('gt', 3) %}{{ i }};{% endfor %}|{{ [1, 2, 3] | select('divisibleby', 3) | select('odd') | join }}") == "1,3|2,4|a, b|None|5;10;|3");
}

TEST_CASE("jinja: whitespace control, trim_blocks and lstrip_blocks") {
  CHECK(render("{% if true %}\nA\n{% endif %}\nB") == "A\nB");
  CHECK(render("  {% if true %}\n  x\n  {% endif %}\ndone") == "  x\ndone");
  CHECK(render("a  {%- if true -%}  b  {%- endif -%}  c") == "abc");
  CHECK(render("a \n {{- 'b' -}} \n c{{ 'd' }} \n e") == "abcd \n e");
  CHECK(render("  {%+ if true %}x{% endif +%}\ny") == "  x\ny");
  CHECK(render("a {# c #} b\n  {# d #}\nc {#- e -#} d") == "a  b\ncd");
  CHECK(render("{{ 'a' }}  {% if true %}b{% endif %}") == "a  b");
  CHECK(render("x\n") == "x");
  CHECK(render("a\n{% for m in messages %}\n  {% if loop.first %}\n    first\n  {% endif %}\n{% endfor %}\nz") == "a\n    first\nz");
  CHECK(render(" \t{% if true %}tab{% endif %}\n   {{ 'var' }}") == "tab   var");
  CHECK(render("{{ [[1]] | length }}{{ [1, [2, [3]]][1][1][0] }}\n") == "13");
}

TEST_CASE("jinja: a string longer than one line, and a template ending in two newlines") {
  CHECK(render("x\n\n") == "x\n");
  CHECK(render("a\r\n{% if true %}\r\nb{% endif %}\r\n") == "a\nb");
  CHECK(render("{{ 'multi\nline' }}") == "multi\nline");
}

// Constructs outside the subset fail at parse time, naming the construct and
// where it is.
TEST_CASE("jinja: constructs outside the subset are errors with line:column") {
  const std::string outside = " is outside the Jinja subset urm.cpp implements";
  auto parse = [](std::string_view source) { return Template::parse(source); };
  CHECK_THROWS_WITH_AS(parse("{% raw %}{% endraw %}"), ("template 1:4: the 'raw' statement" + outside).c_str(), urm::Error);
  CHECK_THROWS_WITH_AS(parse("{% include 'x' %}"), ("template 1:4: the 'include' statement" + outside).c_str(), urm::Error);
  CHECK_THROWS_WITH_AS(parse("{{ x is sameas none }}"), ("template 1:6: the test 'is sameas'" + outside).c_str(), urm::Error);
  CHECK_THROWS_WITH_AS(parse("{{ x is not escaped }}"), ("template 1:6: the test 'is not escaped'" + outside).c_str(), urm::Error);
  CHECK_THROWS_WITH_AS(parse("{{ x[] }}"), ("template 1:6: a tuple subscript" + outside).c_str(), urm::Error);
  CHECK_THROWS_WITH_AS(parse("{{ 1, 2 }}"), ("template 1:5: a tuple without parentheses" + outside).c_str(), urm::Error);
  CHECK_THROWS_WITH_AS(parse("{{ x | batch(2) }}"), ("template 1:8: the filter 'batch'" + outside).c_str(), urm::Error);
  CHECK_THROWS_WITH_AS(parse("{{ x | format(1) }}"), ("template 1:8: the filter 'format'" + outside).c_str(), urm::Error);
  CHECK_THROWS_WITH_AS(parse("{{ x.zfill(1) }}"), ("template 1:5: calling the method 'zfill(...)'" + outside).c_str(), urm::Error);
  CHECK_THROWS_WITH_AS(parse("{{ x[0](1) }}"), ("template 1:8: calling the result of an expression" + outside).c_str(), urm::Error);
  CHECK_THROWS_WITH_AS(parse("{{ x.strip(chars=' ') }}"), ("template 1:12: a keyword argument to the method 'strip'" + outside).c_str(), urm::Error);
  CHECK_THROWS_WITH_AS(parse("{{ f(*x) }}"), ("template 1:6: '*args' and '**kwargs' in a call" + outside).c_str(), urm::Error);
  CHECK_THROWS_WITH_AS(parse("{{ x | select('odd') }}"), ("template 1:8: using the generator that 'select', 'map', 'items' and similar filters give other than by consuming it (a for-loop, join, list, ...)" + outside).c_str(), urm::Error);
  CHECK_THROWS_WITH_AS(parse("{{ x | reject('odd') | length }}"), ("template 1:8: using the generator that 'select', 'map', 'items' and similar filters give other than by consuming it (a for-loop, join, list, ...)" + outside).c_str(), urm::Error);
  CHECK_THROWS_WITH_AS(parse("{{ (x | select('odd'))[0] }}"), ("template 1:9: using the generator that 'select', 'map', 'items' and similar filters give other than by consuming it (a for-loop, join, list, ...)" + outside).c_str(), urm::Error);
  CHECK_THROWS_WITH_AS(parse("{{ x | map('upper') }}"), ("template 1:8: using the generator that 'select', 'map', 'items' and similar filters give other than by consuming it (a for-loop, join, list, ...)" + outside).c_str(), urm::Error);
  CHECK_THROWS_WITH_AS(parse("{% set y = x | unique %}"), ("template 1:16: using the generator that 'select', 'map', 'items' and similar filters give other than by consuming it (a for-loop, join, list, ...)" + outside).c_str(), urm::Error);
  CHECK_THROWS_WITH_AS(parse("{% for a in x recursive %}{% endfor %}"), ("template 1:15: a recursive for-loop" + outside).c_str(), urm::Error);
  CHECK_THROWS_WITH_AS(parse("{% set x | trim %}a{% endset %}"), ("template 1:10: a filtered block 'set' ('{% set x | f %}')" + outside).c_str(), urm::Error);
  CHECK_THROWS_WITH_AS(render("{{ cycler(1, 2) }}"), ("template 1:4: the global function 'cycler'" + outside).c_str(), urm::Error);
  // Line and column (in code points) of a construct on a later line.
  CHECK_THROWS_WITH_AS(parse("{% if true %}\n  é{{ x is sameas y }}\n{% endif %}"), ("template 2:9: the test 'is sameas'" + outside).c_str(), urm::Error);
}

TEST_CASE("jinja: syntax errors") {
  auto parse = [](std::string_view source) { return Template::parse(source); };
  CHECK_THROWS_WITH_AS(parse("{% foo %}"), "template 1:4: unknown statement 'foo'", urm::Error);
  CHECK_THROWS_WITH_AS(parse("{% endif %}"), "template 1:4: unknown statement 'endif'", urm::Error);
  CHECK_THROWS_WITH_AS(parse("a\n{% if true %}a"), "template 2:1: 'if' is never closed (missing '{% endif %}')", urm::Error);
  CHECK_THROWS_WITH_AS(parse("{% for x in y %}{% endif %}"), "template 1:20: unexpected 'endif' inside the 'for' opened at 1:1", urm::Error);
  CHECK_THROWS_WITH_AS(parse("{% if x %}{% else %}{% elif y %}{% endif %}"), "template 1:24: unexpected 'elif' after '{% else %}'", urm::Error);
  CHECK_THROWS_WITH_AS(parse("{{ 'a' "), "template 1:1: unclosed '{{' (missing '}}')", urm::Error);
  CHECK_THROWS_WITH_AS(parse("x{% if true "), "template 1:2: unclosed '{%' (missing '%}')", urm::Error);
  CHECK_THROWS_WITH_AS(parse("{# a"), "template 1:1: missing end of comment tag '#}'", urm::Error);
  CHECK_THROWS_WITH_AS(parse("{{ 'abc }}"), "template 1:4: unterminated string literal", urm::Error);
  CHECK_THROWS_WITH_AS(parse("{{ '\\x4' }}"), "template 1:4: truncated \\x, \\u or \\U escape in string literal", urm::Error);
  CHECK_THROWS_WITH_AS(parse("{{ a ) }}"), "template 1:6: unexpected ')'", urm::Error);
  CHECK_THROWS_WITH_AS(parse("{{ [1, 2) }}"), "template 1:9: unexpected ')', expected ']'", urm::Error);
  CHECK_THROWS_WITH_AS(parse("{{ }}"), "template 1:4: expected an expression inside '{{ }}'", urm::Error);
  CHECK_THROWS_WITH_AS(parse("{{ a b }}"), "template 1:6: expected '}}', got 'b'", urm::Error);
  CHECK_THROWS_WITH_AS(parse("{{ a ! b }}"), "template 1:6: unexpected character '!'", urm::Error);
  CHECK_THROWS_WITH_AS(parse("{{ a + }}"), "template 1:8: expected an expression, got '}}'", urm::Error);
  CHECK_THROWS_WITH_AS(parse("{% set x 1 %}"), "template 1:10: expected '=', got the number 1", urm::Error);
  CHECK_THROWS_WITH_AS(parse("{% set true = 1 %}"), "template 1:8: cannot assign to 'true'", urm::Error);
  CHECK_THROWS_WITH_AS(parse("{% for x on y %}{% endfor %}"), "template 1:10: expected 'in' after 'for x', got 'on'", urm::Error);
  CHECK_THROWS_WITH_AS(parse("{% if x y %}{% endif %}"), "template 1:9: expected '%}' to end the 'if' statement, got 'y'", urm::Error);
  CHECK_THROWS_WITH_AS(parse("{{ x | trim(1, 2) }}"), "template 1:8: the filter 'trim' takes at most 1 argument, got 2", urm::Error);
  CHECK_THROWS_WITH_AS(parse("{{ x | tojson(foo=1) }}"), "template 1:15: the filter 'tojson' has no parameter 'foo'", urm::Error);
  CHECK_THROWS_WITH_AS(parse("{{ x | default('a', default_value='b') }}"), "template 1:8: parameter 'default_value' of the filter 'default' given twice", urm::Error);
  CHECK_THROWS_WITH_AS(parse("{{ raise_exception() }}"), "template 1:4: raise_exception takes exactly one argument, the message", urm::Error);
  CHECK_THROWS_WITH_AS(parse("{{ 012 }}"), "template 1:4: invalid integer literal '012' (leading zeros)", urm::Error);
  CHECK_THROWS_WITH_AS(parse("{{ 99999999999999999999 }}"), "template 1:4: integer literal 99999999999999999999 does not fit in 64 bits", urm::Error);
  CHECK_THROWS_WITH_AS(parse("ok \xff"), "template: not valid UTF-8 (byte 3)", urm::Error);
}

// Errors that jinja2 raises too, at render time.
TEST_CASE("jinja: render errors") {
  CHECK_THROWS_WITH_AS(render("a{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}"),
                       "template 1:5: raise_exception: Conversation roles must alternate user/assistant/user/assistant/...", urm::Error);
  CHECK_THROWS_WITH_AS(render("{{ 'a' + 1 }}"), "template 1:8: can only concatenate str (not \"int\") to str", urm::Error);
  CHECK_THROWS_WITH_AS(render("{{ [1] + 'a' }}"), "template 1:8: can only concatenate list (not \"str\") to list", urm::Error);
  CHECK_THROWS_WITH_AS(render("{{ 1 + 'a' }}"), "template 1:6: unsupported operand type(s) for +: 'int' and 'str'", urm::Error);
  CHECK_THROWS_WITH_AS(render("{{ none + 'a' }}"), "template 1:9: unsupported operand type(s) for +: 'NoneType' and 'str'", urm::Error);
  CHECK_THROWS_WITH_AS(render("{{ nothing + 'a' }}"), "template 1:12: 'nothing' is undefined", urm::Error);
  CHECK_THROWS_WITH_AS(render("{{ messages[0].missing.x }}"), "template 1:23: 'dict object' has no attribute 'missing'", urm::Error);
  CHECK_THROWS_WITH_AS(render("{{ messages[0]['missing']['x'] }}"), "template 1:26: 'dict object' has no attribute 'missing'", urm::Error);
  CHECK_THROWS_WITH_AS(render("{{ messages[7].role }}"), "template 1:15: list object has no element 7", urm::Error);
  CHECK_THROWS_WITH_AS(render("{{ nothing.role }}"), "template 1:11: 'nothing' is undefined", urm::Error);
  CHECK_THROWS_WITH_AS(render("{{ 1 < 'a' }}"), "template 1:4: '<' not supported between instances of 'int' and 'str'", urm::Error);
  CHECK_THROWS_WITH_AS(render("{{ none >= 1 }}"), "template 1:4: '>=' not supported between instances of 'NoneType' and 'int'", urm::Error);
  CHECK_THROWS_WITH_AS(render("{{ nothing < 1 }}"), "template 1:4: 'nothing' is undefined", urm::Error);
  CHECK_THROWS_WITH_AS(render("{% for x in 5 %}{% endfor %}"), "template 1:13: 'int' object is not iterable", urm::Error);
  CHECK_THROWS_WITH_AS(render("{% for x in none %}{% endfor %}"), "template 1:13: 'NoneType' object is not iterable", urm::Error);
  CHECK_THROWS_WITH_AS(render("{{ 1 in 'abc' }}"), "template 1:4: 'in <string>' requires string as left operand, not int", urm::Error);
  CHECK_THROWS_WITH_AS(render("{{ 'a' in 5 }}"), "template 1:4: argument of type 'int' is not iterable", urm::Error);
  CHECK_THROWS_WITH_AS(render("{{ [1] in messages[0] }}"), "template 1:4: unhashable type: 'list'", urm::Error);
  CHECK_THROWS_WITH_AS(render("{{ 5 | length }}"), "template 1:8: length: object of type 'int' has no len()", urm::Error);
  CHECK_THROWS_WITH_AS(render("{{ nothing | tojson }}"), "template 1:14: tojson: Object of type Undefined is not JSON serializable", urm::Error);
  CHECK_THROWS_WITH_AS(render("{{ data | tojson(indent=[]) }}"), "template 1:11: tojson: indent must be an integer, a string or none, not list", urm::Error);
  CHECK_THROWS_WITH_AS(render("{{ 'a' | trim(1) }}"), "template 1:10: trim: chars must be a string or none, not int", urm::Error);
  CHECK_THROWS_WITH_AS(render("{{ -messages }}"), "template 1:4: bad operand type for unary -: 'list'", urm::Error);
  CHECK_THROWS_WITH_AS(render("{{ 'a' ~ 1 + 2 }}"), "template 1:12: can only concatenate str (not \"int\") to str", urm::Error);
  CHECK_THROWS_WITH_AS(render("{{ 1 // 0 }}"), "template 1:6: integer division or modulo by zero", urm::Error);
  CHECK_THROWS_WITH_AS(render("{{ 1 % 0 }}"), "template 1:6: integer modulo by zero", urm::Error);
  CHECK_THROWS_WITH_AS(render("{{ 1 / 0 }}"), "template 1:6: division by zero", urm::Error);
  CHECK_THROWS_WITH_AS(render("{{ 1.0 % 0 }}"), "template 1:8: float modulo", urm::Error);
  CHECK_THROWS_WITH_AS(render("{{ 1.5 // 0 }}"), "template 1:8: float floor division by zero", urm::Error);
  CHECK_THROWS_WITH_AS(render("{{ 0 ** -1 }}"), "template 1:6: 0.0 cannot be raised to a negative power", urm::Error);
  CHECK_THROWS_WITH_AS(render("{{ 'a' - 1 }}"), "template 1:8: unsupported operand type(s) for -: 'str' and 'int'", urm::Error);
  CHECK_THROWS_WITH_AS(render("{{ 'a' * 'b' }}"), "template 1:8: can't multiply sequence by non-int of type 'str'", urm::Error);
  CHECK_THROWS_WITH_AS(render("{{ none * 2 }}"), "template 1:9: unsupported operand type(s) for *: 'NoneType' and 'int'", urm::Error);
  CHECK_THROWS_WITH_AS(render("{{ x - 1 }}"), "template 1:6: 'x' is undefined", urm::Error);
  CHECK_THROWS_WITH_AS(render("{{ messages[0][1:] }}"), "template 1:15: unhashable type: 'slice'", urm::Error);
  CHECK_THROWS_WITH_AS(render("{{ none[1:] }}"), "template 1:8: 'NoneType' object is not subscriptable", urm::Error);
  CHECK_THROWS_WITH_AS(render("{{ 'abc'['x':] }}"), "template 1:9: slice indices must be integers or None or have an __index__ method", urm::Error);
  CHECK_THROWS_WITH_AS(render("{{ x[1:] }}"), "template 1:5: 'x' is undefined", urm::Error);
  CHECK_THROWS_WITH_AS(render("{{ [1, 2][::0] }}"), "template 1:10: slice step cannot be zero", urm::Error);
  CHECK_THROWS_WITH_AS(render("{{ (5).strip() }}"), "template 1:7: 'int object' has no attribute 'strip'", urm::Error);
  CHECK_THROWS_WITH_AS(render("{{ messages.get('x') }}"), "template 1:12: 'list object' has no attribute 'get'", urm::Error);
  CHECK_THROWS_WITH_AS(render("{{ messages[0].strip() }}"), "template 1:15: 'dict object' has no attribute 'strip'", urm::Error);
  CHECK_THROWS_WITH_AS(render("{{ x.strip() }}"), "template 1:5: 'x' is undefined", urm::Error);
  CHECK_THROWS_WITH_AS(render("{{ 'a'.startswith(1) }}"), "template 1:7: startswith first arg must be str or a tuple of str, not int", urm::Error);
  CHECK_THROWS_WITH_AS(render("{{ messages[0].get([1]) }}"), "template 1:15: unhashable type: 'list'", urm::Error);
  CHECK_THROWS_WITH_AS(render("{{ 'a'.strip(1) }}"), "template 1:7: strip arg must be None or str", urm::Error);
  CHECK_THROWS_WITH_AS(render("{{ 'a'.rstrip(x) }}"), "template 1:7: rstrip arg must be None or str", urm::Error);
  CHECK_THROWS_WITH_AS(Template::parse("{{ 'a'.upper(1) }}"), "template 1:7: the method 'upper' takes at most 0 arguments, got 1", urm::Error);
  CHECK_THROWS_WITH_AS(Template::parse("{{ x is divisibleby }}"), "template 1:9: the test 'divisibleby' takes 1 argument, got 0", urm::Error);
  CHECK_THROWS_WITH_AS(Template::parse("{{ x is odd is even }}"), "template 1:13: You cannot chain multiple tests with is", urm::Error);
  CHECK_THROWS_WITH_AS(render("{% for a, b in [1] %}{% endfor %}"), "template 1:16: cannot unpack non-iterable int object", urm::Error);
  CHECK_THROWS_WITH_AS(render("{% for a, b in [[1, 2, 3]] %}{% endfor %}"), "template 1:16: too many values to unpack (expected 2)", urm::Error);
  CHECK_THROWS_WITH_AS(render("{% for a, b in [[1]] %}{% endfor %}"), "template 1:16: not enough values to unpack (expected 2, got 1)", urm::Error);
  CHECK_THROWS_WITH_AS(render("{% for k, v in 1 | items %}{% endfor %}"), "template 1:20: items: Can only get item pairs from a mapping.", urm::Error);
  CHECK_THROWS_WITH_AS(render("{{ 'a' is odd }}"), "template 1:8: printf-style string formatting ('%' on a string) is outside the Jinja subset urm.cpp implements", urm::Error);
  CHECK_THROWS_WITH_AS(render("{{ x is odd }}"), "template 1:6: 'x' is undefined", urm::Error);
  CHECK_THROWS_WITH_AS(render("{{ ('x' if false) + 'a' }}"), "template 1:19: the inline if-expression on line 1 evaluated to false and no else section was defined.", urm::Error);
  CHECK_THROWS_WITH_AS(render("{{ 2 ** 64 }}"), "template 1:6: integer overflow in '**' (Python's integers are unbounded)", urm::Error);
  CHECK_THROWS_WITH_AS(render("{{ '%s' % 1 }}"), "template 1:9: printf-style string formatting ('%' on a string) is outside the Jinja subset urm.cpp implements", urm::Error);
  CHECK_THROWS_WITH_AS(render("{{ (-8) ** 0.5 }}"), "template 1:9: a negative number to a fractional power (a complex number) is outside the Jinja subset urm.cpp implements", urm::Error);
  CHECK_THROWS_WITH_AS(render("{{ [1] | select('bogus') | join }}"), "template 1:10: the test 'bogus' is outside the Jinja subset urm.cpp implements", urm::Error);
  CHECK_THROWS_WITH_AS(render("{{ [1] | select('odd', 1) | join }}"), "template 1:10: the test 'odd' takes 0 arguments, got 1", urm::Error);
}

// Valid Jinja whose result the subset does not reproduce: refused, never approximated.
TEST_CASE("jinja: semantics outside the subset are errors at render time") {
  const std::string outside = " is outside the Jinja subset urm.cpp implements";
  CHECK(render("{{ ['😀', 'é', '\u00a0\u200b\u0378\U000e0001'] }}") == "['😀', 'é', '\\xa0\\u200b\\u0378\\U000e0001']");
  CHECK_THROWS_WITH_AS(render("{{ namespace() }}"), ("template 1:4: converting a Namespace to a string" + outside).c_str(), urm::Error);
  CHECK_THROWS_WITH_AS(render("{{ messages[0].items }}"), ("template 1:15: 'items' of a dict is a Python method or attribute; using it" + outside).c_str(), urm::Error);
  CHECK_THROWS_WITH_AS(render("{{ messages[0]['keys'] }}"), ("template 1:15: 'keys' of a dict is a Python method or attribute; using it" + outside).c_str(), urm::Error);
  CHECK_THROWS_WITH_AS(render("{{ bos_token.upper }}"), ("template 1:13: 'upper' of a str is a Python method or attribute; using it" + outside).c_str(), urm::Error);
  CHECK_THROWS_WITH_AS(render("{{ messages.__class__ }}"), ("template 1:12: '__class__' of a list is a Python method or attribute; using it" + outside).c_str(), urm::Error);
  CHECK_THROWS_WITH_AS(render("{{ 'é' | upper }}"), ("template 1:10: upper of non-ASCII text" + outside).c_str(), urm::Error);
  CHECK_THROWS_WITH_AS(render("{% for m in messages %}{{ loop.changed(m) }}{% endfor %}"), ("template 1:31: calling the method 'changed(...)'" + outside).c_str(), urm::Error);
  CHECK_THROWS_WITH_AS(render("{{ (1).real }}"), ("template 1:7: attribute access on a number" + outside).c_str(), urm::Error);
}

TEST_CASE("jinja: limits stop runaway templates") {
  {
    Limits few_steps;
    few_steps.max_steps = 1000;
    // Copying a slice, repeating a list and joining cost a step per item.
    CHECK_THROWS_WITH_AS(render("{% set x = [1] * 1200 %}", few_steps), "template 1:16: template exceeded 1000 evaluation steps", urm::Error);
    CHECK_THROWS_WITH_AS(render("{% set x = [1] * 400 %}{{ x | join }}{{ x | join }}", few_steps), "template 1:45: template exceeded 1000 evaluation steps", urm::Error);
    CHECK_THROWS_WITH_AS(render("{% set x = [1] * 600 %}{% set y = x[1:] %}", few_steps), "template 1:36: template exceeded 1000 evaluation steps", urm::Error);
    CHECK(render("{% set x = [1] * 300 %}{{ x[1:] | join }}").size() == 299);
  }
  const std::string parens = "{{ " + std::string(200, '(') + "1" + std::string(200, ')') + " }}";
  CHECK_THROWS_WITH_AS(Template::parse(parens), "template 1:68: template nested deeper than 128 levels", urm::Error);
  std::string chain = "{{ 1";
  for (int i = 0; i < 300; ++i) chain += " + 1";
  CHECK_THROWS_WITH_AS(Template::parse(chain + " }}"), "template 1:514: expression nested deeper than 128 levels", urm::Error);
  std::string ifs;
  for (int i = 0; i < 200; ++i) ifs += "{% if true %}";
  CHECK_THROWS_WITH_AS(Template::parse(ifs), "template 1:1658: template nested deeper than 128 levels", urm::Error);
  std::string nots = "{{ ";
  for (int i = 0; i < 200; ++i) nots += "not ";
  CHECK_THROWS_WITH_AS(Template::parse(nots + "1 }}"), "template 1:512: template nested deeper than 128 levels", urm::Error);

  Limits few_steps;
  few_steps.max_steps = 100;
  CHECK_THROWS_WITH_AS(render("{% for a in messages %}{% for b in messages %}{% for c in messages %}{{ a.role ~ b.role ~ c.role }}{% endfor %}{% endfor %}{% endfor %}", few_steps),
                       "template 1:70: template exceeded 100 evaluation steps", urm::Error);
  Limits few_bytes;
  few_bytes.max_bytes = 1000;
  std::string doubling = "{% set x = 'abcdefghij' %}";
  for (int i = 0; i < 10; ++i) doubling += "{% set x = x + x %}";
  CHECK_THROWS_WITH_AS(render(doubling + "{{ x }}", few_bytes), "template 1:135: template built more than 1000 bytes of values", urm::Error);
  std::string nesting = "{% set x = [] %}";
  for (int i = 0; i < 200; ++i) nesting += "{% set x = [x] %}";
  CHECK_THROWS_WITH_AS(render(nesting), "template 1:2204: list nested deeper than 128 levels", urm::Error);
  // The memory limit counts every value the template creates, before it is
  // allocated: strings, list copies, printed lists, tojson's indentation.
  CHECK(render("{{ 'x' * 100000000 }}").size() == 100000000);
  CHECK_THROWS_WITH_AS(render("{{ 'x' * 2000000000 }}"), "template 1:8: template built more than 1073741824 bytes of values", urm::Error);
  const std::string big = "{% set s = 'x' * 100000000 %}";
  CHECK(render(big + "{% set l = [s] * 30 %}{{ l | length }}{{ (l + l) | length }}") == "3060");  // shared, not copied
  CHECK_THROWS_WITH_AS(render(big + "{% set l = [s] * 30 %}{{ l }}"),
                       "template 1:55: printing a list or dict: the text is larger than the memory limit allows", urm::Error);
  CHECK_THROWS_WITH_AS(render(big + "{% set l = [s] * 30 %}{{ (l + l) | join }}"),
                       "template 1:65: template built more than 1073741824 bytes of values", urm::Error);
  CHECK_THROWS_WITH_AS(render("{% set l = [1] * 200000000 %}"), "template 1:16: template built more than 1073741824 bytes of values", urm::Error);
  // tojson's indent is json.dumps's: as wide as asked (json.dumps([[1]], indent=5000) has 20009 characters).
  CHECK(render("{{ [[1]] | tojson(indent=5000) | length }}") == "20009");
  CHECK_THROWS_WITH_AS(render("{{ [[1]] | tojson(indent=2000000000) }}"),
                       "template 1:12: tojson: indent 2000000000 is larger than the memory limit allows", urm::Error);
  CHECK_THROWS_WITH_AS(render(big + "{{ [[[[[[[[[[[[1]]]]]]]]]]]] | tojson(indent=100000000) }}"),
                       "template 1:61: tojson: the text is larger than the memory limit allows", urm::Error);
  // The same templates within the limits render.
  CHECK(render("{% for a in messages %}{% for b in messages %}{{ a.role[0] ~ b.role[0] }} {% endfor %}{% endfor %}") ==
        "ss su sa us uu ua as au aa ");
}

// Robustness: templates spliced from random fragments and random edits of a
// real template either render or throw urm::Error — never anything else
// (run under the sanitizers this also checks for memory errors).
TEST_CASE("jinja: random templates render or fail with urm::Error") {
  static constexpr const char* fragments[] = {
      "{{", "}}", "{%", "%}", "{#", "#}", "-", "+", " ", "\n", "  ", "if ", "for ", "set ", "endif", "endfor", "elif ",
      "else", " in ", "not ", " and ", " or ", "x", "messages", "m", "loop", ".", "[", "]", "(", ")", "'a'", "\"b\"", "1",
      "2.5", "|", "trim", "length", "tojson", "default", "upper", "=", "==", "<", "~", ",", "m['content']", "loop.index0",
      "raise_exception", "é", "\t", "\\", "'", "is", "0", "data", "true", "none", "{", "}", "%", "#",
      " is ", "defined", "not ", ":", "-", "*", "//", "**", " if ", " else ", "items", "join", "select('odd')",
      ".strip()", ".get('role')", "[1:]", "[::-1]", ", ", "k, v", "mapping", "-1"};
  const std::string llama3 =
      "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + "
      "message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 "
      "%}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ "
      "'<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}";
  std::mt19937 rng(12345);
  int rendered = 0, refused = 0;
  Limits limits;
  limits.max_steps = 100000;
  for (int iteration = 0; iteration < 4000; ++iteration) {
    std::string source;
    if (iteration % 2 == 0) {
      const int n = 1 + static_cast<int>(rng() % 40);
      for (int k = 0; k < n; ++k) source += fragments[rng() % std::size(fragments)];
    } else {
      source = llama3;
      const int edits = 1 + static_cast<int>(rng() % 4);
      for (int k = 0; k < edits; ++k) {
        const std::size_t at = rng() % (source.size() + 1);
        if (rng() % 2 == 0 && at < source.size()) {
          source.erase(at, 1 + rng() % 8);
        } else {
          source.insert(at, fragments[rng() % std::size(fragments)]);
        }
      }
    }
    CAPTURE(source);
    try {
      (void)render(source, limits);
      ++rendered;
    } catch (const urm::Error&) {
      ++refused;
    }
  }
  CHECK(rendered + refused == 4000);
  CHECK(rendered > 100);  // the generator does reach the evaluator
}
