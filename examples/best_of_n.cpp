// Best-of-N selection as in an RL loop: N candidate answers to one prompt are
// ranked by a pessimistic reward, mean − k·std, so an answer the reward model
// is unsure about does not win on a lucky mean.
//
//   best_of_n [MODEL_DIR] [K]        (K defaults to 1)
//
// score_batch runs the shared prompt through the model once and then only
// each candidate's own tokens.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <numeric>
#include <string>
#include <vector>

#include "urm/urm.hpp"

int main(int argc, char** argv) {
  const std::string dir = argc > 1 ? argv[1] : URM_DEMO_MODEL_DIR;
  const float k = argc > 2 ? std::strtof(argv[2], nullptr) : 1.0f;
  try {
    const urm::RewardModel rm = urm::RewardModel::load(dir);
    const std::string prompt = "Explain recursion in one sentence.";
    const std::vector<std::string> candidates = {
        "Recursion is when a function solves a problem by calling itself on smaller instances of the same problem.",
        "Recursion means a function calls itself.",
        "It's a loop.",
        "Recursion: see recursion.",
        "A recursive definition defines something in terms of a simpler version of itself, down to a base case.",
    };
    std::vector<urm::Conversation> convs;
    for (const auto& c : candidates) convs.push_back({{"user", prompt}, {"assistant", c}});
    const std::vector<urm::Score> scores = rm.score_batch(convs);

    std::vector<float> pessimistic;
    for (const auto& s : scores) pessimistic.push_back(s.reward - k * s.reward_std());
    std::vector<std::size_t> order(candidates.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return pessimistic[a] > pessimistic[b]; });

    std::printf("prompt: %s\nranked by reward - %.2f * std:\n", prompt.c_str(), static_cast<double>(k));
    for (std::size_t r = 0; r < order.size(); ++r) {
      const std::size_t i = order[r];
      std::printf("%zu. %8.4f  (reward %8.4f, std %7.4f)  %s\n", r + 1, static_cast<double>(pessimistic[i]),
                  static_cast<double>(scores[i].reward), static_cast<double>(scores[i].reward_std()),
                  candidates[i].c_str());
    }
    std::printf("best: %s\n", candidates[order[0]].c_str());
    if (argc <= 1) std::printf("(demo model: random weights, so this ranking is meaningless)\n");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "best_of_n: %s\n", e.what());
    return 1;
  }
  return 0;
}
