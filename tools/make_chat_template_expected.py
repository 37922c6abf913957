#!/usr/bin/env python3
# Renders every chat template of tests/data/templates/collection.json with
# jinja2 in transformers' environment, on a fixed set of chat requests, and
# writes tests/data/templates/collection_expected.json: what urm::ChatTemplate
# must render byte for byte (or the error jinja2 raised).
#
#   /usr/bin/python3 tools/make_chat_template_expected.py   (Debian's python3-jinja2)
#
# The environment is transformers' (utils/chat_template_utils.py,
# _compile_jinja_template): ImmutableSandboxedEnvironment(trim_blocks=True,
# lstrip_blocks=True, extensions=[AssistantTracker, loopcontrols]), the
# filter tojson = json.dumps(x, ensure_ascii=False, indent, separators,
# sort_keys), the globals raise_exception (TemplateError) and strftime_now
# (here at the fixed date 2024-07-26 00:00:00, which the test gives urm as
# RenderOptions::date). Each request renders as apply_chat_template does:
# render(messages=..., tools=... or None, documents=... or None,
# add_generation_prompt=..., **special_tokens, **chat_template_kwargs).
import datetime
import json
import os
import sys

import jinja2
from jinja2 import nodes
from jinja2.exceptions import TemplateError
from jinja2.ext import Extension
from jinja2.sandbox import ImmutableSandboxedEnvironment

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data", "templates")
NOW = datetime.datetime(2024, 7, 26)


class AssistantTracker(Extension):
    # transformers' {% generation %} ... {% endgeneration %}: renders its body.
    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
        return nodes.CallBlock(self.call_method("_render", []), [], [], body).set_lineno(lineno)

    def _render(self, caller):
        return caller()


def raise_exception(message):
    raise TemplateError(message)


def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                    extensions=[AssistantTracker, jinja2.ext.loopcontrols])
env.filters["tojson"] = tojson
env.globals["raise_exception"] = raise_exception
env.globals["strftime_now"] = lambda fmt: NOW.strftime(fmt)


def m(role, content, **fields):
    return {"role": role, "content": content, **fields}


WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "Current weather in a city",
    "parameters": {"type": "object", "properties": {
        "city": {"type": "string", "description": "City name, e.g. Paris"},
        "unit": {"type": "string", "enum": ["c", "f"]}}, "required": ["city"]}}}
CALL_DICT = {"id": "call_1", "type": "function",
             "function": {"name": "get_weather", "arguments": {"city": "Paris", "unit": "c"}}}
CALL_STR = {"id": "call_1", "type": "function",
            "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\", \"unit\": \"c\"}"}}

SEARCH = {"type": "function", "function": {
    "name": "search_web", "description": "Search the web.",
    "parameters": {"type": "object", "properties": {
        "queries": {"type": "array", "items": {"type": "string"}, "description": "Queries to run"},
        "max_results": {"type": "integer", "description": "How many results", "default": 5, "minimum": 1},
        "safe": {"type": "boolean", "description": "Safe search"},
        "region": {"type": ["string", "null"], "description": "Region code", "enum": ["eu", "us", None]},
        "filters": {"type": "object", "description": "Filters", "properties": {
            "site": {"type": "string", "description": "Only this site"}},
            "additionalProperties": {"type": "string"}}},
        "required": ["queries"]}}}
# Two parallel calls with 9-character ids (Mistral's templates insist on them).
CALLS_2 = [{"id": "a1b2c3d4e", "type": "function",
            "function": {"name": "search_web", "arguments": {"queries": ["cats", "dogs"], "max_results": 3}}},
           {"id": "f5g6h7i8j", "type": "function",
            "function": {"name": "get_weather", "arguments": {"city": "Paris"}}}]
CALL_9_STR = {"id": "k9l8m7n6o", "type": "function",
              "function": {"name": "get_weather", "arguments": "{\"city\": \"Oslo\"}"}}

