// ChatTemplate and TokenizerConfig: conformance with transformers'
// apply_chat_template on the chat_golden fixture, tokenizer_config.json
// parsing, and the templates of other real reward models.
#include <doctest/doctest.h>

#include <string>

#include "support/chat_golden.hpp"
#include "urm/text/chat_template.hpp"
#include "urm/text/conversation_json.hpp"
#include "urm/text/tokenizer_config.hpp"

using urm::ChatTemplate;
using urm::Conversation;
using urm::SpecialTokens;
using urm::TokenizerConfig;

namespace {

const std::string kTokenizerDir = URM_TEST_DATA_DIR "/tokenizer/";

}  // namespace

TEST_CASE("chat template: identical to apply_chat_template on every chat_golden conversation") {
  for (const std::string variant : {"llama3-base", "llama3-rm"}) {
    CAPTURE(variant);
    const auto config = TokenizerConfig::load(kTokenizerDir + "tokenizer_config." + variant + ".json");
    CHECK(config.chat_template().source == urm::test::chat_golden_json().at("template").get<std::string>());
    const auto chat = ChatTemplate::from_config(config);
    const auto cases = urm::test::chat_golden_cases(variant);
    REQUIRE(cases.size() == 25);
    int identical = 0;
    for (std::size_t i = 0; i < cases.size(); ++i) {
      CAPTURE(i);
      const std::string text = chat.render(cases[i].messages, false, config.special_tokens);
      const std::string prompt = chat.render(cases[i].messages, true, config.special_tokens);
      CHECK(text == cases[i].text);
      CHECK(prompt == cases[i].text_generation_prompt);
      identical += text == cases[i].text && prompt == cases[i].text_generation_prompt;
    }
    CHECK(identical == 25);
  }
}

TEST_CASE("tokenizer config: special tokens as strings, AddedToken objects or null") {
  const auto rm = TokenizerConfig::load(kTokenizerDir + "tokenizer_config.llama3-rm.json");
  CHECK(rm.special_tokens.bos_token == "<|begin_of_text|>");
  CHECK(rm.special_tokens.eos_token == "<|end_of_text|>");
  CHECK(rm.special_tokens.pad_token == "[PAD]");
  CHECK_FALSE(rm.special_tokens.unk_token.has_value());
  const auto base = TokenizerConfig::load(kTokenizerDir + "tokenizer_config.llama3-base.json");
  CHECK_FALSE(base.special_tokens.pad_token.has_value());

  const auto c = TokenizerConfig::parse(R"({
    "bos_token": {"__type": "AddedToken", "content": "<s>", "lstrip": false, "normalized": false},
    "eos_token": "</s>", "pad_token": null, "unk_token": {"content": "<unk>"}})");
  CHECK(c.special_tokens.bos_token == "<s>");
  CHECK(c.special_tokens.eos_token == "</s>");
  CHECK_FALSE(c.special_tokens.pad_token.has_value());
  CHECK(c.special_tokens.unk_token == "<unk>");
  CHECK(c.chat_templates.empty());
}

TEST_CASE("tokenizer config: a list of named chat templates") {
  const auto c = TokenizerConfig::parse(R"({"chat_template": [
    {"name": "default", "template": "D{{ bos_token }}"},
    {"name": "tool_use", "template": "T"},
    {"name": "rag", "template": "old"},
    {"name": "rag", "template": "R"}]})",
                                        "cfg.json");
  CHECK(c.chat_template_is_list);
  CHECK(c.chat_templates.size() == 3);
  CHECK(c.chat_template().source == "D{{ bos_token }}");
  CHECK(c.chat_template("tool_use").source == "T");
  CHECK(c.chat_template("rag").source == "R");  // transformers' dict keeps the last one
  CHECK_THROWS_WITH_AS(c.chat_template("chat"), "cfg.json: no chat template named 'chat' (available: 'default', 'tool_use', 'rag')", urm::Error);
  CHECK(ChatTemplate::from_config(c).render({}, false, {.bos_token = "<s>"}) == "D<s>");
  CHECK(ChatTemplate::from_config(c, "tool_use").render({}, false, {}) == "T");

  const auto no_default = TokenizerConfig::parse(R"({"chat_template": [{"name": "a", "template": "A"}]})", "cfg.json");
  CHECK_THROWS_WITH_AS(no_default.chat_template(),
                       "cfg.json: chat_template lists several templates and none is named 'default'; choose one by name ('a')",
                       urm::Error);
  const auto single = TokenizerConfig::parse(R"({"chat_template": "S"})", "cfg.json");
  CHECK(single.chat_template("default").source == "S");
  CHECK_THROWS_WITH_AS(single.chat_template("x"), "cfg.json: no chat template named 'x' (available: 'default')", urm::Error);
  CHECK_THROWS_WITH_AS(TokenizerConfig::parse("{}", "cfg.json").chat_template(), "cfg.json: no chat_template", urm::Error);
}

