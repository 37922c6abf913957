// Inputs too big to tokenize: documented limits with errors saying so, not
// memory in proportion to the input (issue 10).
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "support/tokenizer_fixtures.hpp"
#include "urm/text/conversation_encoder.hpp"
#include "urm/text/tokenizer.hpp"

using Ids = std::vector<std::int32_t>;

TEST_CASE("max_tokens: encode stops as soon as the ids would be more; within it the ids are unchanged") {
  const urm::Tokenizer t = urm::test::tiny();
  CHECK(t.encode("hello hello", false) == Ids{259, 32, 259});
  CHECK(t.encode("hello hello", false, 3) == Ids{259, 32, 259});
  // " hello" (6 bytes) is at least 2 ids: the longest token is 5 bytes.
  CHECK_THROWS_WITH_AS(t.encode("hello hello", false, 2),
                       "Tokenizer::encode: the text has more than max_tokens = 2 tokens (stopped at byte 5 of 11)", urm::Error);
  // The post-processor's <s> counts.
  CHECK(t.encode("hello", true, 2) == Ids{300, 259});
  CHECK(t.encode("", true, 1) == Ids{300});
  CHECK_THROWS_WITH_AS(t.encode("hello", true, 1),
                       "Tokenizer::encode: the text has more than max_tokens = 1 tokens (stopped at byte 0 of 5)", urm::Error);
  CHECK_THROWS_WITH_AS(t.encode("x<s>", false, 1),
                       "Tokenizer::encode: the text has more than max_tokens = 1 tokens (stopped at byte 1 of 4)", urm::Error);
}

TEST_CASE("max_input_bytes and max_word_bytes: errors naming the limit, other inputs still work") {
  const urm::Tokenizer small_input = urm::test::tiny(urm::test::tiny_tokenizer_json(), {.max_input_bytes = 10});
  CHECK(small_input.encode("hello", false) == Ids{259});
  CHECK_THROWS_WITH_AS(small_input.encode("hello hello", false),
                       "Tokenizer::encode: the text is 11 bytes long, more than the 10 bytes of Tokenizer::Options::max_input_bytes",
                       urm::Error);
  const urm::Tokenizer small_words = urm::test::tiny(urm::test::tiny_tokenizer_json(), {.max_word_bytes = 4});
  CHECK(small_words.encode("hell o", false) == Ids{258, 32, 111});
  CHECK_THROWS_WITH_AS(small_words.encode("a hello", false),
                       "Tokenizer::encode: a word of 6 bytes at byte 1, more than the 4 bytes of Tokenizer::Options::max_word_bytes",
                       urm::Error);
}

TEST_CASE("a 100 MB single word is refused before BPE would need gigabytes") {
  const std::string word(100u << 20, 'h');
  // The defaults: 64 MiB of text at most.
  CHECK_THROWS_WITH_AS(urm::test::tiny().encode(word, false),
                       "Tokenizer::encode: the text is 104857600 bytes long, more than the 67108864 bytes of "
                       "Tokenizer::Options::max_input_bytes",
                       urm::Error);
  // Without the text limit: the word limit (1 MiB).
  const urm::Tokenizer no_text_limit = urm::test::tiny(urm::test::tiny_tokenizer_json(), {.max_input_bytes = 0});
  CHECK_THROWS_WITH_AS(no_text_limit.encode(word, false),
                       "Tokenizer::encode: a word of 104857600 bytes at byte 0, more than the 1048576 bytes of "
                       "Tokenizer::Options::max_word_bytes",
                       urm::Error);
  // Without either: max_tokens refuses it before merging (it is at least 20M ids).
  const urm::Tokenizer no_limits = urm::test::tiny(urm::test::tiny_tokenizer_json(), {.max_input_bytes = 0, .max_word_bytes = 0});
  CHECK_THROWS_WITH_AS(no_limits.encode(word, false, 8192),
                       "Tokenizer::encode: the text has more than max_tokens = 8192 tokens (stopped at byte 0 of 104857600)",
                       urm::Error);
  CHECK(no_limits.encode("hello", false, 8192) == Ids{259});
}

TEST_CASE("ConversationEncoder: too many messages or too much text says so before the template runs") {
  const urm::ConversationEncoder enc(urm::test::tiny(urm::test::tiny_tokenizer_json(), {.max_input_bytes = 100}),
                                     urm::ChatTemplate("{% for m in messages %}{{ m.content }}{% endfor %}"), urm::SpecialTokens{},
                                     urm::BosPolicy::Single, urm::RenderOptions{}, /*max_messages=*/3);
  CHECK(enc.encode({{"user", "he"}, {"assistant", "llo"}}) == Ids{259});
  CHECK_THROWS_WITH_AS(enc.encode({{"user", "a"}, {"user", "b"}, {"user", "c"}, {"user", "d"}}),
                       "the conversation has 4 messages, more than the 3 of ConversationEncoder::Options::max_messages", urm::Error);
  CHECK_THROWS_WITH_AS(enc.encode({{"user", "hi"}, {"assistant", std::string(200, 'x')}}),
                       "the conversation's text is more than the tokenizer's limit of 100 bytes "
                       "(Tokenizer::Options::max_input_bytes) by message 1 (of 200 bytes)",
                       urm::Error);
  CHECK_THROWS_WITH_AS(enc.encode({{"user", "hello hello"}}, 2),
                       "Tokenizer::encode: the text has more than max_tokens = 2 tokens (stopped at byte 5 of 11)", urm::Error);
  CHECK(urm::ConversationEncoderOptions{}.max_messages == 100'000);
}

TEST_CASE("max_tokens with a normalizer: positions are in the normalized text (found by fuzz_bpe_encode)") {
  nlohmann::json j = urm::test::tiny_tokenizer_json();
  j["normalizer"] = {{"type", "NFC"}};
  const urm::Tokenizer t = urm::test::tiny(j);
  CHECK(t.encode("<s>x[X]y <s>", false) == Ids{303, 301, 121, 32, 300});  // "<s>x" is an added token
  CHECK_THROWS_WITH_AS(t.encode("<s>x[X]y <s>", false, 4),
                       "Tokenizer::encode: the text has more than max_tokens = 4 tokens (stopped at byte 2 of 2)", urm::Error);
}
