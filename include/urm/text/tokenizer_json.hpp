// tokenizer.json reading — the file split into its small configuration and
// its two big tables, model.vocab and model.merges.
//
// A Llama-3 tokenizer.json is 9 MB, almost all of it 128k vocabulary entries
// and 280k merges. Building an nlohmann::json tree of it takes ~130 ms; the
// SAX reader here streams those two tables straight into flat vectors and
// builds a tree only of the rest, which takes a quarter of that.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "urm/core/error.hpp"
#include "urm/core/mapped_file.hpp"

namespace urm::detail {

struct TokenizerJson {
  nlohmann::json config;  // the document, less model.vocab and model.merges
  std::vector<std::pair<std::string, std::int64_t>> vocab;  // model.vocab, in file order
  std::vector<std::pair<std::string, std::string>> merges;   // model.merges, in file order
  bool has_vocab = false, has_merges = false;
};

// model.merges entries are "a b" (one space) or ["a", "b"].
inline std::pair<std::string, std::string> split_merge(std::string_view s, const std::string& where) {
  const auto space = s.find(' ');
  if (space == std::string_view::npos || s.find(' ', space + 1) != std::string_view::npos)
    throw Error(where + ": expected \"left right\" (two tokens separated by one space), got \"" + std::string(s) + "\"");
  return {std::string(s.substr(0, space)), std::string(s.substr(space + 1))};
}

// The same split of an already parsed document (Tokenizer::from_json).
inline TokenizerJson split_tokenizer_json(const nlohmann::json& j, const std::string& source) {
  TokenizerJson out;
  if (!j.is_object()) throw Error(source + ": expected a JSON object at the top level");
  out.config = j;
  auto model = out.config.find("model");
  if (model == out.config.end() || !model->is_object()) return out;
  if (auto v = model->find("vocab"); v != model->end()) {
    if (!v->is_object()) throw Error(source + ": model.vocab: expected an object {token: id}");
    out.has_vocab = true;
    out.vocab.reserve(v->size());
    for (const auto& [token, id] : v->items()) {
      if (!id.is_number_integer()) throw Error(source + ": model.vocab[\"" + token + "\"]: expected an integer id");
      out.vocab.emplace_back(token, id.get<std::int64_t>());
    }
    model->erase(v);
  }
  if (auto m = model->find("merges"); m != model->end()) {
    if (!m->is_array()) throw Error(source + ": model.merges: expected an array");
    out.has_merges = true;
    out.merges.reserve(m->size());
    for (std::size_t i = 0; i < m->size(); ++i) {
      const auto& e = (*m)[i];
      const std::string where = source + ": model.merges[" + std::to_string(i) + "]";
      if (e.is_string()) {
        out.merges.push_back(split_merge(e.get_ref<const std::string&>(), where));
      } else if (e.is_array() && e.size() == 2 && e[0].is_string() && e[1].is_string()) {
        out.merges.emplace_back(e[0].get<std::string>(), e[1].get<std::string>());
      } else {
        throw Error(where + ": expected \"left right\" or [\"left\", \"right\"]");
      }
    }
    model->erase(m);
  }
  return out;
}

namespace tokenizer_json_sax {

// SAX handler: a DOM builder that diverts model.vocab and model.merges.
class Reader : public nlohmann::json_sax<nlohmann::json> {
 public:
  Reader(TokenizerJson& out, const std::string& source) : out_(out), source_(source) {}

