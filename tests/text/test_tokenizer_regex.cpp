// The Split pre-tokenizer's regex (regex.hpp) and NFC (nfc.hpp) against
// Hugging Face tokenizers 0.23.2 itself: tests/data/tokenizer/regex_golden.json
// and nfc_golden.json, made by make_oracle_goldens.js with the npm package
// `tokenizers` (Oniguruma and unicode-normalization-alignments inside).
#include <doctest/doctest.h>

#include <map>
#include <string>
#include <vector>

#include "support/tokenizer_fixtures.hpp"
#include "urm/text/nfc.hpp"
#include "urm/text/pre_tokenizer.hpp"
#include "urm/text/regex.hpp"

namespace {

using Pieces = std::vector<std::string>;

Pieces split(const urm::detail::Regex& re, const std::string& text) {
  Pieces out;
  re.for_each_split(text, [&](std::size_t b, std::size_t e, bool) {
    if (e > b) out.push_back(text.substr(b, e - b));
  });
  return out;
}

// Runs one regex_golden.json section; `rejected` maps the patterns urm does
// not support to its exact error.
void check_section(const nlohmann::json& section, const std::map<std::string, std::string>& rejected, std::size_t& compared) {
  const auto& patterns = section.at("patterns");
  const auto& texts = section.at("texts");
  for (std::size_t p = 0; p < patterns.size(); ++p) {
    const std::string pattern = patterns[p].get<std::string>();
    const auto& result = section.at("results")[p];
    CAPTURE(pattern);
    if (const auto it = rejected.find(pattern); it != rejected.end()) {
      CHECK_THROWS_WITH_AS(urm::detail::Regex::compile(pattern), it->second.c_str(), urm::Error);
      continue;
    }
    if (result.contains("error")) {  // HF rejects it too: so must urm
      CHECK_THROWS_AS(urm::detail::Regex::compile(pattern), urm::Error);
      continue;
    }
    const urm::detail::Regex re = urm::detail::Regex::compile(pattern);
    for (std::size_t t = 0; t < texts.size(); ++t) {
      const std::string text = texts[t].get<std::string>();
      const Pieces want = result.at("pieces")[t].get<Pieces>();
      const Pieces got = split(re, text);
      if (got != want) {
        CAPTURE(t);
        CAPTURE(text);
        CHECK(got == want);
      }
      ++compared;
    }
  }
}

const nlohmann::json& regex_golden() { return urm::test::read_json(URM_TEST_DATA_DIR "/tokenizer/regex_golden.json"); }

}  // namespace

TEST_CASE("regex: the Split patterns of real tokenizer.json files split as HF does") {
  std::size_t compared = 0;
  check_section(regex_golden().at("real"), {}, compared);
  CHECK(compared == regex_golden().at("real").at("patterns").size() * regex_golden().at("real").at("texts").size());
}

