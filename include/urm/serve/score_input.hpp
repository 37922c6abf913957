// ScoreInput — one input line of urm-score (and of any service that takes the
// same JSON Lines), parsed:
//
//   {"messages": [{"role": "user", "content": "…"}, …]}   a conversation
//   {"input_ids": [128000, 9906, …]}                       token ids, as given
//   {"text": "<|begin_of_text|>…"}                         a text already in the chat format
//
// A conversation may carry what chat templates read (text/conversation_json.hpp):
// per message any fields beyond role and content (tool_calls,
// reasoning_content, name, …; content may then be null or a list of parts),
// and "tools", "documents" and "chat_template_kwargs" at the top. Other keys
// are ignored. The line is first read without building a JSON tree and
// without recursion (see ScoreLineHandler), so neither a huge nor a deeply
// nested line can exhaust the stack, and its memory is the size of what it
// keeps; only a valid conversation that has such fields is then parsed into
// a tree (nesting ≤ kJsonMaxDepth, checked by the first pass) for
// conversation_from_json. fuzz/fuzz_score_line.cpp checks the first pass
// against a parse into a tree.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "urm/core/error.hpp"
#include "urm/core/json.hpp"
#include "urm/text/conversation.hpp"
#include "urm/text/conversation_json.hpp"

namespace urm {

// A line's input: a conversation, a text or token ids (exactly one).
struct ScoreInput {
  std::optional<Conversation> conversation;
  std::vector<std::int32_t> ids;  // when there is no conversation and no text
  std::optional<std::string> text;
};

namespace detail {

// The SAX handler of parse_score_input: builds the ScoreInput while the line
// is read, never a JSON tree. Memory is the input's own size (4 bytes per
// token id, the message strings moved out of the lexer), and nothing
// recurses, so any nesting depth is harmless: values the format does not use
// (other keys, wrong types) are stepped over by counting brackets.
//
// The first error of each section ("input_ids", "messages") is kept and the
// line is read to its end, so that which error is reported does not depend on
// key order: invalid JSON first, then the shape of the object, then its
// contents (the order of a parse into a tree followed by checks).
class ScoreLineHandler {
 public:
  using json = nlohmann::json;

  bool null() { return scalar([] { return std::string("null"); }, std::nullopt, nullptr, true); }
  bool boolean(bool v) { return scalar([v] { return std::string(v ? "true" : "false"); }); }
  bool number_integer(json::number_integer_t v) { return scalar([v] { return std::to_string(v); }, v); }
  bool number_unsigned(json::number_unsigned_t v) {
    return scalar([v] { return std::to_string(v); },
                  v <= static_cast<std::uint64_t>(std::numeric_limits<std::int32_t>::max())
                      ? std::optional<std::int64_t>(static_cast<std::int64_t>(v))
                      : std::nullopt);
  }
  bool number_float(json::number_float_t v, const json::string_t&) {
    return scalar([v] { return json(v).dump(); });
  }
  bool string(json::string_t& v) { return scalar([&v] { return quote_string(v); }, std::nullopt, &v); }
  bool binary(json::binary_t&) { return scalar([] { return std::string("binary data"); }); }

  bool start_object(std::size_t) { return open(true); }
  bool start_array(std::size_t) { return open(false); }
  bool end_object() { return close(); }
  bool end_array() { return close(); }

  bool key(json::string_t& k) {
    if (skipping()) return true;
    if (depth_ == 1) {
      section_ = k == "input_ids" ? Section::Ids
                 : k == "messages" ? Section::Messages
                 : k == "text"     ? Section::Text
                                   : Section::Other;
      if (k == "tools" || k == "documents" || k == "chat_template_kwargs") template_inputs_ = true;
      bool& seen = section_ == Section::Ids ? has_ids_ : section_ == Section::Messages ? has_messages_ : has_text_;
      if (section_ != Section::Other && std::exchange(seen, true) && !duplicate_)
        duplicate_ = "duplicate key " + quote_string(k);
    } else if (depth_ == 3) {
      field_ = k == "role" ? Field::Role : k == "content" ? Field::Content : Field::Other;
      if (field_ == Field::Other) template_inputs_ = true;
      if (field_ != Field::Other && std::exchange(message_[field_ == Field::Role ? 0 : 1].seen, true) &&
          !message_duplicate_)
        message_duplicate_ = "duplicate key " + quote_string(k);
    }
    return true;
  }

  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e) {
    syntax_error_ = json_error_message(e);
    return false;
  }

  // Whether the conversation has more than role and string content: the
  // caller then reads it with conversation_from_json.
  bool has_template_inputs() const { return template_inputs_; }

