// Tokenizer behaviour on the tiny hand-made tokenizer (every id worked out by
// hand, see test_tokenizer_fixtures.hpp), and every error it reports.
#include <doctest/doctest.h>

#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "support/tokenizer_fixtures.hpp"
#include "urm/core/error.hpp"
#include "urm/text/bpe_word_cache.hpp"
#include "urm/text/string_id_map.hpp"
#include "urm/text/tokenizer.hpp"

using urm::test::tiny;
using urm::test::tiny_tokenizer_json;
using Ids = std::vector<std::int32_t>;

TEST_CASE("BPE merges by rank, then leftmost, as HF's BPE does") {
  const urm::Tokenizer t = tiny();
  CHECK(t.encode("hello", false) == Ids{259});       // h+e, l+l, he+ll, hell+o
  // " hello": " "+h has rank 4, but h+e (rank 0) goes first and takes the h;
  // the stale " "+h candidate is then skipped.
  CHECK(t.encode(" hello", false) == Ids{32, 259});
  CHECK(t.encode(" hx", false) == Ids{260, 120});    // here " "+h is the best pair
  CHECK(t.encode("lo", false) == Ids{108, 111});     // "lo" is in the vocabulary but no merge makes it
  CHECK(t.encode("", false).empty());
  CHECK(t.encode("", true) == Ids{300});
}

TEST_CASE("ignore_merges: a word that is a vocabulary entry is that token") {
  nlohmann::json j = tiny_tokenizer_json();
  j["model"]["ignore_merges"] = true;
  const urm::Tokenizer t = tiny(j);
  CHECK(t.encode("lo", false) == Ids{261});
  CHECK(t.encode("hello", false) == Ids{259});
}

TEST_CASE("merges may be written as [\"left\", \"right\"] pairs") {
  nlohmann::json j = tiny_tokenizer_json();
  nlohmann::json pairs = nlohmann::json::array();
  for (const auto& m : j["model"]["merges"]) {
    const std::string s = m.get<std::string>();
    pairs.push_back({s.substr(0, s.find(' ')), s.substr(s.find(' ') + 1)});
  }
  j["model"]["merges"] = pairs;
  CHECK(tiny(j).encode(" hello", false) == Ids{32, 259});
}

TEST_CASE("added tokens: leftmost-longest matches, cut out before pre-tokenization") {
  const urm::Tokenizer t = tiny();
  CHECK(t.encode("a<s>b", false) == Ids{97, 300, 98});
  CHECK(t.encode("<s>xy", false) == Ids{303, 121});  // "<s>x" is longer than "<s>"
  CHECK(t.encode("<s<s>", false) == Ids{60, 115, 300});  // no match at 0: "<s" is the word "<s"
}

TEST_CASE("added tokens: lstrip / rstrip absorb white space, never into an earlier match") {
  const urm::Tokenizer t = tiny();
  CHECK(t.encode("a [X] b", false) == Ids{97, 301, 98});
  CHECK(t.encode("a \t[X]\n\nb", false) == Ids{97, 301, 98});
  CHECK(t.encode("[X] [X]", false) == Ids{301, 301});
}

TEST_CASE("added tokens: single_word needs non-word characters (or the ends) around it") {
  const urm::Tokenizer t = tiny();
  CHECK(t.encode("ab cd", false) == Ids{302, 32, 99, 100});
  CHECK(t.encode("xab", false) == Ids{120, 97, 98});
  CHECK(t.encode("abx", false) == Ids{97, 98, 120});
  CHECK(t.encode("\xC3\xA9" "ab", false) == Ids{0xC3, 0xA9, 97, 98});  // é is a word character
  CHECK(t.encode("(ab)", false) == Ids{40, 302, 41});
}

TEST_CASE("added tokens: normalized ones are matched in what the non-normalized ones left") {
  const urm::Tokenizer t = tiny();
  // The second pass sees "ab" alone (the pieces between the <s>), so
  // single_word holds at both ends of each piece.
  CHECK(t.encode("ab<s>ab", false) == Ids{302, 300, 302});
}