TEST_CASE("regex: construct by construct as HF (Oniguruma), or an error naming the construct and its offset") {
  const std::string p = " of the pattern";
  const std::map<std::string, std::string> rejected = {
      {"a{3,1}", "regex: repetition {3,1} with max < min at byte offset 1" + p},
      {"x{2,3}+", "regex: unsupported quantifier after a quantifier \"{2,3}+\" at byte offset 6" + p},
      {"a**", "regex: unsupported quantifier after a quantifier \"**\" at byte offset 2" + p},
      {"[a-z&&b]", "regex: unsupported character class intersection \"&&\" at byte offset 4" + p},
      {"[[:alpha:]]", "regex: unsupported POSIX bracket \"[:\" at byte offset 1" + p},
      {"\\bx", "regex: unsupported escape \"\\b\" at byte offset 0" + p},
      {"^a", "regex: unsupported anchor \"^\" at byte offset 0" + p},
      {"a$", "regex: unsupported anchor \"$\" at byte offset 1" + p},
      {"\\Aa", "regex: unsupported escape \"\\A\" at byte offset 0" + p},
      {"(?<=a)b", "regex: unsupported look-behind \"(?<=\" at byte offset 0" + p},
      {"(?<!a)b", "regex: unsupported look-behind \"(?<!\" at byte offset 0" + p},
      {"\\1", "regex: unsupported escape \"\\1\" at byte offset 0" + p},
      {"(a)\\1", "regex: unsupported escape \"\\1\" at byte offset 3" + p},
      {"\\k<n>", "regex: unsupported escape \"\\k\" at byte offset 0" + p},
      {"\\p{Han}", "regex: unsupported Unicode property \"\\p{Han}\" (supported: General_Category values and groups, Any, "
                   "Assigned, ASCII, Alpha, Space, Word, Alnum, Digit, Punct, XDigit, Blank, Cntrl) at byte offset 0" + p},
      {"\\p{Latin}", "regex: unsupported Unicode property \"\\p{Latin}\" (supported: General_Category values and groups, Any, "
                     "Assigned, ASCII, Alpha, Space, Word, Alnum, Digit, Punct, XDigit, Blank, Cntrl) at byte offset 0" + p},
      {"(?m)a", "regex: unsupported group or option \"(?m)\" at byte offset 0" + p},
      {"(?x)a", "regex: unsupported group or option \"(?x)\" at byte offset 0" + p},
      {"(?i:ss)", "regex: unsupported case-insensitive sequence \"ss\", which also matches U+00DF (a multi-character case "
                  "folding) at byte offset 4" + p},
      {"(?i)\u00DF", "regex: unsupported case-insensitive character U+00DF, which also matches a sequence of characters (a "
                     "multi-character case folding) at byte offset 4" + p},
      {"(?i)[\u00DF]", "regex: unsupported case-insensitive character U+00DF, which also matches a sequence of characters (a "
                       "multi-character case folding) at byte offset 5" + p},
      {"(?i)[a-\u00FF]", "regex: unsupported case-insensitive character U+00DF, which also matches a sequence of characters "
                         "(a multi-character case folding) at byte offset 5" + p},
      {"(?i)st", "regex: unsupported case-insensitive sequence \"st\", which also matches U+FB05 (a multi-character case "
                 "folding) at byte offset 4" + p},
      {"\\\u00E9", "regex: unsupported escape \"\\\u00E9\" at byte offset 0" + p},
      {"\\Q", "regex: unsupported escape \"\\Q\" at byte offset 0" + p},
      {"(?:a*)*", "regex: unsupported unbounded repetition of a group that can match the empty string at byte offset 6" + p},
      {"(?:a?)+", "regex: unsupported unbounded repetition of a group that can match the empty string at byte offset 6" + p},
      {"(?:a|)*", "regex: unsupported unbounded repetition of a group that can match the empty string at byte offset 6" + p},
      {"\\pL", "regex: unsupported escape \"\\p\" at byte offset 0" + p},
      {"\\x{110000}", "regex: escape names no Unicode scalar value at byte offset 0" + p},
  };
  std::size_t compared = 0;
  check_section(regex_golden().at("constructs"), rejected, compared);
  CHECK(compared > 3000);
}

TEST_CASE("regex: the matcher's shortcuts keep Oniguruma's matches") {
  const auto pieces = [](const char* pattern, const std::string& text) { return split(urm::detail::Regex::compile(pattern), text); };
  // One-character look-aheads (tested in place, not run as sub-programs),
  // also at the end of the text and while a greedy run gives back.
  CHECK(pieces("\\s+(?!\\S)", "a   b  ") == Pieces{"a", "  ", " b", "  "});
  CHECK(pieces("ab(?=.)|a", "abab") == Pieces{"ab", "a", "b"});
  CHECK(pieces("a+(?=a)", "aaab") == Pieces{"aa", "ab"});
  CHECK(pieces("a+(?!a)", "aaab") == Pieces{"aaa", "b"});
  CHECK(pieces("\\s+(?=x)|\\s", "  x ") == Pieces{"  ", "x", " "});
  // Splits that the second character decides.
  CHECK(pieces("ab|ac|a", "acaab") == Pieces{"ac", "a", "ab"});
  CHECK(pieces("a[bc]d|a.|a", "abdacxa") == Pieces{"abd", "ac", "x", "a"});
  CHECK(pieces("\u00E9\u00E8|\u00E9", "\u00E9\u00E9\u00E8") == Pieces{"\u00E9", "\u00E9\u00E8"});
  // Entries by the first two characters: taking the first, leaving a retry
  // point that a later failure goes back to.
  CHECK(pieces("abc|abd|a", "abdabca") == Pieces{"abd", "abc", "a"});
  CHECK(pieces("[ ]?[a-z]+|[ ]+", "  ab c") == Pieces{"  ", "ab", " c"});
  CHECK(pieces("[ ]?[a-z]+[0-9]|[ ]+", " a ") == Pieces{" ", "a", " "});
  // An optional run that the first character cannot start is skipped.
  CHECK(pieces("x?y|x", "xyxxyyx") == Pieces{"xy", "x", "xy", "y", "x"});
  CHECK(pieces("[^ab]?b+|a", "bb cb ab") == Pieces{"bb", " ", "cb", " ", "a", "b"});
}

