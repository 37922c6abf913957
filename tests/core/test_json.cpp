// parse_json, describe_json and json_error_message: NUL bytes refused, nesting
// bounded, and no message that grows with the input.
#include <doctest/doctest.h>

#include <string>

#include "urm/core/json.hpp"

using urm::detail::describe_json;
using urm::detail::parse_json;

TEST_CASE("parse_json refuses a raw NUL byte, which nlohmann would take for the end") {
  CHECK(nlohmann::json::parse(std::string("{\"a\": 1}\0junk", 13)) == nlohmann::json{{"a", 1}});  // the trap
  CHECK_THROWS_WITH_AS(parse_json(std::string("{\"a\": 1}\0junk", 13), "x.json: not valid JSON"),
                       "x.json: not valid JSON: a NUL byte at byte 8", urm::Error);
  CHECK_THROWS_WITH_AS(parse_json(std::string("\0", 1), "x.json: not valid JSON"),
                       "x.json: not valid JSON: a NUL byte at byte 0", urm::Error);
  CHECK(parse_json("{\"a\": \"\\u0000\"}", "x") == nlohmann::json{{"a", std::string(1, '\0')}});  // escaped is fine
}

TEST_CASE("parse_json bounds nesting at 128 levels, as serde_json") {
  const auto nested = [](std::size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); };
  CHECK(parse_json(nested(128), "x").is_array());
  CHECK_THROWS_WITH_AS(parse_json(nested(129), "x.json: not valid JSON"),
                       "x.json: not valid JSON: containers nest deeper than 128 levels", urm::Error);
  CHECK_THROWS_WITH_AS(parse_json(nested(100000), "x.json: not valid JSON"),
                       "x.json: not valid JSON: containers nest deeper than 128 levels", urm::Error);
}

TEST_CASE("parse errors quote at most 64 bytes of the token being read") {
  // nlohmann's own message would quote the whole 1 MB string.
  const std::string text = std::string(1, '"').append(1'000'000, 'a').append("\\x\"");
  CHECK_THROWS_WITH_AS(parse_json(text, "x.json: not valid JSON"),
                       ("x.json: not valid JSON: [json.exception.parse_error.101] parse error at line 1, column "
                        "1000003: syntax error while parsing value - invalid string: forbidden character after "
                        "backslash; last read: '\"" +
                        std::string(63, 'a') + "...'")
                           .c_str(),
                       urm::Error);
  // A token that contains nlohmann's own "'; expected " is cut all the same.
  const std::string tricky =
      std::string("x; last read: '").append(500, 'a').append("'; expected ").append(500, 'b').append("'");
  CHECK(urm::detail::json_error_message(nlohmann::json::parse_error::create(101, 1, tricky, nullptr)).size() < 300);
  CHECK_THROWS_WITH_AS(parse_json(std::string(1, '[').append(1000, '9').append("]"), "c.json: not valid JSON"),
                       ("c.json: not valid JSON: [json.exception.out_of_range.406] number overflow parsing '" +
                        std::string(64, '9') + "...'")
                           .c_str(),
                       urm::Error);
  CHECK_THROWS_WITH_AS(parse_json("{\"model_type\": llama}", "c.json: not valid JSON"),
                       "c.json: not valid JSON: [json.exception.parse_error.101] parse error at line 1, column 16: "
                       "syntax error while parsing value - invalid literal; last read: '\"model_type\": l'",
                       urm::Error);
  CHECK_THROWS_WITH_AS(parse_json("", "c.json: not valid JSON"),
                       "c.json: not valid JSON: [json.exception.parse_error.101] parse error at line 1, column 1: "
                       "syntax error while parsing value - unexpected end of input; expected '[', '{', or a literal",
                       urm::Error);
}

TEST_CASE("describe_json quotes scalars, cuts strings and never prints a container") {
  CHECK(describe_json(nlohmann::json(1.5)) == "1.5");
  CHECK(describe_json(nlohmann::json(nullptr)) == "null");
  CHECK(describe_json(nlohmann::json("a\nb")) == "\"a\\nb\"");
  const auto cut_xs = [](std::size_t n) { return std::string(1, '"').append(n, 'x').append("...\""); };
  CHECK(describe_json(nlohmann::json(std::string(100, 'x'))) == cut_xs(64));
  // A cut never splits a UTF-8 sequence: 63 x and a 2-byte é would end mid-sequence at 64.
  CHECK(describe_json(nlohmann::json(std::string(63, 'x') + "\xc3\xa9" + "yy")) == cut_xs(63));
  CHECK(describe_json(nlohmann::json::array({1, 2})) == "an array");
  CHECK(describe_json(nlohmann::json::object()) == "an object");
  CHECK(urm::detail::quote_string(std::string("a\0b", 3)) == "\"a\\u0000b\"");
}
