// ConversationEncoder: conversation -> ids, against the chat_golden fixture
// (transformers' tokenizer(apply_chat_template(...)) and
// apply_chat_template(tokenize=True)) for both Llama-3 tokenizers.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "support/chat_golden.hpp"
#include "support/llama3_tokenizers.hpp"
#include "urm/text/conversation_encoder.hpp"

using urm::BosPolicy;
using urm::Conversation;
using urm::ConversationEncoder;

TEST_CASE("conversation encoder: card pipeline and single-BOS ids identical to transformers on chat_golden") {
  for (const std::string variant : {"llama3-base", "llama3-rm"}) {
    CAPTURE(variant);
    const std::string dir = urm::test::llama3_tokenizer_dir(variant);
    const auto card = ConversationEncoder::load(dir);
    const auto single = ConversationEncoder::load(dir, {.bos_policy = BosPolicy::Single});
    CHECK(card.bos_policy() == BosPolicy::CardPipeline);
    const auto cases = urm::test::chat_golden_cases(variant);
    REQUIRE(cases.size() == 25);
    int identical = 0;
    for (std::size_t i = 0; i < cases.size(); ++i) {
      CAPTURE(i);
      CHECK(card.render(cases[i].messages) == cases[i].text);
      const auto ids_card = card.encode(cases[i].messages);
      const auto ids_single = single.encode(cases[i].messages);
      CHECK(ids_card == cases[i].ids_card_pipeline);
      CHECK(ids_single == cases[i].ids_apply_chat_template);
      identical += ids_card == cases[i].ids_card_pipeline && ids_single == cases[i].ids_apply_chat_template;
    }
    CHECK(identical == 25);
  }
}

TEST_CASE("conversation encoder: UTF-8 is checked once, by the template's render, not again by the tokenizer") {
  const auto encoder = ConversationEncoder::load(urm::test::llama3_tokenizer_dir("llama3-rm"));
  for (const auto& c : urm::test::chat_golden_cases("llama3-rm")) {
    const std::string text = encoder.render(c.messages);
    CHECK(urm::detail::find_invalid_utf8(text) == std::string_view::npos);
    CHECK(encoder.encode(c.messages) == encoder.tokenizer().encode(text, true));  // the checked entry agrees
  }
  const Conversation bad{{"user", "ok"}, {"assistant", "caf\xC3"}};
  CHECK_THROWS_WITH_AS(encoder.encode(bad), "messages[1].content: not valid UTF-8 (byte 3)", urm::Error);
  CHECK_THROWS_WITH_AS(encoder.tokenizer().encode("caf\xC3", true), "Tokenizer::encode: invalid UTF-8 at byte offset 3",
                       urm::Error);
}

TEST_CASE("conversation encoder: StripTemplateBos (Skywork-Reward-V2's card) removes the template's BOS string") {
  for (const std::string variant : {"llama3-base", "llama3-rm"}) {
    CAPTURE(variant);
    const std::string dir = urm::test::llama3_tokenizer_dir(variant);
    const auto strip = ConversationEncoder::load(dir, {.bos_policy = BosPolicy::StripTemplateBos});
    CHECK(strip.bos_policy() == BosPolicy::StripTemplateBos);
    for (const auto& c : urm::test::chat_golden_cases(variant)) {
      // Rendered text without its leading "<|begin_of_text|>", encoded with the post-processor's tokens.
      REQUIRE(c.text.starts_with("<|begin_of_text|>"));
      const auto want = strip.tokenizer().encode(c.text.substr(std::string("<|begin_of_text|>").size()), true);
      CHECK(strip.encode(c.messages) == want);
      // llama3-rm's post-processor prepends the one BOS: apply_chat_template's ids.
      if (variant == "llama3-rm") CHECK(strip.encode(c.messages) == c.ids_apply_chat_template);
    }
  }
}

TEST_CASE("conversation encoder: the reward-model tokenizer gives two <|begin_of_text|> by default") {
  const Conversation c{{"user", "when were the first Olympic Games held?"}, {"assistant", "April 1896"}};
  const auto card = ConversationEncoder::load(urm::test::llama3_tokenizer_dir("llama3-rm"));
  const auto ids = card.encode(c);
  REQUIRE(ids.size() > 3);
  CHECK(ids[0] == 128000);
  CHECK(ids[1] == 128000);
  CHECK(ids[2] == 128006);  // <|start_header_id|>
  const auto single = ConversationEncoder::load(urm::test::llama3_tokenizer_dir("llama3-rm"), {.bos_policy = BosPolicy::Single});
  const auto one = single.encode(c);
  CHECK(one == std::vector<std::int32_t>(ids.begin() + 1, ids.end()));
  // The base tokenizer's post-processor adds nothing: both policies agree.
  const auto base = ConversationEncoder::load(urm::test::llama3_tokenizer_dir("llama3-base"));
  CHECK(base.encode(c) == one);
  CHECK(base.tokenizer().vocab_size() == 128256);
  CHECK(card.tokenizer().vocab_size() == 128257);
  CHECK(card.special_tokens().pad_token == "[PAD]");
}

