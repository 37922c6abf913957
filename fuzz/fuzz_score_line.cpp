// Fuzzes the parse of one urm-score input line (parse_score_input): for any
// bytes it must return or throw urm::Error, with a message of bounded length,
// and agree with a reference that parses the line into a JSON tree first and
// then checks it (the parser urm-score had before it read lines as events):
//   - the reference accepts  => the parse accepts, with the same ids or the
//     same conversation;
//   - the parse accepts      => the reference accepts;
//   - both reject            => with the same message, except where the
//     reference quotes a value in full (the parse describes it, cut) or the
//     line repeats a key (the reference keeps the last, the parse refuses).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "urm/core/error.hpp"
#include "urm/core/json.hpp"
#include "urm/serve/score_input.hpp"
#include "urm/text/conversation_json.hpp"

namespace {

// The tree-then-check parse, with describe_json where it used dump(), and
// conversation_from_json for the messages.
urm::ScoreInput reference_parse(std::string_view line) {
  using urm::Error;
  using urm::detail::describe_json;
  nlohmann::ordered_json j;
  try {
    j = nlohmann::ordered_json::parse(line);
  } catch (const nlohmann::json::exception& e) {  // parse_error, and out_of_range for 1e999
    throw Error("invalid JSON: " + urm::detail::json_error_message(e));
  }
  const bool has_messages = j.is_object() && j.contains("messages");
  const bool has_ids = j.is_object() && j.contains("input_ids");
  const bool has_text = j.is_object() && j.contains("text");
  if (int{has_messages} + int{has_ids} + int{has_text} != 1)
    throw Error("expected a JSON object with one of \"messages\", \"input_ids\" or \"text\"");
  urm::ScoreInput in;
  if (has_text) {
    if (!j["text"].is_string()) throw Error("text: expected a string, got " + describe_json(j["text"]));
    in.text = j["text"].get<std::string>();
    return in;
  }
  if (has_ids) {
    const auto& ids = j["input_ids"];
    if (!ids.is_array()) throw Error("input_ids: expected an array of token ids, got " + describe_json(ids));
    for (std::size_t i = 0; i < ids.size(); ++i) {
      const auto& v = ids[i];
      const bool ok = v.is_number_integer() && (v.is_number_unsigned()
                                                    ? v.get<std::uint64_t>() <= std::numeric_limits<std::int32_t>::max()
                                                    : v.get<std::int64_t>() >= std::numeric_limits<std::int32_t>::min() &&
                                                          v.get<std::int64_t>() <= std::numeric_limits<std::int32_t>::max());
      if (!ok) throw Error("input_ids[" + std::to_string(i) + "]: expected a 32-bit integer, got " + describe_json(v));
      in.ids.push_back(v.get<std::int32_t>());
    }
    return in;
  }
  in.conversation = urm::conversation_from_json(j);
  return in;
}

// What a parse gave: the input, or the error's message.
struct Outcome {
  std::optional<urm::ScoreInput> input;
  std::string error;
};

template <class Parse>
Outcome outcome(Parse parse, std::string_view line) {
  Outcome o;
  try {
    o.input = parse(line);
  } catch (const urm::Error& e) {
    o.error = e.what();
  }
  return o;
}

bool same(const urm::ScoreInput& a, const urm::ScoreInput& b) {
  if (a.conversation.has_value() != b.conversation.has_value() || a.ids != b.ids || a.text != b.text) return false;
  if (!a.conversation) return true;
  const urm::Conversation &x = *a.conversation, &y = *b.conversation;
  if (x.size() != y.size() || x.tools != y.tools || x.documents != y.documents || x.variables != y.variables)
    return false;
  for (std::size_t i = 0; i < x.size(); ++i)
    if (x[i].role != y[i].role || x[i].content != y[i].content || x[i].fields != y[i].fields) return false;
  return true;
}

// A key that occurs twice in one object, anywhere in the line (the reference keeps the last).
bool has_duplicate_key(std::string_view line) {
  bool duplicate = false;
  // (nlohmann's parser callback does not say which object a key belongs to.)
  struct Sax : nlohmann::json_sax<nlohmann::json> {
    std::vector<std::vector<std::string>> keys;
    bool* dup;
    explicit Sax(bool* d) : dup(d) {}
    bool null() override { return true; }
    bool boolean(bool) override { return true; }
    bool number_integer(number_integer_t) override { return true; }
    bool number_unsigned(number_unsigned_t) override { return true; }
    bool number_float(number_float_t, const string_t&) override { return true; }
    bool string(string_t&) override { return true; }
    bool binary(binary_t&) override { return true; }
    bool start_object(std::size_t) override {
      keys.emplace_back();
      return true;
    }
    bool key(string_t& k) override {
      for (const auto& seen : keys.back())
        if (seen == k) *dup = true;
      keys.back().push_back(k);
      return true;
    }
    bool end_object() override {
      keys.pop_back();
      return true;
    }
    bool start_array(std::size_t) override { return true; }
    bool end_array() override { return true; }
    bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override { return false; }
  } sax(&duplicate);
  nlohmann::json::sax_parse(line.begin(), line.end(), &sax);
  return duplicate;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view line(reinterpret_cast<const char*>(data), size);
  const Outcome got = outcome(urm::parse_score_input, line);
  // No message grows with the input: paths, kinds and values cut to 64 bytes.
  if (got.error.size() > 400) std::abort();
  // The reference cannot see NUL bytes (nlohmann stops at the first): the
  // parse must refuse them, and that is all there is to compare.
  if (line.find('\0') != std::string_view::npos) {
    if (got.input || got.error.rfind("invalid JSON: a NUL byte at byte ", 0) != 0) std::abort();
    return 0;
  }
  const Outcome want = outcome(reference_parse, line);
  if (has_duplicate_key(line)) {
    if (got.input && !want.input) std::abort();  // a repeated key never makes a bad line good
    return 0;
  }
  if (got.input.has_value() != want.input.has_value()) std::abort();
  if (got.input && !same(*got.input, *want.input)) std::abort();
  if (!got.input && got.error != want.error) std::abort();
  return 0;
}