  // The result, or urm::Error, once the parse has ended.
  ScoreInput finish() {
    if (syntax_error_) throw Error("invalid JSON: " + *syntax_error_);
    if (!top_is_object_ || int{has_ids_} + int{has_messages_} + int{has_text_} != 1)
      throw Error("expected a JSON object with one of \"messages\", \"input_ids\" or \"text\"");
    if (duplicate_) throw Error(*duplicate_);
    ScoreInput in;
    if (has_text_) {
      if (text_error_) throw Error(*text_error_);
      in.text = std::move(text_);
    } else if (has_ids_) {
      if (ids_error_) throw Error(*ids_error_);
      in.ids = std::move(ids_);
    } else {
      if (messages_error_) throw Error(*messages_error_);
      in.conversation = std::move(conversation_);
    }
    return in;
  }

 private:
  enum class Section : std::uint8_t { Ids, Messages, Text, Other };  // of the top-level key being read
  enum class Field : std::uint8_t { Role, Content, Other };     // of the message key being read

  // A message's "role" or "content" as read so far.
  struct MessageField {
    bool seen = false;
    std::optional<std::string> value;  // when it was a string
    std::string bad;                   // what it was instead, for the message
  };

  bool skipping() const { return skip_from_ != 0; }
  void skip_this_container() { skip_from_ = depth_ + 1; }  // the one being opened

  void ids_fail(const std::string& what) {
    if (!ids_error_) ids_error_ = what;
    ids_ = {};
  }
  void messages_fail(const std::string& what) {
    if (!messages_error_) messages_error_ = what;
    conversation_ = {};
  }
  std::string id_at() const { return "input_ids[" + std::to_string(n_ids_) + "]"; }
  std::string message_at() const { return "messages[" + std::to_string(n_messages_) + "]"; }

  static constexpr const char* kExpectIds = "input_ids: expected an array of token ids, got ";
  static constexpr const char* kExpectMessages = "messages: expected an array of {\"role\", \"content\"} objects";
  static constexpr const char* kExpectMessage = ": expected an object with \"role\" and \"content\", got ";

  // A scalar value where the state says; `describe` makes its text for a
  // message, `id` is set for an integer that fits in 32 bits, `text` for a
  // string, `is_null` for null.
  template <class Describe>
  bool scalar(Describe describe, std::optional<std::int64_t> id = std::nullopt, json::string_t* text = nullptr,
              bool is_null = false) {
    if (skipping()) return true;
    if (depth_ == 0) {
      top_is_object_ = false;
    } else if (depth_ == 1) {
      if (section_ == Section::Ids) ids_fail(kExpectIds + describe());
      if (section_ == Section::Messages) messages_fail(kExpectMessages);
      if (section_ == Section::Text) {
        if (text)
          text_ = std::move(*text);
        else if (!text_error_)
          text_error_ = "text: expected a string, got " + describe();
      }
    } else if (depth_ == 2 && in_ids_) {
      if (id && *id >= std::numeric_limits<std::int32_t>::min() && *id <= std::numeric_limits<std::int32_t>::max()) {
        if (!ids_error_) ids_.push_back(static_cast<std::int32_t>(*id));
      } else {
        ids_fail(id_at() + ": expected a 32-bit integer, got " + describe());
      }
      ++n_ids_;
    } else if (depth_ == 2) {  // an element of messages
      messages_fail(message_at() + kExpectMessage + describe());
      ++n_messages_;
    } else if (depth_ == 3 && field_ != Field::Other) {
      MessageField& f = message_[field_ == Field::Role ? 0 : 1];
      if (text) {
        f.value = std::move(*text);
        f.bad.clear();
      } else if (field_ == Field::Content && is_null) {  // content: null (a tool call)
        f.value = std::string();
        f.bad.clear();
        template_inputs_ = true;
      } else {
        f.value.reset();
        f.bad = describe();
      }
    }
    return true;
  }

