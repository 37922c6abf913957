// A program that vendors urm.cpp: third_party/urm/ is a plain copy of the
// library's include/urm, and the whole build is one compiler command (see
// build.sh next to this file):
//
//   c++ -std=c++20 -O2 -I third_party -I /usr/include/eigen3 main.cpp -o score -pthread
//
// Usage: score MODEL_DIR
#include <cstdio>

#include "urm/urm.hpp"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: score MODEL_DIR\n");
    return 2;
  }
  try {
    const urm::RewardModel rm = urm::RewardModel::load(argv[1]);
    const urm::Score s = rm.score({{"user", "when were the first Olympic Games held?"}, {"assistant", "April 1896"}});
    std::printf("reward %.6f ± %.6f over %zu tokens\n", static_cast<double>(s.reward), static_cast<double>(s.reward_std()),
                s.n_tokens);
  } catch (const urm::Error& e) {
    std::fprintf(stderr, "score: %s\n", e.what());
    return 1;
  }
  return 0;
}