TEST_CASE("tokenizer config: bad JSON and bad types name the file and JSON path") {
  auto parse = [](const char* json) { return TokenizerConfig::parse(json, "cfg.json"); };
  CHECK_THROWS_WITH_AS(parse("[]"), "cfg.json: expected a JSON object at the top level, got array", urm::Error);
  CHECK_THROWS_WITH_AS(parse(R"({"chat_template": 3})"),
                       "cfg.json: chat_template: expected a string or a list of {\"name\", \"template\"} objects, got number", urm::Error);
  CHECK_THROWS_WITH_AS(parse(R"({"chat_template": ["x"]})"),
                       "cfg.json: chat_template[0]: expected an object {\"name\": ..., \"template\": ...}, got string", urm::Error);
  CHECK_THROWS_WITH_AS(parse(R"({"chat_template": [{"name": "a", "template": "A"}, {"template": "B"}]})"),
                       "cfg.json: chat_template[1]: missing \"name\"", urm::Error);
  CHECK_THROWS_WITH_AS(parse(R"({"chat_template": [{"name": "a", "template": 1}]})"),
                       "cfg.json: chat_template[0].template: expected a string, got number", urm::Error);
  CHECK_THROWS_WITH_AS(parse(R"({"bos_token": true})"),
                       "cfg.json: bos_token: expected a string, null or an AddedToken object {\"content\": ...}, got boolean", urm::Error);
  CHECK_THROWS_WITH_AS(parse(R"({"eos_token": {"content": 5}})"), "cfg.json: eos_token.content: expected a string, got number", urm::Error);
  CHECK_THROWS_WITH_AS(parse(R"({"pad_token": {}})"), "cfg.json: pad_token: missing \"content\"", urm::Error);
  CHECK_THROWS_AS(parse(R"({"bos_token": )"), urm::Error);
  CHECK_THROWS_WITH_AS(TokenizerConfig::load("/nonexistent/tokenizer_config.json"), "/nonexistent/tokenizer_config.json: cannot open: No such file or directory", urm::Error);
}

TEST_CASE("chat template: variables, raise_exception and input checks") {
  const SpecialTokens tokens{.bos_token = "<s>", .eos_token = "</s>", .pad_token = std::nullopt, .unk_token = std::nullopt};
  // transformers passes tools and documents as None, and leaves unset special tokens undefined.
  CHECK(ChatTemplate("{{ tools }}|{{ documents }}|{{ pad_token }}|{{ add_generation_prompt }}|{{ messages | length }}")
            .render({{"user", "x"}}, true, tokens) == "None|None||True|1");
  const ChatTemplate alternate(
      "{% for m in messages %}{% if loop.first and m.role != 'user' %}{{ raise_exception('first message must be from the user') }}{% endif %}{{ m.content }}{% endfor %}");
  CHECK(alternate.render({{"user", "a"}, {"assistant", "b"}}, false, tokens) == "ab");
  CHECK_THROWS_WITH_AS(alternate.render({{"assistant", "b"}}, false, tokens),
                       "chat template 1:67: raise_exception: first message must be from the user", urm::Error);
  CHECK_THROWS_WITH_AS(alternate.render({{"user", "a"}, {"assistant", "b\xc3"}}, false, tokens),
                       "messages[1].content: not valid UTF-8 (byte 1)", urm::Error);
  CHECK_THROWS_WITH_AS(ChatTemplate("{{ x | groupby('a') }}"),
                       "chat template 1:8: the filter 'groupby' is outside the Jinja subset urm.cpp implements", urm::Error);
  const auto config = TokenizerConfig::parse(R"({"chat_template": "{% if %}"})", "dir/tokenizer_config.json");
  CHECK_THROWS_WITH_AS(ChatTemplate::from_config(config),
                       "dir/tokenizer_config.json: chat_template 1:7: expected an expression, got '%}'", urm::Error);
}