TEST_CASE("regex: malformed patterns are errors with the offset") {
  const std::string p = " of the pattern";
  CHECK_THROWS_WITH_AS(urm::detail::Regex::compile("(a"), ("regex: unterminated group \"(\" at byte offset 0" + p).c_str(), urm::Error);
  CHECK_THROWS_WITH_AS(urm::detail::Regex::compile("a)"), ("regex: unmatched \")\" at byte offset 1" + p).c_str(), urm::Error);
  CHECK_THROWS_WITH_AS(urm::detail::Regex::compile("[ab"), ("regex: unterminated character class \"[\" at byte offset 0" + p).c_str(), urm::Error);
  CHECK_THROWS_WITH_AS(urm::detail::Regex::compile("x|*"), ("regex: quantifier \"*\" with nothing to repeat at byte offset 2" + p).c_str(), urm::Error);
  CHECK_THROWS_WITH_AS(urm::detail::Regex::compile("a\\"), ("regex: pattern ends with \"\\\" at byte offset 1" + p).c_str(), urm::Error);
  CHECK_THROWS_WITH_AS(urm::detail::Regex::compile("\xFF"), ("regex: invalid UTF-8 at byte offset 0" + p).c_str(), urm::Error);
  CHECK_THROWS_WITH_AS(urm::detail::Regex::compile("(?=a)*"), ("regex: unsupported quantifier on a look-ahead \"*\" at byte offset 5" + p).c_str(), urm::Error);
  CHECK_THROWS_WITH_AS(urm::detail::Regex::compile("a{100001}"), ("regex: repetition count above 100000 at byte offset 2" + p).c_str(), urm::Error);
  CHECK_THROWS_WITH_AS(urm::detail::Regex::compile("(?:ab){5000}"),
                       "regex: the compiled pattern has more than 10000 instructions (repetition counts too large)", urm::Error);
  std::string deep(300, '(');
  deep += std::string(300, ')');
  CHECK_THROWS_WITH_AS(urm::detail::Regex::compile(deep), ("regex: groups nested more than 200 deep at byte offset 200" + p).c_str(), urm::Error);
}

TEST_CASE("regex: exponential backtracking stops at the step budget with an error") {
  const urm::detail::Regex re = urm::detail::Regex::compile("(?:a|a)+(?:a|a)+(?:a|a)+b");
  CHECK(split(re, "aaab") == Pieces{"aaab"});
  CHECK_THROWS_WITH_AS(split(re, std::string(60, 'a')),
                       "regex: more than 1000000 + 64 per byte backtracking steps (pattern (?:a|a)+(?:a|a)+(?:a|a)+b)", urm::Error);
}

