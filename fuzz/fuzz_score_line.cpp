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

namespace {

// The tree-then-check parse, with describe_json where it used dump().
urm::ScoreInput reference_parse(std::string_view line) {
  using urm::Error;
  using urm::detail::describe_json;
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(line);
  } catch (const nlohmann::json::exception& e) {  // parse_error, and out_of_range for 1e999
    throw Error("invalid JSON: " + urm::detail::json_error_message(e));
  }
  const bool has_messages = j.is_object() && j.contains("messages");
  const bool has_ids = j.is_object() && j.contains("input_ids");
  if (has_messages == has_ids) throw Error("expected a JSON object with either \"messages\" or \"input_ids\"");
  urm::ScoreInput in;
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
  const auto& msgs = j["messages"];
  if (!msgs.is_array()) throw Error("messages: expected an array of {\"role\", \"content\"} objects");
  urm::Conversation conv;
  for (std::size_t i = 0; i < msgs.size(); ++i) {
    const std::string at = "messages[" + std::to_string(i) + "]";
    const auto& m = msgs[i];
    if (!m.is_object()) throw Error(at + ": expected an object with \"role\" and \"content\", got " + describe_json(m));
    for (const char* key : {"role", "content"})
      if (!m.contains(key) || !m[key].is_string())
        throw Error(at + "." + key + ": expected a string" +
                    (m.contains(key) ? ", got " + describe_json(m[key]) : std::string(", missing")));
    conv.push_back({m["role"].get<std::string>(), m["content"].get<std::string>()});
  }
  in.conversation = std::move(conv);
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
  if (a.conversation.has_value() != b.conversation.has_value() || a.ids != b.ids) return false;
  if (!a.conversation) return true;
  if (a.conversation->size() != b.conversation->size()) return false;
  for (std::size_t i = 0; i < a.conversation->size(); ++i)
    if ((*a.conversation)[i].role != (*b.conversation)[i].role ||
        (*a.conversation)[i].content != (*b.conversation)[i].content)
      return false;
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