namespace {

// Templates of real chat and reward models, as published in their
// tokenizer_config.json (chat_template).
// Zephyr (HuggingFaceH4/zephyr-7b-beta; TRL's reward/PPO examples' default).
const char* const zephyr = "{% for message in messages %}\n{% if message['role'] == 'user' %}\n{{ '<|user|>\n' + message['content'] + eos_token }}\n{% elif message['role'] == 'system' %}\n{{ '<|system|>\n' + message['content'] + eos_token }}\n{% elif message['role'] == 'assistant' %}\n{{ '<|assistant|>\n'  + message['content'] + eos_token }}\n{% endif %}\n{% if loop.last and add_generation_prompt %}\n{{ '<|assistant|>' }}\n{% endif %}\n{% endfor %}";
// ChatML with BOS (internlm/internlm2-7b-reward).
const char* const chatml_bos = "{{ bos_token }}{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";
// Qwen2-Instruct.
const char* const qwen2 = "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";
// Gemma / Gemma-2 (Skywork-Reward-Gemma-2-27B).
const char* const gemma = "{{ bos_token }}{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if (message['role'] == 'assistant') %}{% set role = 'model' %}{% else %}{% set role = message['role'] %}{% endif %}{{ '<start_of_turn>' + role + '\n' + message['content'] | trim + '<end_of_turn>\n' }}{% endfor %}{% if add_generation_prompt %}{{'<start_of_turn>model\n'}}{% endif %}";
const char* const gemma_without_alternation_check = "{{ bos_token }}{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}{% for message in messages %}{% if (message['role'] == 'assistant') %}{% set role = 'model' %}{% else %}{% set role = message['role'] %}{% endif %}{{ '<start_of_turn>' + role + '\n' + message['content'] | trim + '<end_of_turn>\n' }}{% endfor %}{% if add_generation_prompt %}{{'<start_of_turn>model\n'}}{% endif %}";
// Mistral-7B-Instruct / Mixtral-8x7B-Instruct (Ray2333/reward-model-Mistral-7B-instruct-Unified-Feedback).
const char* const mistral = "{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token}}{% else %}{{ raise_exception('Only user and assistant roles are supported!') }}{% endif %}{% endfor %}";
// The start of Llama-3.1-Instruct's (Skywork-Reward-Llama-3.1-8B, URM-LLaMa-3.1-8B);
// the parser stops at its first construct outside the subset.
const char* const llama31_start = "{{- bos_token }}\n{%- if custom_tools is defined %}\n    {%- set tools = custom_tools %}\n{%- endif %}\n{%- if not tools_in_user_message is defined %}\n    {%- set tools_in_user_message = true %}\n{%- endif %}\n{%- if not date_string is defined %}\n    {%- set date_string = \"26 Jul 2024\" %}\n{%- endif %}\n";

}  // namespace

