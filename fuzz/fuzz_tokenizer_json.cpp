// Fuzzes tokenizer.json loading (the streaming reader, the configuration
// checks, the regex compiler) and then encodes a few texts with what
// loaded: every input must load or throw urm::Error, and every text must
// encode (ids within the vocabulary, decodable) or throw urm::Error.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <string>
#include <unistd.h>

#include "urm/core/error.hpp"
#include "urm/text/tokenizer.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::string path = "/tmp/fuzz_tokenizer_json." + std::to_string(::getpid()) + ".json";
  {
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  try {
    const urm::Tokenizer t = urm::Tokenizer::load(path);
    for (const char* text : {"Hello world, it's 2024!\n", "  x\t\u00e9e\u0301 \u6f22\u5b57 <s> [X]", ""}) {
      try {
        const auto ids = t.encode(text, true, 64);
        try {
          for (const auto id : ids) (void)t.id_to_token(id);  // every id names a token
          (void)t.decode(ids);
        } catch (const urm::Error&) {
          std::abort();
        }
      } catch (const urm::Error&) {
      }
    }
  } catch (const urm::Error&) {
  }
  return 0;
}
