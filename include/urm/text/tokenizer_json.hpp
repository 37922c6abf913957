// tokenizer.json reading — the file split into its small configuration and
// its two big tables, model.vocab and model.merges, which go to a sink.
//
// A Llama-3 tokenizer.json is 9 MB, almost all of it 128k vocabulary entries
// and 280k merges. Building an nlohmann::json tree of it alone takes ~130 ms;
// the SAX reader here hands those two tables entry by entry to the sink and
// builds a tree only of the rest.
//
// Sink interface (Tokenizer's builder implements it):
//   void vocab_entry(std::string_view token, std::int64_t id);
//   void vocab_end();                       // model.vocab is complete
//   void merge(std::string_view left, std::string_view right);  // in file order
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "urm/core/error.hpp"
#include "urm/core/json.hpp"
#include "urm/core/mapped_file.hpp"

namespace urm::detail {

struct TokenizerJson {
  nlohmann::json config;  // the document, less model.vocab and model.merges
  bool has_vocab = false, has_merges = false;
};

// model.merges entries are "a b" (one space) or ["a", "b"]. `where` names the
// entry in an error message (a callable, so that no message is built for the
// 280k entries that are fine).
template <class Sink, class Where>
void merge_from_string(Sink& sink, std::string_view s, Where where) {
  const auto space = s.find(' ');
  if (space == std::string_view::npos || s.find(' ', space + 1) != std::string_view::npos)
    throw Error(where() + ": expected \"left right\" (two tokens separated by one space), got \"" + std::string(s) + "\"");
  sink.merge(s.substr(0, space), s.substr(space + 1));
}

// The same split of an already parsed document (Tokenizer::from_json).
template <class Sink>
TokenizerJson split_tokenizer_json(const nlohmann::json& j, const std::string& source, Sink& sink) {
  TokenizerJson out;
  if (!j.is_object()) throw Error(source + ": expected a JSON object at the top level");
  out.config = nlohmann::json::object();
  for (const auto& [key, value] : j.items()) {
    if (key != "model" || !value.is_object()) {
      out.config[key] = value;
      continue;
    }
    nlohmann::json& model = out.config["model"] = nlohmann::json::object();
    for (const auto& [mkey, mvalue] : value.items())
      if (!((mkey == "vocab" && mvalue.is_object()) || (mkey == "merges" && mvalue.is_array()))) model[mkey] = mvalue;
    // The vocabulary first, as in a file, so that merges resolve as they come.
    if (const auto v = value.find("vocab"); v != value.end() && v->is_object()) {
      out.has_vocab = true;
      for (const auto& [token, id] : v->items()) {
        if (!id.is_number_integer()) throw Error(source + ": model.vocab[\"" + token + "\"]: expected an integer id");
        sink.vocab_entry(token, id.template get<std::int64_t>());
      }
      sink.vocab_end();
    }
    if (const auto m = value.find("merges"); m != value.end() && m->is_array()) {
      out.has_merges = true;
      for (std::size_t i = 0; i < m->size(); ++i) {
        const auto& e = (*m)[i];
        const auto where = [&] { return source + ": model.merges[" + std::to_string(i) + "]"; };
        if (e.is_string()) {
          merge_from_string(sink, e.template get_ref<const std::string&>(), where);
        } else if (e.is_array() && e.size() == 2 && e[0].is_string() && e[1].is_string()) {
          sink.merge(e[0].template get_ref<const std::string&>(), e[1].template get_ref<const std::string&>());
        } else {
          throw Error(where() + ": expected \"left right\" or [\"left\", \"right\"]");
        }
      }
    }
  }
  return out;
}

namespace tokenizer_json_sax {

// SAX handler: a DOM builder that diverts model.vocab and model.merges.
template <class Sink>
class Reader : public nlohmann::json_sax<nlohmann::json> {
 public:
  Reader(TokenizerJson& out, Sink& sink, const std::string& source) : out_(out), sink_(sink), source_(source) {}