// Expected strings from jinja2 3.1.6 in transformers' environment.
TEST_CASE("chat template: templates of other models within the subset render as jinja2 does") {
  const SpecialTokens tokens{.bos_token = "<s>", .eos_token = "</s>", .pad_token = std::nullopt, .unk_token = std::nullopt};
  const Conversation sys{{"system", "You are terse."}, {"user", "Hi!"}, {"assistant", " Hello. "}};
  const Conversation nosys{{"user", "2+2?"}, {"assistant", "4"}};
  CHECK(ChatTemplate(zephyr).render(sys, false, tokens) == "<|system|>\nYou are terse.</s>\n<|user|>\nHi!</s>\n<|assistant|>\n Hello. </s>\n");
  CHECK(ChatTemplate(zephyr).render(sys, true, tokens) == "<|system|>\nYou are terse.</s>\n<|user|>\nHi!</s>\n<|assistant|>\n Hello. </s>\n<|assistant|>\n");
  CHECK(ChatTemplate(zephyr).render(nosys, false, tokens) == "<|user|>\n2+2\?</s>\n<|assistant|>\n4</s>\n");
  CHECK(ChatTemplate(zephyr).render(nosys, true, tokens) == "<|user|>\n2+2\?</s>\n<|assistant|>\n4</s>\n<|assistant|>\n");
  CHECK(ChatTemplate(chatml_bos).render(sys, false, tokens) == "<s><|im_start|>system\nYou are terse.<|im_end|>\n<|im_start|>user\nHi!<|im_end|>\n<|im_start|>assistant\n Hello. <|im_end|>\n");
  CHECK(ChatTemplate(chatml_bos).render(sys, true, tokens) == "<s><|im_start|>system\nYou are terse.<|im_end|>\n<|im_start|>user\nHi!<|im_end|>\n<|im_start|>assistant\n Hello. <|im_end|>\n<|im_start|>assistant\n");
  CHECK(ChatTemplate(chatml_bos).render(nosys, false, tokens) == "<s><|im_start|>user\n2+2\?<|im_end|>\n<|im_start|>assistant\n4<|im_end|>\n");
  CHECK(ChatTemplate(chatml_bos).render(nosys, true, tokens) == "<s><|im_start|>user\n2+2\?<|im_end|>\n<|im_start|>assistant\n4<|im_end|>\n<|im_start|>assistant\n");
  CHECK(ChatTemplate(qwen2).render(sys, false, tokens) == "<|im_start|>system\nYou are terse.<|im_end|>\n<|im_start|>user\nHi!<|im_end|>\n<|im_start|>assistant\n Hello. <|im_end|>\n");
  CHECK(ChatTemplate(qwen2).render(sys, true, tokens) == "<|im_start|>system\nYou are terse.<|im_end|>\n<|im_start|>user\nHi!<|im_end|>\n<|im_start|>assistant\n Hello. <|im_end|>\n<|im_start|>assistant\n");
  CHECK(ChatTemplate(qwen2).render(nosys, false, tokens) == "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n2+2\?<|im_end|>\n<|im_start|>assistant\n4<|im_end|>\n");
  CHECK(ChatTemplate(qwen2).render(nosys, true, tokens) == "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n2+2\?<|im_end|>\n<|im_start|>assistant\n4<|im_end|>\n<|im_start|>assistant\n");

  const SpecialTokens gemma_tokens{.bos_token = "<bos>", .eos_token = "<eos>", .pad_token = std::nullopt, .unk_token = std::nullopt};
  const Conversation chat{{"user", "Hi!"}, {"assistant", " Hello. "}};
  const ChatTemplate g(gemma_without_alternation_check);
  CHECK(g.render(chat, false, gemma_tokens) == "<bos><start_of_turn>user\nHi!<end_of_turn>\n<start_of_turn>model\nHello.<end_of_turn>\n");
  CHECK(g.render(chat, true, gemma_tokens) == "<bos><start_of_turn>user\nHi!<end_of_turn>\n<start_of_turn>model\nHello.<end_of_turn>\n<start_of_turn>model\n");
  CHECK_THROWS_WITH_AS(g.render(sys, false, gemma_tokens), "chat template 1:59: raise_exception: System role not supported", urm::Error);
}

TEST_CASE("chat template: templates of other models that use '%' and 'is defined' now render") {
  const SpecialTokens tokens{.bos_token = "<s>", .eos_token = "</s>", .pad_token = std::nullopt, .unk_token = std::nullopt};
  const Conversation chat{{"user", "Hi!"}, {"assistant", " Hello. "}};
  CHECK(ChatTemplate{gemma}.render(chat, true, tokens) == "<s><start_of_turn>user\nHi!<end_of_turn>\n<start_of_turn>model\nHello.<end_of_turn>\n<start_of_turn>model\n");
  CHECK(ChatTemplate{mistral}.render(chat, false, tokens) == "<s>[INST] Hi! [/INST] Hello. </s>");
  CHECK_THROWS_WITH_AS(ChatTemplate{mistral}.render({{"assistant", "x"}}, false, tokens),
                       "chat template 1:110: raise_exception: Conversation roles must alternate user/assistant/user/assistant/...", urm::Error);
  CHECK(ChatTemplate{llama31_start}.render(chat, false, tokens) == "<s>");
  // Llama-3.2's variant asks for the date with strftime_now (chat_template_inputs tests the date).
  CHECK(ChatTemplate{"{%- if strftime_now is defined %}{{ strftime_now('%d %b %Y') | length }}{% endif %}"}.render(chat, false, tokens) == "11");
}