  bool null() override { return value(nullptr); }
  bool boolean(bool v) override { return value(v); }
  bool number_integer(number_integer_t v) override { return mode_ == Mode::kVocab ? vocab_id(v) : value(v); }
  bool number_unsigned(number_unsigned_t v) override {
    if (mode_ == Mode::kVocab) return vocab_id(v > 0x7FFFFFFFFFFFull ? std::int64_t{-1} : static_cast<std::int64_t>(v));
    return value(v);
  }
  bool number_float(number_float_t v, const string_t&) override { return value(v); }
  bool binary(binary_t&) override { return value(nullptr); }
  bool string(string_t& s) override {
    if (mode_ == Mode::kVocab) fail("model.vocab[\"" + key_ + "\"]: expected an integer id");
    if (mode_ == Mode::kMerges) {
      out_.merges.push_back(split_merge(s, source_ + ": " + merge_path()));
      return true;
    }
    if (mode_ == Mode::kMergePair) {
      if (pair_.size() == 2) fail(merge_path() + ": expected \"left right\" or [\"left\", \"right\"]");
      pair_.push_back(std::move(s));
      return true;
    }
    return value(std::move(s));
  }
  bool key(string_t& k) override {
    key_ = std::move(k);
    return true;
  }
  bool start_object(std::size_t) override {
    if (mode_ == Mode::kMerges || mode_ == Mode::kMergePair) fail(merge_path() + ": expected \"left right\" or [\"left\", \"right\"]");
    if (mode_ == Mode::kVocab) fail("model.vocab[\"" + key_ + "\"]: expected an integer id");
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
      return true;
    }
    stack_.pop_back();
    return true;
  }
  bool start_array(std::size_t) override {
    if (mode_ == Mode::kVocab) fail("model.vocab[\"" + key_ + "\"]: expected an integer id");
    if (mode_ == Mode::kMergePair) fail(merge_path() + ": expected \"left right\" or [\"left\", \"right\"]");
    if (mode_ == Mode::kMerges) {
      mode_ = Mode::kMergePair;
      pair_.clear();
      return true;
    }
    if (in_model() && key_ == "merges") {
      mode_ = Mode::kMerges;
      out_.has_merges = true;
      return true;
    }
    return open(nlohmann::json::array());
  }
  bool end_array() override {
    if (mode_ == Mode::kMergePair) {
      if (pair_.size() != 2) fail(merge_path() + ": expected \"left right\" or [\"left\", \"right\"]");
      out_.merges.emplace_back(std::move(pair_[0]), std::move(pair_[1]));
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
  bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception& e) override {
    // e.what() is "[json.exception.parse_error.101] parse error at line …": keep the part after the tag.
    std::string what = e.what();
    if (const auto p = what.find("] "); p != std::string::npos) what = what.substr(p + 2);
    throw Error(source_ + ": invalid JSON at byte " + std::to_string(position) + ": " + what);
  }

 private:
  enum class Mode { kNone, kVocab, kMerges, kMergePair };

  [[noreturn]] void fail(const std::string& what) const { throw Error(source_ + ": " + what); }
  std::string merge_path() const { return "model.merges[" + std::to_string(out_.merges.size()) + "]"; }

  // True when the next value is a member of the top-level "model" object.
  bool in_model() const { return stack_.size() == 2 && model_ != nullptr && stack_.back() == model_; }

  bool vocab_id(std::int64_t id) {
    out_.vocab.emplace_back(key_, id);
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
    if (mode_ == Mode::kVocab) fail("model.vocab[\"" + key_ + "\"]: expected an integer id");
    if (mode_ != Mode::kNone) fail(merge_path() + ": expected \"left right\" or [\"left\", \"right\"]");
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
  const std::string& source_;
  std::vector<nlohmann::json*> stack_;  // open containers, outermost first
  nlohmann::json* model_ = nullptr;
  std::string key_;
  Mode mode_ = Mode::kNone;
  std::vector<std::string> pair_;
};

}  // namespace tokenizer_json_sax

inline TokenizerJson read_tokenizer_json(const std::string& path) {
  const MappedFile file = MappedFile::open(path);
  const char* begin = reinterpret_cast<const char*>(file.data());
  TokenizerJson out;
  tokenizer_json_sax::Reader reader(out, path);
  nlohmann::json::sax_parse(begin, begin + file.size(), &reader);
  if (!out.config.is_object()) throw Error(path + ": expected a JSON object at the top level");
  return out;
}

}  // namespace urm::detail
