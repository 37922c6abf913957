#!/usr/bin/env python3
# Generates expected.json: what transformers' apply_chat_template(messages,
# tokenize=False, add_generation_prompt=...) renders for each template here
# on a set of conversations. Run with jinja2 3.1.x (3.1.6 was used):
#   python3 make_expected.py > expected.json
# The environment is the one transformers compiles chat templates in
# (transformers/utils/chat_template_utils.py): ImmutableSandboxedEnvironment
# with trim_blocks=True, lstrip_blocks=True, the extension
# jinja2.ext.loopcontrols, a `tojson` filter = json.dumps(x,
# ensure_ascii=False, indent=..., separators=..., sort_keys=...) and the
# global raise_exception(message) raising TemplateError. It renders with
# messages, tools=None, documents=None, add_generation_prompt and the
# special tokens of the model. A raised exception is recorded as "error".
import json
from jinja2.exceptions import TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment


def raise_exception(message):
    raise TemplateError(message)


def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.loopcontrols"])
env.filters["tojson"] = tojson
env.globals["raise_exception"] = raise_exception

TOKENS = {
    "llama-3.1-instruct": {"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>"},
    "gemma-it": {"bos_token": "<bos>", "eos_token": "<eos>", "pad_token": "<pad>", "unk_token": "<unk>"},
    "mistral-instruct": {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>"},
    "mistral-instruct-v0.1-system": {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>"},
}


def m(role, content):
    return {"role": role, "content": content}


CONVERSATIONS = [
    [m("system", "You are a helpful assistant."), m("user", "What is 2+2?"), m("assistant", "4")],
    [m("user", "What is 2+2?"), m("assistant", "4")],
    [m("system", "  Be terse. \n"), m("user", "Hi!"), m("assistant", " Hello. "), m("user", "Bye.\n\n"),
     m("assistant", "Goodbye!")],
    [m("user", "Only a question?")],
    [m("system", "Only a system message.")],
    [m("user", "Ünïcödé 😀 and \"quotes\" and \\ backslash\ttab"), m("assistant", "  \u3000spaces\u00a0 ")],
    [m("user", "a"), m("user", "b")],
    [m("assistant", "I speak first."), m("user", "ok")],
    [m("user", "q"), m("tool", "{\"result\": 1}")],
    [],
]


def render(source, tokens, messages, add_generation_prompt):
    try:
        text = env.from_string(source).render(messages=messages, tools=None, documents=None,
                                              add_generation_prompt=add_generation_prompt, **tokens)
        return {"text": text}
    except Exception as e:  # noqa: BLE001 - the message is the expected result
        return {"error": f"{type(e).__name__}: {e}"}


out = {"generator": "jinja2 " + __import__("jinja2").__version__, "templates": {}}
for name, tokens in TOKENS.items():
    with open(f"{name}.jinja", encoding="utf-8", newline="") as f:
        source = f.read()
    cases = []
    for messages in CONVERSATIONS:
        for agp in (False, True):
            cases.append({"messages": messages, "add_generation_prompt": agp, **render(source, tokens, messages, agp)})
    out["templates"][name] = {"special_tokens": tokens, "cases": cases}
# The Llama-3.1 template's tool paths, which apply_chat_template reaches
# through tools=[...] and template kwargs (builtin_tools, custom_tools,
# date_string, tools_in_user_message); messages carry tool_calls and
# structured tool results. Each case lists every variable it renders with.
WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "Current weather in a city",
    "parameters": {"type": "object", "properties": {
        "city": {"type": "string", "description": "City name, e.g. Paris"},
        "unit": {"type": "string", "enum": ["c", "f"]}}, "required": ["city"]}}}
CALL = {"role": "assistant", "content": "", "tool_calls": [
    {"type": "function", "function": {"name": "get_weather", "arguments": {"city": "Paris", "unit": "c"}}}]}
SEARCH = {"role": "assistant", "content": "", "tool_calls": [
    {"type": "function", "function": {"name": "brave_search", "arguments": {"query": "weather Paris"}}}]}
TOOL_CASES = [
    {"messages": [m("system", "Use tools."), m("user", "Weather in Paris?")], "tools": [WEATHER]},
    {"messages": [m("user", "Weather in Paris?"), CALL, {"role": "tool", "content": {"temp": 21, "sky": "clear"}},
                  m("assistant", "21 °C and clear.")], "tools": [WEATHER], "tools_in_user_message": False,
     "date_string": "01 Jan 2025"},
    {"messages": [m("system", "S"), m("user", "Search it"), SEARCH, {"role": "ipython", "content": "sunny"}],
     "builtin_tools": ["brave_search", "code_interpreter", "wolfram_alpha"]},
    {"messages": [m("user", "Hi"), CALL], "custom_tools": [WEATHER]},
    {"messages": [m("system", "only system")], "tools": [WEATHER]},
    {"messages": [m("user", "two calls"), {"role": "assistant", "content": "",
                                          "tool_calls": CALL["tool_calls"] * 2}]},
]
with open("llama-3.1-instruct.jinja", encoding="utf-8", newline="") as f:
    llama31 = f.read()
cases = []
for case in TOOL_CASES:
    for agp in (False, True):
        variables = {"tools": None, "documents": None, **TOKENS["llama-3.1-instruct"], **case,
                     "add_generation_prompt": agp}
        try:
            result = {"text": env.from_string(llama31).render(**variables)}
        except Exception as e:  # noqa: BLE001
            result = {"error": f"{type(e).__name__}: {e}"}
        cases.append({"variables": variables, **result})
out["llama-3.1-instruct-tools"] = cases
print(json.dumps(out, ensure_ascii=False, indent=1))