// Template inputs beyond role and content (issue 11): message fields, tools,
// documents and extra variables, from a Conversation or from JSON.
TEST_CASE("chat template: message fields, tools, documents and variables reach the template") {
  const urm::Conversation c = urm::conversation_from_json(std::string(R"({
    "messages": [{"role": "user", "content": "Weather?", "name": "ann"},
                 {"role": "assistant", "content": null, "reasoning_content": "think",
                  "tool_calls": [{"type": "function", "function": {"name": "w", "arguments": {"city": "Paris"}}}]},
                 {"role": "tool", "content": [{"type": "text", "text": "sunny"}]}],
    "tools": [{"type": "function", "function": {"name": "w"}}],
    "documents": [{"title": "d"}],
    "chat_template_kwargs": {"enable_thinking": false, "date_string": "1 Jan 2025"}})"));
  REQUIRE(c.size() == 3);
  CHECK(c[0].fields == nlohmann::ordered_json{{"name", "ann"}});
  CHECK(c[1].fields.at("content").is_null());
  const ChatTemplate t(
      "{% for m in messages %}{{ m.role }}|{{ m.name }}|{{ m.content is none }}|{{ m.content is string }}|"
      "{{ m.reasoning_content }}|{% for tc in m.tool_calls %}{{ tc.function.name }}{{ tc.function.arguments | tojson }}{% endfor %};"
      "{% endfor %}{{ tools[0].function.name }}{{ documents[0].title }}{{ enable_thinking }}{{ date_string }}");
  CHECK(t.render(c, false, {}) ==
        "user|ann|False|True||;assistant||True|False|think|w{\"city\": \"Paris\"};tool||False|False||;wdFalse1 Jan 2025");
  // A field the template does not read changes nothing.
  urm::Conversation plain{{"user", "Weather?"}};
  urm::Conversation extra = plain;
  extra[0].fields["unused"] = 1;
  const ChatTemplate simple("{% for m in messages %}{{ m.role }}: {{ m.content }}{% endfor %}");
  CHECK(simple.render(plain, false, {}) == simple.render(extra, false, {}));
  CHECK(ChatTemplate("{{ tools }}|{{ documents }}").render(plain, false, {}) == "None|None");
}

TEST_CASE("chat template: bad JSON requests and variables name the JSON path") {
  auto parse = [](const char* json) { return urm::conversation_from_json(std::string(json)); };
  CHECK_THROWS_WITH_AS(parse("[]"), "expected a JSON object with \"messages\", got array", urm::Error);
  CHECK_THROWS_WITH_AS(parse(R"({"messages": [{"content": "x"}]})"), "messages[0].role: expected a string, missing", urm::Error);
  CHECK_THROWS_WITH_AS(parse(R"({"messages": [{"role": "user"}]})"),
                       "messages[0].content: missing (a string, null or a list of parts)", urm::Error);
  CHECK_THROWS_WITH_AS(parse(R"({"messages": [{"role": "user", "content": 5}]})"),
                       "messages[0].content: expected a string, null or a list of parts, got 5", urm::Error);
  CHECK_THROWS_WITH_AS(parse(R"({"messages": [], "tools": {}})"), "tools: expected an array of tool definitions or null, got object", urm::Error);
  CHECK_THROWS_WITH_AS(parse(R"({"messages": [], "documents": 1})"), "documents: expected an array of documents or null, got number", urm::Error);
  CHECK_THROWS_WITH_AS(parse(R"({"messages": [], "chat_template_kwargs": []})"), "chat_template_kwargs: expected an object, got array", urm::Error);
  CHECK_THROWS_WITH_AS(parse(R"({"messages": [], "chat_template_kwargs": {"messages": 1}})"),
                       "chat_template_kwargs.messages: set by the request itself, not a template variable", urm::Error);
  CHECK_THROWS_WITH_AS(parse(R"({"messages": )"), doctest::Contains("invalid JSON: "), urm::Error);
  urm::Conversation c{{"user", "x"}};
  c.variables["tools"] = 1;
  CHECK_THROWS_WITH_AS(ChatTemplate("x").render(c, false, {}),
                       "chat template variables: \"tools\" is set by the conversation itself, not a template variable", urm::Error);
  urm::Conversation big{{"user", "x"}};
  big[0].fields["n"] = std::uint64_t{1} << 63;
  CHECK_THROWS_WITH_AS(ChatTemplate("x").render(big, false, {}), "messages[0].n: integer 9223372036854775808 does not fit in 64 bits",
                       urm::Error);
  CHECK_THROWS_WITH_AS(ChatTemplate("x").render(c, false, {}, {.date = "26.07.2024"}),
                       "date: expected a date YYYY-MM-DD, got \"26.07.2024\"", urm::Error);
}
