// bench-tokenizer — speed of urm::Tokenizer on the public corpus.
//
//   build/bin/bench-tokenizer [tokenizer.json] [tokenizer_golden.json]
//
// Corpus: the 2,897 texts of tests/data/tokenizer/tokenizer_golden.json
// (0.96 MB: source code, licences, CJK, random Unicode), encoded one text per
// call, single thread, add_special_tokens = false. Every run's ids are checked
// against the golden ids (a fast wrong tokenizer is no use).
// Prints, each as the median of 5 runs:
//   load    Tokenizer::load of the 9 MB tokenizer.json (wall ms and CPU ms)
//   encode  MB/s, the first run with an empty word cache ("cold") and the
//           median of 5 runs after it ("warm"), by wall clock and by CPU time
//           (on a shared machine, wall time includes waiting for a core).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench_common.hpp"
#include "urm/core/error.hpp"
#include "urm/text/tokenizer.hpp"

namespace {

using urm::bench::cpu_model;
using urm::bench::load_average;
using urm::bench::median;

struct Timing {
  double wall_s, cpu_s;
};

template <class Fn>
Timing time_it(Fn&& fn) {
  const auto w0 = urm::bench::Clock::now();
  const double c0 = urm::bench::cpu_seconds(CLOCK_PROCESS_CPUTIME_ID);
  fn();
  const double c1 = urm::bench::cpu_seconds(CLOCK_PROCESS_CPUTIME_ID);
  return {urm::bench::seconds_since(w0), c1 - c0};
}

}  // namespace

int main(int argc, char** argv) {
  const std::string tokenizer_path = argc > 1 ? argv[1] : URM_CACHE_DIR "/llama3/tokenizer.json";
  const std::string corpus_path = argc > 2 ? argv[2] : URM_TEST_DATA_DIR "/tokenizer/tokenizer_golden.json";
  try {
    std::ifstream corpus_file(corpus_path);
    if (!corpus_file) throw urm::Error(corpus_path + ": cannot open");
    const nlohmann::json corpus = nlohmann::json::parse(corpus_file);
    std::vector<std::string> texts;
    std::vector<std::vector<std::int32_t>> golden;
    std::size_t bytes = 0;
    for (const auto& c : corpus.at("cases")) {
      texts.push_back(c.at("text").get<std::string>());
      golden.push_back(c.at("ids").get<std::vector<std::int32_t>>());
      bytes += texts.back().size();
    }

    std::vector<double> load_wall, load_cpu;
    for (int run = 0; run < 5; ++run) {
      const Timing t = time_it([&] { urm::Tokenizer::load(tokenizer_path); });
      load_wall.push_back(t.wall_s * 1e3);
      load_cpu.push_back(t.cpu_s * 1e3);
    }

    const urm::Tokenizer tokenizer = urm::Tokenizer::load(tokenizer_path);
    std::size_t mismatches = 0;
    const auto encode_all = [&] {
      for (std::size_t i = 0; i < texts.size(); ++i)
        if (tokenizer.encode(texts[i], false) != golden[i]) ++mismatches;
    };
    const Timing cold = time_it(encode_all);
    std::vector<double> warm_wall, warm_cpu;
    for (int run = 0; run < 5; ++run) {
      const Timing t = time_it(encode_all);
      warm_wall.push_back(bytes / t.wall_s / 1e6);
      warm_cpu.push_back(bytes / t.cpu_s / 1e6);
    }

    std::printf("machine:   %s, %u hardware threads, load average %s\n", cpu_model().c_str(),
                std::thread::hardware_concurrency(), load_average().c_str());
    std::printf("compiler:  %s %s\n",
#if defined(__clang__)
                "clang",
#elif defined(__GNUC__)
                "gcc",
#else
                "c++",
#endif
                __VERSION__);
    std::printf("flags:     %s\n", URM_BUILD_FLAGS);
    std::printf("corpus:    %zu texts, %.3f MB (%s)\n", texts.size(), bytes / 1e6, corpus_path.c_str());
    std::printf("load:      %.1f ms wall, %.1f ms CPU (median of 5; %s)\n", median(load_wall), median(load_cpu),
                tokenizer_path.c_str());
    std::printf("encode:    cold %.1f MB/s wall, %.1f MB/s CPU (first run, empty word cache)\n", bytes / cold.wall_s / 1e6,
                bytes / cold.cpu_s / 1e6);
    std::printf("encode:    warm %.1f MB/s wall, %.1f MB/s CPU (median of 5, single thread)\n", median(warm_wall),
                median(warm_cpu));
    std::printf("mismatches: %zu of %zu encodes\n", mismatches, texts.size() * 6);
    return mismatches == 0 ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench-tokenizer: %s\n", e.what());
    return 1;
  }
}