TEST_CASE("conversation encoder: a chat_template.jinja beside the config replaces its template") {
  const std::filesystem::path dir = urm::test::test_temp_dir() / "with-jinja";
  std::filesystem::create_directories(dir);
  const std::string rm = urm::test::llama3_tokenizer_dir("llama3-rm");
  std::filesystem::copy_file(rm + "/tokenizer.json", dir / "tokenizer.json", std::filesystem::copy_options::overwrite_existing);
  std::filesystem::copy_file(rm + "/tokenizer_config.json", dir / "tokenizer_config.json",
                             std::filesystem::copy_options::overwrite_existing);
  std::ofstream(dir / "chat_template.jinja") << "{% for m in messages %}{{ m.role | upper }}: {{ m.content }}\n{% endfor %}";
  const auto encoder = ConversationEncoder::load(dir.string(), {.bos_policy = BosPolicy::Single});
  const Conversation c{{"user", "Hi"}, {"assistant", "Hello"}};
  CHECK(encoder.render(c) == "USER: Hi\nASSISTANT: Hello\n");
  CHECK(encoder.tokenizer().decode(encoder.encode(c)) == "USER: Hi\nASSISTANT: Hello\n");
  CHECK_THROWS_WITH_AS(ConversationEncoder::load(dir.string(), {.chat_template_name = "tool_use"}),
                       ((dir / "chat_template.jinja").string() + ": no chat template named 'tool_use' (available: 'default')").c_str(),
                       urm::Error);
}

TEST_CASE("conversation encoder: missing files are errors naming them") {
  const std::filesystem::path dir = urm::test::test_temp_dir() / "empty";
  std::filesystem::create_directories(dir);
  CHECK_THROWS_WITH_AS(ConversationEncoder::load(dir.string()),
                       ((dir / "tokenizer_config.json").string() + ": cannot open: No such file or directory").c_str(), urm::Error);
}

TEST_CASE("conversation encoder: one encoder serves several threads at once") {
  const auto encoder = ConversationEncoder::load(urm::test::llama3_tokenizer_dir("llama3-rm"));
  const auto cases = urm::test::chat_golden_cases("llama3-rm");
  std::vector<int> identical(4, 0);
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < identical.size(); ++t)
    threads.emplace_back([&, t] {
      for (int round = 0; round < 5; ++round)
        for (const auto& c : cases) identical[t] += encoder.encode(c.messages) == c.ids_card_pipeline;
    });
  for (auto& t : threads) t.join();
  for (const int n : identical) CHECK(n == 5 * 25);
}

TEST_CASE("conversation encoder: a template that renders no text is an error, not a lone BOS") {
  const std::string rm = urm::test::llama3_tokenizer_dir("llama3-rm");
  const urm::Tokenizer tokenizer = urm::Tokenizer::load(rm + "/tokenizer.json");
  const ConversationEncoder empty(tokenizer, urm::ChatTemplate("{% for m in messages if m.role == 'system' %}{{ m.content }}{% endfor %}", "t"), {});
  CHECK(empty.encode({{"system", "s"}}).size() == 2);  // BOS + "s"
  CHECK_THROWS_WITH_AS(empty.encode({{"user", "x"}}), "t: rendered this conversation as empty text; there is nothing to score",
                       urm::Error);
  const ConversationEncoder undefined(tokenizer, urm::ChatTemplate("{{ undefined_variable }}", "u"), {});
  CHECK_THROWS_WITH_AS(undefined.encode({{"user", "x"}}), "u: rendered this conversation as empty text; there is nothing to score",
                       urm::Error);
}

TEST_CASE("conversation encoder: the date option fixes strftime_now; a bad date is an error") {
  const std::string rm = urm::test::llama3_tokenizer_dir("llama3-rm");
  const urm::Tokenizer tokenizer = urm::Tokenizer::load(rm + "/tokenizer.json");
  const urm::ChatTemplate dated("Today Date: {{ strftime_now('%d %b %Y') }}", "t");
  const ConversationEncoder fixed(tokenizer, dated, {}, BosPolicy::Single, {.date = "2024-07-26"});
  CHECK(fixed.render({{"user", "x"}}) == "Today Date: 26 Jul 2024");
  const ConversationEncoder today(tokenizer, dated, {});
  CHECK(today.render({{"user", "x"}}).size() == std::string("Today Date: 01 Jan 2025").size());
  CHECK_THROWS_WITH_AS(ConversationEncoder(tokenizer, dated, {}, BosPolicy::Single, {.date = "2024-02-30"}),
                       "date: expected a date YYYY-MM-DD, got \"2024-02-30\"", urm::Error);
}