  bool open(bool is_object) {
    const char* kind = is_object ? "an object" : "an array";
    if (!skipping()) {
      if (depth_ == 0) {
        top_is_object_ = is_object;
        if (!is_object) skip_this_container();
      } else if (depth_ == 1) {
        if (section_ == Section::Ids && !is_object) {
          in_ids_ = true;
        } else if (section_ == Section::Messages && !is_object) {
          in_messages_ = true;
        } else {
          if (section_ == Section::Ids) ids_fail(kExpectIds + std::string(kind));
          if (section_ == Section::Messages) messages_fail(kExpectMessages);
          if (section_ == Section::Text && !text_error_) text_error_ = "text: expected a string, got " + std::string(kind);
          skip_this_container();
        }
      } else if (depth_ == 2 && in_ids_) {
        ids_fail(id_at() + ": expected a 32-bit integer, got " + kind);
        ++n_ids_;
        skip_this_container();
      } else if (depth_ == 2) {
        if (is_object) {
          message_[0] = message_[1] = {};
          message_duplicate_.reset();
        } else {
          messages_fail(message_at() + kExpectMessage + kind);
          ++n_messages_;
          skip_this_container();
        }
      } else if (depth_ == 3) {
        if (field_ == Field::Content && !is_object) {  // a list of parts
          message_[1].value = std::string();
          message_[1].bad.clear();
          template_inputs_ = true;
        } else if (field_ != Field::Other) {
          MessageField& f = message_[field_ == Field::Role ? 0 : 1];
          f.value.reset();
          f.bad = kind;
        }
        skip_this_container();
      }
    }
    ++depth_;
    return true;
  }

  bool close() {
    --depth_;
    if (skipping()) {
      if (depth_ + 1 == skip_from_) skip_from_ = 0;  // the skipped container has ended
      return true;
    }
    if (depth_ == 2 && in_messages_) end_message();
    if (depth_ == 1) in_ids_ = in_messages_ = false;
    return true;
  }

  // The message object just closed: checked as the tree reader would, "role" first.
  void end_message() {
    const std::string at = message_at();
    ++n_messages_;
    if (messages_error_) return;
    if (message_duplicate_) return messages_fail(at + ": " + *message_duplicate_);
    if (!message_[0].value)
      return messages_fail(at + ".role: expected a string" +
                           (message_[0].seen ? ", got " + message_[0].bad : std::string(", missing")));
    if (!message_[1].value)
      return messages_fail(at + ".content: " +
                           (message_[1].seen ? "expected a string, null or a list of parts, got " + message_[1].bad
                                             : std::string("missing (a string, null or a list of parts)")));
    conversation_.push_back({std::move(*message_[0].value), std::move(*message_[1].value)});
  }

  std::size_t depth_ = 0;      // containers open
  std::size_t skip_from_ = 0;  // while a container is stepped over: depth_ inside it (0: not skipping)
  bool top_is_object_ = false;
  bool template_inputs_ = false;
  Section section_ = Section::Other;
  Field field_ = Field::Other;
  bool has_ids_ = false, has_messages_ = false, has_text_ = false;
  bool in_ids_ = false, in_messages_ = false;  // inside the input_ids / messages array (depth 2)
  std::size_t n_ids_ = 0, n_messages_ = 0;     // elements seen
  std::vector<std::int32_t> ids_;
  Conversation conversation_;
  MessageField message_[2];  // role, content of the message being read
  std::optional<std::string> message_duplicate_, duplicate_;
  std::string text_;
  std::optional<std::string> syntax_error_, ids_error_, messages_error_, text_error_;
};

}  // namespace detail

// One input line, {"messages": [{"role": …, "content": …}, …], …},
// {"input_ids": [...]} or {"text": "…"}; other keys are ignored.
// Throws urm::Error naming the JSON path at fault, e.g.
// "input_ids[3]: expected a 32-bit integer, got 1.5". Values are quoted as
// describe_json does (strings cut, containers by kind), so no message grows
// with the input.
inline ScoreInput parse_score_input(std::string_view line) {
  if (const std::string nul = detail::find_nul_byte(line); !nul.empty()) throw Error("invalid JSON: " + nul);
  detail::ScoreLineHandler handler;
  nlohmann::json::sax_parse(line.begin(), line.end(), &handler);
  ScoreInput in = handler.finish();
  if (in.conversation && handler.has_template_inputs()) {
    // Valid JSON with a valid conversation: the tree is as deep as the line
    // (bounded, as every JSON urm.cpp reads) and costs a few times its size.
    const auto bounded = [](int depth, nlohmann::ordered_json::parse_event_t event, nlohmann::ordered_json&) {
      if ((event == nlohmann::ordered_json::parse_event_t::object_start ||
           event == nlohmann::ordered_json::parse_event_t::array_start) &&
          depth >= detail::kJsonMaxDepth)
        throw Error("invalid JSON: containers nest deeper than " + std::to_string(detail::kJsonMaxDepth) + " levels");
      return true;
    };
    in.conversation = conversation_from_json(nlohmann::ordered_json::parse(line.begin(), line.end(), bounded));
  }
  return in;
}

}  // namespace urm
