// parse_score_input: the input line of urm-score, read as events. Exact
// errors for every way a line can be wrong, no message that grows with the
// input, and no depth or size of line that can crash it.
#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "urm/serve/score_input.hpp"

using urm::parse_score_input;

namespace {

// The error parse_score_input gives for `line` ("" if it accepts it).
std::string error_of(const std::string& line) {
  try {
    parse_score_input(line);
  } catch (const urm::Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("parse_score_input reads ids and conversations, ignoring other keys") {
  auto in = parse_score_input(R"({"input_ids": [128000, 0, -1, 2147483647, -2147483648], "id": {"x": [1]}})");
  CHECK_FALSE(in.conversation);
  CHECK(in.ids == std::vector<std::int32_t>{128000, 0, -1, 2147483647, -2147483648});

  in = parse_score_input(
      R"({"meta": [[]], "messages": [{"role": "user", "name": 5, "content": "hi \u00e9\n"}, {"content": "", "role": "assistant"}]})");
  REQUIRE(in.conversation);
  REQUIRE(in.conversation->size() == 2);
  CHECK((*in.conversation)[0].role == "user");
  CHECK((*in.conversation)[0].content == "hi \xc3\xa9\n");
  CHECK((*in.conversation)[1].role == "assistant");
  CHECK((*in.conversation)[1].content.empty());
  CHECK(parse_score_input(R"({"messages": []})").conversation->empty());
  CHECK(parse_score_input(" \t{\"input_ids\": []}\r").ids.empty());
  // A message field other than role and content is kept, for the template.
  CHECK((*in.conversation)[0].fields == nlohmann::ordered_json{{"name", 5}});
}

TEST_CASE("parse_score_input: a text, and what chat templates read besides role and content") {
  auto in = parse_score_input(R"({"text": "<|begin_of_text|>hi", "x": 1})");
  CHECK(in.text == "<|begin_of_text|>hi");
  CHECK_FALSE(in.conversation);
  CHECK(in.ids.empty());

  in = parse_score_input(
      R"({"messages": [{"role": "user", "content": "weather?"},)"
      R"( {"role": "assistant", "content": null, "tool_calls": [{"type": "function", "function": {"name": "f", "arguments": {"a": 1}}}]},)"
      R"( {"role": "tool", "content": [{"type": "text", "text": "sunny"}], "name": "f"}],)"
      R"( "tools": [{"type": "function", "function": {"name": "f"}}], "documents": null,)"
      R"( "chat_template_kwargs": {"enable_thinking": false}})");
  REQUIRE(in.conversation);
  const urm::Conversation& c = *in.conversation;
  REQUIRE(c.size() == 3);
  CHECK(c[0].fields.empty());
  CHECK(c[1].content.empty());
  CHECK(c[1].fields.at("content").is_null());
  CHECK(c[1].fields.at("tool_calls")[0]["function"]["arguments"]["a"] == 1);
  CHECK(c[2].fields.at("content")[0]["text"] == "sunny");
  CHECK(c[2].fields.at("name") == "f");
  CHECK(c.tools[0]["function"]["name"] == "f");
  CHECK(c.documents.is_null());
  CHECK(c.variables.at("enable_thinking") == false);

  CHECK(error_of(R"({"messages": [], "tools": 5})") == "tools: expected an array of tool definitions or null, got number");
  CHECK(error_of(R"({"messages": [], "chat_template_kwargs": {"messages": 1}})") ==
        "chat_template_kwargs.messages: set by the request itself, not a template variable");
  // Nesting past the limit in a field the template reads: an error, not a crash.
  CHECK(error_of(R"({"messages": [], "tools": )" + std::string(200, '[') + std::string(200, ']') + "}") ==
        "invalid JSON: containers nest deeper than 128 levels");
}

TEST_CASE("parse_score_input: exact errors, the first one of the line in reading order") {
  CHECK(error_of("not json").rfind(
            "invalid JSON: [json.exception.parse_error.101] parse error at line 1, column 2: syntax error while parsing "
            "value - invalid literal; last read: 'no'",
            0) == 0);
  CHECK(error_of(R"({"input_ids": [1e999]})") ==
        "invalid JSON: [json.exception.out_of_range.406] number overflow parsing '1e999'");
  CHECK(error_of(R"([1, 2])") == "expected a JSON object with one of \"messages\", \"input_ids\" or \"text\"");
  CHECK(error_of(R"("hi")") == "expected a JSON object with one of \"messages\", \"input_ids\" or \"text\"");
  CHECK(error_of(R"({"messages": [], "input_ids": [1]})") ==
        "expected a JSON object with one of \"messages\", \"input_ids\" or \"text\"");
  CHECK(error_of(R"({"input_ids": [1.5], "messages": 5})") ==
        "expected a JSON object with one of \"messages\", \"input_ids\" or \"text\"");
  CHECK(error_of(R"({"input_ids": [1], "input_ids": [2]})") == "duplicate key \"input_ids\"");
  CHECK(error_of(R"({"input_ids": null})") == "input_ids: expected an array of token ids, got null");
  CHECK(error_of(R"({"input_ids": {"a": 1}})") == "input_ids: expected an array of token ids, got an object");
  CHECK(error_of(R"({"input_ids": [1, 1.5, "x"]})") == "input_ids[1]: expected a 32-bit integer, got 1.5");
  CHECK(error_of(R"({"input_ids": [4294967296]})") == "input_ids[0]: expected a 32-bit integer, got 4294967296");
  CHECK(error_of(R"({"input_ids": [2147483648]})") == "input_ids[0]: expected a 32-bit integer, got 2147483648");
  CHECK(error_of(R"({"input_ids": [-2147483649]})") == "input_ids[0]: expected a 32-bit integer, got -2147483649");
  CHECK(error_of(R"({"input_ids": [0, [1]]})") == "input_ids[1]: expected a 32-bit integer, got an array");
  CHECK(error_of(R"({"input_ids": [true]})") == "input_ids[0]: expected a 32-bit integer, got true");
  CHECK(error_of(R"({"messages": "hi"})") == "messages: expected an array of {\"role\", \"content\"} objects");
  CHECK(error_of(R"({"messages": [{"role": "user", "content": "a"}, 7]})") ==
        "messages[1]: expected an object with \"role\" and \"content\", got 7");
  CHECK(error_of(R"({"messages": [[{"role": "user"}]]})") ==
        "messages[0]: expected an object with \"role\" and \"content\", got an array");
  CHECK(error_of(R"({"messages": [{"role": "user"}]})") ==
        "messages[0].content: missing (a string, null or a list of parts)");
  // "role" is checked before "content", whatever their order in the line.
  CHECK(error_of(R"({"messages": [{"content": 1, "role": null}]})") == "messages[0].role: expected a string, got null");
  CHECK(error_of(R"({"messages": [{"role": "user", "content": {"text": "a"}}]})") ==
        "messages[0].content: expected a string, null or a list of parts, got an object");
  CHECK(error_of(R"({"messages": [{"role": "user", "content": 5}]})") ==
        "messages[0].content: expected a string, null or a list of parts, got 5");
  CHECK(error_of(R"({"text": 5})") == "text: expected a string, got 5");
  CHECK(error_of(R"({"text": ["a"]})") == "text: expected a string, got an array");
  CHECK(error_of(R"({"text": "a", "input_ids": [1]})") ==
        "expected a JSON object with one of \"messages\", \"input_ids\" or \"text\"");
  CHECK(error_of(R"({"text": "a", "text": "b"})") == "duplicate key \"text\"");
  CHECK(error_of(R"({"messages": [{"role": "a", "role": "b", "content": "c"}]})") ==
        "messages[0]: duplicate key \"role\"");
  // The first bad message wins, and a later syntax error wins over all.
  CHECK(error_of(R"({"messages": [{"role": 1, "content": "a"}, 5]})") == "messages[0].role: expected a string, got 1");
  CHECK(error_of(R"({"input_ids": [1.5], "x": tru})").rfind("invalid JSON: ", 0) == 0);
}

TEST_CASE("parse_score_input: a raw NUL byte is an error, not the end of the line") {
  // nlohmann's lexer stops at a NUL: without the check, "junk" would be ignored.
  CHECK(error_of(std::string("{\"input_ids\": [1]}\0junk", 22)) == "invalid JSON: a NUL byte at byte 18");
  CHECK(error_of(std::string("{\"input_ids\": [1,\0 2]}", 22)) == "invalid JSON: a NUL byte at byte 17");
}

TEST_CASE("parse_score_input: messages quote at most 64 bytes of a value") {
  const std::string big(1'000'000, 'a');
  CHECK(error_of(R"({"input_ids": [")" + big + R"("]})") ==
        "input_ids[0]: expected a 32-bit integer, got \"" + std::string(64, 'a') + "...\"");
  CHECK(error_of(R"({"messages": [{"role": "user", "content": "a"}, ")" + big + R"("]})") ==
        "messages[1]: expected an object with \"role\" and \"content\", got \"" + std::string(64, 'a') + "...\"");
  CHECK(error_of(R"({"input_ids": ")" + big + "\\x\"}").size() < 300);  // a syntax error inside the string
}

TEST_CASE("parse_score_input: any nesting depth, without recursion") {
  // 1,000,000 levels: a recursive parser, dump() or destructor would overflow the stack.
  const std::size_t depth = 1'000'000;
  const std::string nested = std::string(depth, '[') + std::string(depth, ']');
  CHECK(error_of(R"({"input_ids": [1, )" + nested + "]}") == "input_ids[1]: expected a 32-bit integer, got an array");
  CHECK(error_of(R"({"messages": [{"role": )" + nested + R"(, "content": "a"}]})") ==
        "messages[0].role: expected a string, got an array");
  CHECK(error_of(nested) == "expected a JSON object with one of \"messages\", \"input_ids\" or \"text\"");
  const auto in = parse_score_input(R"({"x": )" + nested + R"(, "input_ids": [5]})");
  CHECK(in.ids == std::vector<std::int32_t>{5});
  CHECK(error_of(std::string(depth, '[')).rfind("invalid JSON: ", 0) == 0);  // never closed
}

TEST_CASE("parse_score_input: a line of 10 million ids is read in its own size") {
  std::string line = "{\"input_ids\": [";
  for (int i = 0; i < 10'000'000; ++i) line += i ? ",7" : "7";
  line += "]}";
  const auto in = parse_score_input(line);
  CHECK(in.ids.size() == 10'000'000);
  CHECK(in.ids.back() == 7);
}