TEST_CASE("split_special_tokens: special-token text is plain text, other added tokens still match") {
  const urm::Tokenizer t = tiny(tiny_tokenizer_json(), urm::Tokenizer::Options{.split_special_tokens = true});
  CHECK(t.encode("<s>", false) == Ids{60, 115, 62});  // words "<s" and ">"
  CHECK(t.encode("a [X] b", false) == Ids{97, 301, 98});
  CHECK(t.encode("", true) == Ids{300});  // the post-processor still adds <s>
  CHECK(tiny().encode("<s>", false) == Ids{300});
}

TEST_CASE("post-processor: TemplateProcessing single and pair, only with add_special_tokens") {
  const urm::Tokenizer t = tiny();
  CHECK(t.encode("hello", true) == Ids{300, 259});
  CHECK(t.encode("hello", false) == Ids{259});
  CHECK(t.encode_pair("he", "ll", true) == Ids{300, 256, 300, 257});
  CHECK(t.encode_pair("he", "ll", false) == Ids{256, 257});

  nlohmann::json j = tiny_tokenizer_json();
  j["post_processor"] = {{"type", "Sequence"},
                         {"processors", {{{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", false}, {"use_regex", true}},
                                         j["post_processor"]}}};
  CHECK(tiny(j).encode("hello", true) == Ids{300, 259});
  j["post_processor"] = {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", false}, {"use_regex", true}};
  CHECK(tiny(j).encode("hello", true) == Ids{259});
  j["post_processor"] = nullptr;
  CHECK(tiny(j).encode_pair("he", "ll", true) == Ids{256, 257});
}

TEST_CASE("decode: bytes of the tokens, ill-formed UTF-8 replaced, special tokens optionally skipped") {
  const urm::Tokenizer t = tiny();
  CHECK(t.decode(Ids{300, 32, 259}) == "<s> hello");
  CHECK(t.decode(Ids{300, 32, 259}, true) == " hello");
  CHECK(t.decode(Ids{301, 303}, true) == "[X]");  // [X] is not special
  CHECK(t.decode(Ids{0xE2}) == "\uFFFD");
  CHECK(t.decode(Ids{104, 0xC3}) == "h\uFFFD");
  CHECK(t.decode(Ids{0xC3, 0xA9}) == "\xC3\xA9");  // a character split over two tokens
  CHECK(t.decode(Ids{}).empty());
  CHECK_THROWS_WITH_AS(t.decode(Ids{259, -1}), "Tokenizer::decode: token id -1 is not in the vocabulary (ids 0..303)", urm::Error);
  CHECK_THROWS_WITH_AS(t.decode(Ids{270}), "Tokenizer::decode: token id 270 is not in the vocabulary (ids 0..303)", urm::Error);
  CHECK_THROWS_WITH_AS(t.decode(Ids{304}), "Tokenizer::decode: token id 304 is not in the vocabulary (ids 0..303)", urm::Error);
}

TEST_CASE("token_to_id, id_to_token, vocab_size, is_special") {
  const urm::Tokenizer t = tiny();
  CHECK(t.token_to_id("\xC4\xA0h") == 260);  // "Ġh": the byte-level spelling of " h"
  CHECK(t.token_to_id("<s>") == 300);
  CHECK(t.token_to_id("hello") == 259);
  CHECK(!t.token_to_id(" h").has_value());  // a space is spelt Ġ
  CHECK(!t.token_to_id("nope").has_value());
  CHECK(t.id_to_token(260) == "\xC4\xA0h");
  CHECK(t.id_to_token(10) == "\xC4\x8A");  // "Ċ", the newline byte
  CHECK(t.id_to_token(301) == "[X]");
  CHECK_THROWS_WITH_AS(t.id_to_token(299), "Tokenizer::id_to_token: token id 299 is not in the vocabulary (ids 0..303)", urm::Error);
  CHECK(t.vocab_size() == 262 + 4);
  CHECK(t.is_special(300));
  CHECK(!t.is_special(301));
  CHECK(!t.is_special(-5));
  CHECK(t.added_tokens().size() == 4);
  CHECK(t.added_tokens()[1].lstrip);
}

TEST_CASE("invalid UTF-8 input is an error naming the byte offset") {
  const urm::Tokenizer t = tiny();
  CHECK_THROWS_WITH_AS(t.encode("ab\xC3(", false), "Tokenizer::encode: invalid UTF-8 at byte offset 2", urm::Error);
  CHECK_THROWS_WITH_AS(t.encode("\xED\xA0\x80", true), "Tokenizer::encode: invalid UTF-8 at byte offset 0", urm::Error);
  CHECK_THROWS_WITH_AS(t.encode_pair("ok", "o\xFF", true), "Tokenizer::encode: invalid UTF-8 at byte offset 1", urm::Error);
}

TEST_CASE("a copy encodes like the original; a moved-from Tokenizer says so") {
  urm::Tokenizer t = tiny();
  const urm::Tokenizer copy = t;  // NOLINT(performance-unnecessary-copy-initialization)
  CHECK(copy.encode(" hello <s>", true) == t.encode(" hello <s>", true));
  const urm::Tokenizer moved = std::move(t);
  CHECK(moved.encode(" hello", false) == Ids{32, 259});
  CHECK_THROWS_WITH_AS(t.encode(" hello", false), "Tokenizer::encode: this Tokenizer was moved from", urm::Error);  // NOLINT(bugprone-use-after-move)
}

namespace {

void check_error(const std::function<void(nlohmann::json&)>& edit, const std::string& message) {
  nlohmann::json j = tiny_tokenizer_json();
  edit(j);
  CHECK_THROWS_WITH_AS(tiny(j), message.c_str(), urm::Error);
}

}  // namespace

TEST_CASE("unsupported configurations are errors saying so") {
  check_error([](auto& j) { j["normalizer"] = {{"type", "NFKC"}}; },
              "tiny: unsupported normalizer type \"NFKC\" (supported: NFC, Sequence)");
  check_error([](auto& j) { j["normalizer"] = {{"type", "Sequence"}, {"normalizers", {{{"type", "NFC"}}, {{"type", "Lowercase"}}}}}; },
              "tiny: unsupported normalizer.normalizers[1] type \"Lowercase\" (supported: NFC, Sequence)");
  check_error([](auto& j) { j["model"]["type"] = "WordPiece"; }, "tiny: unsupported model type \"WordPiece\" (supported: BPE)");
  check_error([](auto& j) { j["model"]["unk_token"] = "<unk>"; }, "tiny: unsupported model.unk_token: only null is supported");
  check_error([](auto& j) { j["model"]["dropout"] = 0.1; }, "tiny: unsupported model.dropout: only null is supported");
  check_error([](auto& j) { j["model"]["byte_fallback"] = true; }, "tiny: unsupported model.byte_fallback: only false is supported");
  check_error([](auto& j) { j["model"]["continuing_subword_prefix"] = "##"; },
              "tiny: unsupported model.continuing_subword_prefix: only null is supported");
  check_error([](auto& j) { j["truncation"] = {{"max_length", 8}}; }, "tiny: unsupported truncation: only null is supported");
  check_error([](auto& j) { j["padding"] = {{"length", 8}}; }, "tiny: unsupported padding: only null is supported");
  check_error([](auto& j) { j["pre_tokenizer"] = {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"use_regex", true}}; },
              "tiny: pre_tokenizer.add_prefix_space: unsupported true: only false is supported");
  check_error([](auto& j) { j["pre_tokenizer"] = nullptr; },
              "tiny: unsupported pre_tokenizer null: byte-level BPE needs a ByteLevel pre-tokenizer");
  check_error([](auto& j) { j["pre_tokenizer"] = {{"type", "Whitespace"}}; },
              "tiny: pre_tokenizer: unsupported pre-tokenizer type \"Whitespace\" (supported: Split, ByteLevel, Sequence)");
  check_error([](auto& j) { j["pre_tokenizer"]["pretokenizers"].erase(1); },
              "tiny: pre_tokenizer: unsupported: no ByteLevel pre-tokenizer (byte-level BPE needs one, last)");
  check_error([](auto& j) { j["pre_tokenizer"]["pretokenizers"].push_back(j["pre_tokenizer"]["pretokenizers"][0]); },
              "tiny: pre_tokenizer.pretokenizers[2]: unsupported Split after ByteLevel (ByteLevel must come last)");
  check_error([](auto& j) { j["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] = "(?<=a)b|\\s+"; },
              "tiny: pre_tokenizer.pretokenizers[0].pattern.Regex: regex: unsupported look-behind \"(?<=\" at byte offset 0 "
              "of the pattern");
  check_error([](auto& j) { j["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] = "\\p{L}+|\\p{Han}"; },
              "tiny: pre_tokenizer.pretokenizers[0].pattern.Regex: regex: unsupported Unicode property \"\\p{Han}\" (supported: "
              "General_Category values and groups, Any, Assigned, ASCII, Alpha, Space, Word, Alnum, Digit, Punct, XDigit, Blank, "
              "Cntrl) at byte offset 7 of the pattern");
  check_error([](auto& j) { j["pre_tokenizer"]["pretokenizers"][0]["pattern"] = {{"Glob", "*"}}; },
              "tiny: pre_tokenizer.pretokenizers[0].pattern: expected {\"Regex\": …} or {\"String\": …}");
  check_error([](auto& j) { j["pre_tokenizer"]["pretokenizers"][0]["behavior"] = "Split"; },
              "tiny: pre_tokenizer.pretokenizers[0].behavior: expected one of Isolated, Removed, MergedWithPrevious, MergedWithNext, "
              "Contiguous");
  check_error([](auto& j) { j["pre_tokenizer"]["pretokenizers"][1]["add_prefix_space"] = true; },
              "tiny: pre_tokenizer.pretokenizers[1].add_prefix_space: unsupported true: only false is supported");
  check_error([](auto& j) { j["decoder"] = {{"type", "WordPiece"}}; }, "tiny: unsupported decoder type \"WordPiece\" (supported: ByteLevel)");
  check_error([](auto& j) { j["post_processor"] = {{"type", "BertProcessing"}}; },
              "tiny: post_processor: unsupported post-processor type \"BertProcessing\" (supported: ByteLevel, TemplateProcessing, "
              "Sequence)");
  check_error([](auto& j) { j["post_processor"] = {{"type", "Sequence"}, {"processors", {j["post_processor"], j["post_processor"]}}}; },
              "tiny: post_processor.processors[1]: unsupported: more than one TemplateProcessing in a post-processor");
}

TEST_CASE("malformed tokenizer.json content is an error naming the JSON path") {
  check_error([](auto& j) { j["model"].erase("vocab"); }, "tiny: model.vocab: missing");
  check_error([](auto& j) { j["model"].erase("merges"); }, "tiny: model.merges: missing");
  check_error([](auto& j) { j["model"]["vocab"] = "x"; }, "tiny: model.vocab: expected an object {token: id}, got string");
  check_error([](auto& j) { j["model"]["vocab"]["a"] = -1; }, "tiny: model.vocab[\"a\"]: expected an id in 0..4194303, got -1");
  check_error([](auto& j) { j["model"]["vocab"]["a"] = "1"; }, "tiny: model.vocab[\"a\"]: expected an integer id");
  check_error([](auto& j) { j["model"]["vocab"]["zz"] = 98; }, "tiny: model.vocab[\"zz\"]: id 98 is given to two tokens");
  check_error([](auto& j) { j["model"]["vocab"].erase("A"); },
              "tiny: unsupported model.vocab: no token for byte 0x41 (\"A\"), which byte-level BPE needs");
  check_error([](auto& j) { j["model"]["merges"].push_back("x q"); }, "tiny: model.merges[5] (\"x q\"): \"xq\" is not in model.vocab");
  check_error([](auto& j) { j["model"]["merges"].push_back("x zz"); }, "tiny: model.merges[5] (\"x zz\"): \"zz\" is not in model.vocab");
  check_error([](auto& j) { j["model"]["merges"][0] = "he"; },
              "tiny: model.merges[0]: expected \"left right\" (two tokens separated by one space), got \"he\"");
  check_error([](auto& j) { j["model"]["merges"][1] = {"l"}; }, "tiny: model.merges[1]: expected \"left right\" or [\"left\", \"right\"]");
  check_error([](auto& j) { j["added_tokens"][0]["id"] = -3; }, "tiny: added_tokens[0].id: expected an integer in 0..4194303");
  check_error([](auto& j) { j["added_tokens"][1]["content"] = "<s>"; }, "tiny: added_tokens[1]: content \"<s>\" is listed twice");
  check_error([](auto& j) { j["added_tokens"][1]["lstrip"] = "yes"; }, "tiny: added_tokens[1].lstrip: expected true or false");
  check_error([](auto& j) { j["post_processor"]["single"][0]["SpecialToken"]["id"] = "</s>"; },
              "tiny: post_processor.single[0].SpecialToken.id: \"</s>\" is not in post_processor.special_tokens");
  check_error([](auto& j) { j["post_processor"]["single"][1]["Sequence"]["id"] = "B"; },
              "tiny: post_processor.single[1].Sequence.id: expected \"A\", got \"B\"");
  check_error([](auto& j) { j["post_processor"]["special_tokens"]["<s>"]["ids"] = {999}; },
              "tiny: post_processor: special token id 999 is not in the vocabulary");
  CHECK_THROWS_WITH_AS(urm::Tokenizer::from_json(nlohmann::json::array(), "tiny"), "tiny: expected a JSON object at the top level", urm::Error);
}

TEST_CASE("load: reads the file with the streaming reader, same result and errors as from_json") {
  const nlohmann::json j = tiny_tokenizer_json();
  const urm::Tokenizer loaded = urm::Tokenizer::load(urm::test::write_temp_file("tiny.json", j.dump()));
  for (const char* text : {" hello", "a [X] b", "ab<s>ab", "<s>xy", "\xC3\xA9" "ab"}) CHECK(loaded.encode(text, true) == tiny(j).encode(text, true));
  CHECK(loaded.vocab_size() == tiny(j).vocab_size());

  // model.merges before model.vocab in the file.
  std::string text = j.dump();
  const std::string merges = "\"merges\":" + j["model"]["merges"].dump() + ",";
  text.erase(text.find(merges), merges.size());
  text.insert(text.find("\"model\":{") + 9, merges);
  REQUIRE(text.find("\"merges\"") < text.find("\"vocab\""));
  CHECK(urm::Tokenizer::load(urm::test::write_temp_file("merges_first.json", text)).encode(" hello", false) == Ids{32, 259});

  nlohmann::json bad = j;
  bad["model"]["merges"][2] = "he";
  const std::string bad_path = urm::test::write_temp_file("bad_merge.json", bad.dump());
  CHECK_THROWS_WITH_AS(urm::Tokenizer::load(bad_path),
                       (bad_path + ": model.merges[2]: expected \"left right\" (two tokens separated by one space), got \"he\"").c_str(),
                       urm::Error);
  bad = j;
  bad["model"]["merges"][1] = {"l", "l", "l"};
  const std::string bad_pair = urm::test::write_temp_file("bad_pair.json", bad.dump());
  CHECK_THROWS_WITH_AS(urm::Tokenizer::load(bad_pair), (bad_pair + ": model.merges[1]: expected \"left right\" or [\"left\", \"right\"]").c_str(),
                       urm::Error);
  bad = j;
  bad["model"]["vocab"]["a"] = {1};
  const std::string bad_vocab = urm::test::write_temp_file("bad_vocab.json", bad.dump());
  CHECK_THROWS_WITH_AS(urm::Tokenizer::load(bad_vocab), (bad_vocab + ": model.vocab[\"a\"]: expected an integer id").c_str(), urm::Error);

  const std::string truncated = urm::test::write_temp_file("truncated.json", "{\"model\": {\"vocab\": {\"a\": 1");
  CHECK_THROWS_WITH_AS(urm::Tokenizer::load(truncated),
                       (truncated + ": invalid JSON: parse error at line 1, column 28: syntax error while parsing object - unexpected end of input; "
                        "expected '}'").c_str(),
                       urm::Error);
  CHECK_THROWS_WITH_AS(urm::Tokenizer::load("/nonexistent/tokenizer.json"), "/nonexistent/tokenizer.json: cannot open: No such file or directory",
                       urm::Error);
}

TEST_CASE("more merges than the packed merge table holds is an error") {
  nlohmann::json j = tiny_tokenizer_json();
  nlohmann::json& merges = j["model"]["merges"];
  merges = nlohmann::json::array();
  for (std::uint32_t i = 0; i <= urm::detail::MergeMap::kMaxRank + 1; ++i) merges.push_back("h e");  // 1,048,576
  CHECK_THROWS_WITH_AS(tiny(j), "tiny: unsupported model.merges: more than 1048575 merges", urm::Error);
  merges.erase(merges.size() - 1);  // 1,048,575: the most there may be (a pair listed again keeps its last rank)
  CHECK(tiny(j).encode("he", false) == Ids{256});
}

TEST_CASE("long runs: one word each, encoded without quadratic work") {
  const urm::Tokenizer t = tiny();
  // 99,999 spaces then " x": \s+(?!\S) leaves the last space to lead "x".
  Ids want(99'999, 32);
  want.insert(want.end(), {32, 120});
  CHECK(t.encode(std::string(100'000, ' ') + "x", false) == want);
  CHECK(t.encode(std::string(100'000, '\n'), false) == Ids(100'000, 10));
  const std::string letters(200'000, 'h');  // one 200 kB word: BPE over 200k symbols
  CHECK(t.encode(letters, false) == Ids(200'000, 104));
  const std::string hello = [] {
    std::string s;
    for (int i = 0; i < 20'000; ++i) s += "hello";
    return s;
  }();
  CHECK(t.encode(hello, false) == Ids(20'000, 259));  // hellohello… merges into "hello"s
}

TEST_CASE("word cache: hits by hash and bytes, misses on a hash collision, bounded per shard") {
  using Cache = urm::detail::BpeWordCache;
  const Cache cache;
  Ids out;
  CHECK_FALSE(cache.find("hello", 7, out));
  cache.insert("hello", 7, Ids{1, 2});
  cache.insert("world", 7 + Cache::kSlotsPerShard, Ids{3});  // same shard, same first slot: probes on
  cache.insert("other", 7, Ids{4});                          // the same hash as "hello": not "hello"
  CHECK(cache.find("hello", 7, out));
  CHECK(cache.find("world", 7 + Cache::kSlotsPerShard, out));
  CHECK(cache.find("other", 7, out));
  CHECK(out == Ids{1, 2, 3, 4});
  CHECK_FALSE(cache.find("hellp", 7, out));  // same hash and length, other bytes
  CHECK_FALSE(cache.find("hello", 8, out));
  const std::string long_word(Cache::kMaxWordBytes + 1, 'a');
  cache.insert(long_word, 9, Ids{5});
  CHECK_FALSE(cache.find(long_word, 9, out));
  CHECK(out == Ids{1, 2, 3, 4});
  // A shard that is full is emptied before the next insertion.
  for (std::uint64_t k = 0; k < Cache::kMaxEntriesPerShard - 3; ++k) cache.insert(std::to_string(k) + "w", 100 + k, Ids{6});
  CHECK(cache.find("hello", 7, out));
  cache.insert("last", 99, Ids{7});
  CHECK_FALSE(cache.find("hello", 7, out));
  CHECK(cache.find("last", 99, out));
  CHECK(out == Ids{1, 2, 3, 4, 1, 2, 7});
}

TEST_CASE("load_up_to_8 is the zero-padded memcpy of 0 to 8 bytes") {
  const char bytes[] = "\x01\x82\x03\xF4\x05\x06\x87\x08";
  for (std::size_t n = 0; n <= 8; ++n) {
    std::uint64_t want = 0;
    std::memcpy(&want, bytes, n);
    CHECK(urm::detail::load_up_to_8(bytes, n) == want);
  }
}