# The chat requests (the JSON a urm-score line holds); each renders with and
# without the generation prompt.
REQUESTS = [
    {"messages": [m("user", "What is 2+2?"), m("assistant", "4")]},
    {"messages": [m("system", "You are a helpful assistant."), m("user", "What is 2+2?"), m("assistant", "4")]},
    {"messages": [m("system", "  Be terse. \n"), m("user", "Hi!"), m("assistant", " Hello. "), m("user", "Bye.\n\n"),
                  m("assistant", "Goodbye!")]},
    {"messages": [m("user", "Only a question?")]},
    {"messages": [m("user", "Ünïcödé and \"quotes\" \\ tab\t"), m("assistant", "  \u3000spaces\u00a0 ")]},
    {"messages": [m("user", "Weather in Paris?"), m("assistant", "", tool_calls=[CALL_DICT]),
                  m("tool", "{\"temp\": 21}", tool_call_id="call_1", name="get_weather"),
                  m("assistant", "21 °C.")], "tools": [WEATHER]},
    {"messages": [m("system", "Use tools."), m("user", "Weather in Paris?"), m("assistant", "", tool_calls=[CALL_STR]),
                  m("tool", "sunny", tool_call_id="call_1")], "tools": [WEATHER]},
    {"messages": [m("user", "Weather?")], "tools": [WEATHER]},
    {"messages": [m("user", "Think: 3*7?"), m("assistant", "21", reasoning_content="3*7 is 21.")]},
    {"messages": [m("user", "Think: 3*7?"), m("assistant", "<think>\n3*7 is 21.\n</think>\n\n21"),
                  m("user", "And 3*8?"), m("assistant", "<think>3*8 = 24</think>24")]},
    {"messages": [m("user", "Hi"), m("assistant", "Hello")], "chat_template_kwargs": {"enable_thinking": False}},
    {"messages": [m("user", "Summarize the document."), m("assistant", "It is about cats.")],
     "documents": [{"title": "Cats", "text": "Cats are small felines."}]},
    {"messages": [m("system", "You may search."), m("user", "Cats and weather?"),
                  m("assistant", None, tool_calls=CALLS_2),
                  m("tool", "[\"a\", \"b\"]", tool_call_id="a1b2c3d4e", name="search_web"),
                  m("tool", "{\"temp\": 3}", tool_call_id="f5g6h7i8j", name="get_weather"),
                  m("assistant", "Cats are nice; it is 3 °C.")], "tools": [SEARCH, WEATHER]},
    {"messages": [m("user", "Weather in Oslo?"), m("assistant", "", tool_calls=[CALL_9_STR]),
                  m("tool", "cold", tool_call_id="k9l8m7n6o"), m("assistant", "Cold.")], "tools": [WEATHER]},
    {"messages": [m("user", [{"type": "text", "text": "Parts: "}, {"type": "text", "text": "hello"}]),
                  m("assistant", "Hi.")]},
    {"messages": [m("user", "Think hard."), m("assistant", "Done.", reasoning_content="Hmm.")],
     "chat_template_kwargs": {"enable_thinking": True, "date_string": "01 Jan 2025"}},
    {"messages": [m("user", "Plan?"), m("assistant", "Calling.", reasoning_content="Need data.", tool_calls=[CALL_DICT]),
                  m("tool", "{\"temp\": 21}", tool_call_id="call_1")], "tools": [WEATHER]},
    {"messages": []},
    {"messages": [m("user", "What do the documents say?")],
     "documents": [{"doc_id": 7, "title": "Dogs", "text": "Dogs bark.", "snippet": "Dogs bark."},
                   {"doc_id": 8, "title": "Birds", "text": "Birds sing.", "snippet": "Birds sing."}]},
    {"messages": [m("user", "A"), m("user", "B"), m("assistant", "C")]},
    # Argument values of every JSON type (tojson, |string and repr print them).
    {"messages": [m("system", "Book things."), m("user", "Book it", name="alice"),
                  m("assistant", None, tool_calls=[{"id": "p0q1r2s3t", "type": "function", "function": {
                      "name": "book", "arguments": {"price": 21.5, "ok": True, "note": None, "tags": ["a", "ü"],
                                                    "n": 10 ** 12, "ratio": 1e-07, "nested": {"k": [1, 2.0]}}}}]),
                  m("tool", "Booked: \"ü\" \\ ok", tool_call_id="p0q1r2s3t", name="book"),
                  m("assistant", "Booked.")], "tools": [WEATHER]},
]


def render(source, tokens, request, add_generation_prompt):
    try:
        text = env.from_string(source).render(
            messages=request["messages"], tools=request.get("tools"), documents=request.get("documents"),
            add_generation_prompt=add_generation_prompt, **tokens, **request.get("chat_template_kwargs", {}))
        return {"text": text}
    except Exception as e:  # noqa: BLE001 - the error is the expected result
        return {"error": f"{type(e).__name__}: {e}"}


def main():
    with open(os.path.join(HERE, "collection.json"), encoding="utf-8") as f:
        collection = json.load(f)
    out = {"generator": "jinja2 " + jinja2.__version__ + " (tools/make_chat_template_expected.py)",
           "date": NOW.strftime("%Y-%m-%d"), "requests": REQUESTS, "templates": {}}
    for name, entry in collection["templates"].items():
        with open(os.path.join(HERE, entry["file"]), encoding="utf-8", newline="") as f:
            source = f.read()
        cases = []
        for i, request in enumerate(REQUESTS):
            for agp in (False, True):
                cases.append({"request": i, "add_generation_prompt": agp,
                              **render(source, entry["special_tokens"], request, agp)})
        out["templates"][name] = {"cases": cases}
    with open(os.path.join(HERE, "collection_expected.json"), "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, indent=1)
        f.write("\n")
    rendered = sum(1 for t in out["templates"].values() for c in t["cases"] if "text" in c)
    print(f"{len(out['templates'])} templates, {rendered} renderings", file=sys.stderr)


if __name__ == "__main__":
    main()