  bool null() override { return value(nullptr); }
  bool boolean(bool v) override { return value(v); }
  bool number_integer(number_integer_t v) override {
    if (mode_ == Mode::kVocab) return vocab_id(v);
    return value(v);
  }
  bool number_unsigned(number_unsigned_t v) override {
    if (mode_ == Mode::kVocab) return vocab_id(v > 0x7FFFFFFFFFFFull ? std::int64_t{-1} : static_cast<std::int64_t>(v));
    return value(v);
  }
  bool number_float(number_float_t v, const string_t&) override { return value(v); }
  bool binary(binary_t&) override { return value(nullptr); }
  bool string(string_t& s) override {
    if (mode_ == Mode::kMerges) {
      merge_from_string(sink_, s, [&] { return source_ + ": " + merge_path(); });
      ++n_merges_;
      return true;
    }
    if (mode_ == Mode::kMergePair) {
      if (n_pair_ == 2) bad_merge();
      pair_[n_pair_++] = std::move(s);
      return true;
    }
    return value(std::move(s));
  }
  bool key(string_t& k) override {
    key_ = std::move(k);
    return true;
  }
  bool start_object(std::size_t) override {
    if (mode_ != Mode::kNone) return value(nullptr);  // reports the error
    if (in_model() && key_ == "vocab") {
      mode_ = Mode::kVocab;
      out_.has_vocab = true;
      return true;
    }
    return open(nlohmann::json::object());
  }
  bool end_object() override {
    if (mode_ == Mode::kVocab) {
      mode_ = Mode::kNone;
      sink_.vocab_end();
      return true;
    }
    stack_.pop_back();
    return true;
  }
  bool start_array(std::size_t) override {
    if (mode_ == Mode::kMerges) {
      mode_ = Mode::kMergePair;
      n_pair_ = 0;
      return true;
    }
    if (mode_ != Mode::kNone) return value(nullptr);  // reports the error
    if (in_model() && key_ == "merges") {
      mode_ = Mode::kMerges;
      out_.has_merges = true;
      return true;
    }
    return open(nlohmann::json::array());
  }
  bool end_array() override {
    if (mode_ == Mode::kMergePair) {
      if (n_pair_ != 2) bad_merge();
      sink_.merge(pair_[0], pair_[1]);
      ++n_merges_;
      mode_ = Mode::kMerges;
      return true;
    }
    if (mode_ == Mode::kMerges) {
      mode_ = Mode::kNone;
      return true;
    }
    stack_.pop_back();
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e) override {
    // e.what() is "[json.exception.parse_error.101] parse error at line L, column C: …": keep what follows the tag.
    std::string what = e.what();
    if (const auto p = what.find("] "); p != std::string::npos) what = what.substr(p + 2);
    throw Error(source_ + ": invalid JSON: " + what);
  }

 private:
  enum class Mode { kNone, kVocab, kMerges, kMergePair };

  std::string merge_path() const { return "model.merges[" + std::to_string(n_merges_) + "]"; }
  [[noreturn]] void bad_merge() const {
    throw Error(source_ + ": " + merge_path() + ": expected \"left right\" or [\"left\", \"right\"]");
  }

  // True when the next value is a member of the top-level "model" object.
  bool in_model() const { return stack_.size() == 2 && model_ != nullptr && stack_.back() == model_; }

  bool vocab_id(std::int64_t id) {
    sink_.vocab_entry(key_, id);
    return true;
  }

  // Places v in the tree (as the root, an array element, or the member key_).
  nlohmann::json* place(nlohmann::json&& v) {
    if (stack_.empty()) {
      out_.config = std::move(v);
      return &out_.config;
    }
    nlohmann::json& parent = *stack_.back();
    if (parent.is_array()) {
      parent.push_back(std::move(v));
      return &parent.back();
    }
    nlohmann::json& slot = parent[key_];
    slot = std::move(v);
    return &slot;
  }
  bool value(nlohmann::json&& v) {
    if (mode_ == Mode::kVocab) throw Error(source_ + ": model.vocab[\"" + key_ + "\"]: expected an integer id");
    if (mode_ != Mode::kNone) bad_merge();
    place(std::move(v));
    return true;
  }
  bool open(nlohmann::json&& container) {
    const bool is_model = stack_.size() == 1 && key_ == "model" && stack_.back()->is_object();
    nlohmann::json* p = place(std::move(container));
    if (is_model) model_ = p;
    stack_.push_back(p);
    return true;
  }

  TokenizerJson& out_;
  Sink& sink_;
  const std::string& source_;
  std::vector<nlohmann::json*> stack_;  // open containers, outermost first
  nlohmann::json* model_ = nullptr;
  std::string key_;
  Mode mode_ = Mode::kNone;
  std::string pair_[2];
  int n_pair_ = 0;
  std::size_t n_merges_ = 0;
};

}  // namespace tokenizer_json_sax

// Largest tokenizer.json read: Llama-3's is 9 MB, Gemma's 34 MB.
inline constexpr std::uint64_t kTokenizerJsonMaxBytes = 1'000'000'000;

template <class Sink>
TokenizerJson read_tokenizer_json(const std::string& path, Sink& sink) {
  const MappedFile file = MappedFile::open(path, kTokenizerJsonMaxBytes, "a tokenizer.json");
  const char* begin = reinterpret_cast<const char*>(file.data());
  // (nlohmann's lexer would take a NUL for the end of the input.)
  if (const std::string nul = find_nul_byte(std::string_view(begin, file.size())); !nul.empty())
    throw Error(path + ": invalid JSON: " + nul);
  TokenizerJson out;
  tokenizer_json_sax::Reader<Sink> reader(out, sink, path);
  nlohmann::json::sax_parse(begin, begin + file.size(), &reader);
  if (!out.config.is_object()) throw Error(path + ": expected a JSON object at the top level");
  return out;
}

}  // namespace urm::detail