TEST_CASE("Split behaviours and invert, as HF's NormalizedString::split") {
  struct Case {
    const char* pattern;
    const char* behavior;
    bool invert;
    std::string text;
    Pieces want;
  };
  const std::vector<Case> cases = {
      {R"(\s+)", "Removed", false, "a b  c ", {"a", "b", "c"}},
      {R"(\s+)", "Removed", false, " x12y3 ", {"x12y3"}},
      {R"(\s+)", "Removed", false, "12 34", {"12", "34"}},
      {R"(\s+)", "Removed", false, "baab cab", {"baab", "cab"}},
      {R"(\s+)", "MergedWithPrevious", false, "a b  c ", {"a ", "b  ", "c "}},
      {R"(\s+)", "MergedWithPrevious", false, " x12y3 ", {" ", "x12y3 "}},
      {R"(\s+)", "MergedWithPrevious", false, "12 34", {"12 ", "34"}},
      {R"(\s+)", "MergedWithPrevious", false, "baab cab", {"baab ", "cab"}},
      {R"(\s+)", "MergedWithNext", false, "a b  c ", {"a", " b", "  c", " "}},
      {R"(\s+)", "MergedWithNext", false, " x12y3 ", {" x12y3", " "}},
      {R"(\s+)", "MergedWithNext", false, "12 34", {"12", " 34"}},
      {R"(\s+)", "MergedWithNext", false, "baab cab", {"baab", " cab"}},
      {R"(\s+)", "Contiguous", false, "a b  c ", {"a", " ", "b", "  ", "c", " "}},
      {R"(\s+)", "Contiguous", false, " x12y3 ", {" ", "x12y3", " "}},
      {R"(\s+)", "Contiguous", false, "12 34", {"12", " ", "34"}},
      {R"(\s+)", "Contiguous", false, "baab cab", {"baab", " ", "cab"}},
      {R"(\d)", "Contiguous", false, "a b  c ", {"a b  c "}},
      {R"(\d)", "Contiguous", false, " x12y3 ", {" x", "12", "y", "3", " "}},
      {R"(\d)", "Contiguous", false, "12 34", {"12", " ", "34"}},
      {R"(\d)", "Contiguous", false, "baab cab", {"baab cab"}},
      {R"(\d)", "MergedWithNext", false, "a b  c ", {"a b  c "}},
      {R"(\d)", "MergedWithNext", false, " x12y3 ", {" x", "1", "2y", "3 "}},
      {R"(\d)", "MergedWithNext", false, "12 34", {"1", "2 ", "3", "4"}},
      {R"(\d)", "MergedWithNext", false, "baab cab", {"baab cab"}},
      {R"(\d)", "MergedWithPrevious", false, "a b  c ", {"a b  c "}},
      {R"(\d)", "MergedWithPrevious", false, " x12y3 ", {" x1", "2", "y3", " "}},
      {R"(\d)", "MergedWithPrevious", false, "12 34", {"1", "2", " 3", "4"}},
      {R"(\d)", "MergedWithPrevious", false, "baab cab", {"baab cab"}},
      {R"(\s+)", "Isolated", true, "a b  c ", {"a", " ", "b", "  ", "c", " "}},
      {R"(\s+)", "Isolated", true, " x12y3 ", {" ", "x12y3", " "}},
      {R"(\s+)", "Isolated", true, "12 34", {"12", " ", "34"}},
      {R"(\s+)", "Isolated", true, "baab cab", {"baab", " ", "cab"}},
      {R"(\s+)", "Removed", true, "a b  c ", {" ", "  ", " "}},
      {R"(\s+)", "Removed", true, " x12y3 ", {" ", " "}},
      {R"(\s+)", "Removed", true, "12 34", {" "}},
      {R"(\s+)", "Removed", true, "baab cab", {" "}},
      {R"(a*)", "Isolated", false, "a b  c ", {"a", " ", "b", " ", " ", "c", " "}},
      {R"(a*)", "Isolated", false, " x12y3 ", {" ", "x", "1", "2", "y", "3", " "}},
      {R"(a*)", "Isolated", false, "12 34", {"1", "2", " ", "3", "4"}},
      {R"(a*)", "Isolated", false, "baab cab", {"b", "aa", "b", " ", "c", "a", "b"}},
      {R"(a*)", "MergedWithNext", false, "a b  c ", {"a ", "b", " ", " ", "c", " "}},
      {R"(a*)", "MergedWithNext", false, " x12y3 ", {" ", "x", "1", "2", "y", "3", " "}},
      {R"(a*)", "MergedWithNext", false, "12 34", {"1", "2", " ", "3", "4"}},
      {R"(a*)", "MergedWithNext", false, "baab cab", {"b", "aab", " ", "c", "ab"}},
      {R"((?=b))", "MergedWithNext", false, "a b  c ", {"a ", "b  c "}},
      {R"((?=b))", "MergedWithNext", false, " x12y3 ", {" x12y3 "}},
      {R"((?=b))", "MergedWithNext", false, "12 34", {"12 34"}},
      {R"((?=b))", "MergedWithNext", false, "baab cab", {"baa", "b ca", "b"}},
  };
  for (const Case& c : cases) {
    CAPTURE(c.pattern);
    CAPTURE(c.behavior);
    CAPTURE(c.invert);
    CAPTURE(c.text);
    const nlohmann::json j = {{"type", "Sequence"},
                              {"pretokenizers",
                               {{{"type", "Split"}, {"pattern", {{"Regex", c.pattern}}}, {"behavior", c.behavior}, {"invert", c.invert}},
                                {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", false}}}}};
    const auto pre = urm::detail::PreTokenizer::from_json(j, "test");
    Pieces got;
    pre.for_each_word(c.text, [&](std::string_view w) { got.emplace_back(w); });
    CHECK(got == c.want);
  }
}

TEST_CASE("pre-tokenizer: a String pattern is literal; ByteLevel with use_regex splits like GPT-2") {
  const nlohmann::json literal = {{"type", "Sequence"},
                                  {"pretokenizers",
                                   {{{"type", "Split"}, {"pattern", {{"String", ".*"}}}, {"behavior", "Isolated"}},
                                    {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", false}}}}};
  Pieces got;
  urm::detail::PreTokenizer::from_json(literal, "test").for_each_word("a.*b.c", [&](std::string_view w) { got.emplace_back(w); });
  CHECK(got == Pieces{"a", ".*", "b.c"});
  got.clear();
  const nlohmann::json gpt2 = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}};
  urm::detail::PreTokenizer::from_json(gpt2, "test").for_each_word("Hello  world's 123", [&](std::string_view w) { got.emplace_back(w); });
  CHECK(got == Pieces{"Hello", " ", " world", "'s", " 123"});
}

TEST_CASE("NFC: every scalar value and random sequences as HF's NFC (Unicode 9.0 data)") {
  using urm::detail::nfc;
  CHECK(std::string(urm::detail::unicode_data::kNormalizationUnicodeVersion) == "9.0.0");
  const nlohmann::json& g = urm::test::read_json(URM_TEST_DATA_DIR "/tokenizer/nfc_golden.json");
  std::map<std::uint32_t, std::string> changed;
  for (const auto& c : g.at("changed")) changed[c[0].get<std::uint32_t>()] = c[1].get<std::string>();
  CHECK(changed.size() > 1000);
  std::size_t mismatches = 0;
  for (std::uint32_t cp = 0; cp < 0x110000; ++cp) {
    if (cp >= 0xD800 && cp <= 0xDFFF) continue;
    std::string s;
    urm::detail::append_utf8(s, cp);
    const auto it = changed.find(cp);
    const std::string want = it == changed.end() ? s : it->second;
    if (nfc(s) != want && mismatches++ < 5) {
      CAPTURE(cp);
      CHECK(nfc(s) == want);
    }
  }
  CHECK(mismatches == 0);
  for (const auto& c : g.at("sequences")) {
    const std::string in = c[0].get<std::string>();
    CAPTURE(in);
    CHECK(nfc(in) == c[1].get<std::string>());
  }
  CHECK(nfc("e\u0301") == "\u00E9");
  CHECK(nfc("\u212B") == "\u00C5");                  // ANGSTROM SIGN: a singleton
  CHECK(nfc("\u1100\u1161\u11A8") == "\uAC01");      // Hangul L V T
  CHECK(nfc("a\u0301\u0323b") == "\u1EA1\u0301b");   // reordered (dot below 220 before acute 230), then a + dot below
}
