// Fuzzes encoding arbitrary bytes with a small byte-level BPE tokenizer
// (NFC, the Llama-3 Split pattern, added tokens, a template): every input
// must encode or throw urm::Error (invalid UTF-8), and what encodes must
// decode back to NFC of the input.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "urm/core/error.hpp"
#include "urm/text/byte_level.hpp"
#include "urm/text/nfc.hpp"
#include "urm/text/tokenizer.hpp"

namespace {

urm::Tokenizer make() {
  nlohmann::json vocab = nlohmann::json::object();
  for (int b = 0; b < 256; ++b) vocab[urm::detail::bytes_to_byte_level(std::string(1, static_cast<char>(b)))] = b;
  const char* extra[] = {"he", "ll", "hell", "hello", " h", " t", "th", " th", "the", " the", "in", "er", "  ", "\n\n"};
  nlohmann::json merges = nlohmann::json::array();
  int id = 256;
  for (const char* e : extra) vocab[urm::detail::bytes_to_byte_level(e)] = id++;
  for (const char* m : {"h e", "l l", "he ll", "hell o", "Ġ h", "Ġ t", "t h", "Ġt h", "th e", "Ġth e", "i n", "e r", "Ġ Ġ", "Ċ Ċ"})
    merges.push_back(m);
  const std::string pattern =
      R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
  const nlohmann::json j = {
      {"added_tokens", {{{"id", 400}, {"content", "<s>"}, {"special", true}, {"normalized", false}},
                        {{"id", 401}, {"content", "[X]"}, {"normalized", true}}}},  // no lstrip/rstrip: they drop white space
      {"normalizer", {{"type", "NFC"}}},
      {"pre_tokenizer",
       {{"type", "Sequence"},
        {"pretokenizers",
         {{{"type", "Split"}, {"pattern", {{"Regex", pattern}}}, {"behavior", "Isolated"}},
          {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", false}}}}}},
      {"post_processor", {{"type", "ByteLevel"}}},
      {"decoder", {{"type", "ByteLevel"}}},
      {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", merges}}},
  };
  return urm::Tokenizer::from_json(j, "fuzz");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const urm::Tokenizer t = make();
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const auto ids = t.encode(text, false);
    if (t.decode(ids) != urm::detail::nfc(text)) std::abort();
    if (ids.size() >= 2) {  // (max_tokens 0 means no limit)
      try {
        (void)t.encode(text, false, ids.size() - 1);
        std::abort();  // one id fewer than needed must be refused
      } catch (const urm::Error&) {
      }
    }
  } catch (const urm::Error&) {
  }
  return 0;
}
