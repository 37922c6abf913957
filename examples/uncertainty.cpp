// What an uncertainty-aware reward model says besides the reward: for each
// attribute a normal distribution N(mean, std²), samples drawn from it, and
// the spread of the combined reward.
//
//   uncertainty [MODEL_DIR]
//
// A reward whose 90% interval (reward ± 1.645 std) contains 0 is flagged as
// low-confidence: the model is not sure whether the answer is good or bad.
#include <cstdio>
#include <exception>
#include <random>
#include <string>
#include <vector>

#include "urm/urm.hpp"

int main(int argc, char** argv) {
  const std::string dir = argc > 1 ? argv[1] : URM_DEMO_MODEL_DIR;
  try {
    const urm::RewardModel rm = urm::RewardModel::load(dir);
    const urm::Conversation conv = {{"user", "What's the capital of Australia?"}, {"assistant", "Sydney"}};
    const urm::Score s = rm.score(conv);
    if (s.attributes.empty()) {
      std::printf("this is a scalar reward model: reward %.6f, no uncertainty\n", static_cast<double>(s.reward));
      return 0;
    }

    std::printf("%-12s %9s %9s %9s   3 samples (seed 1)\n", "attribute", "mean", "std", "weight");
    std::mt19937_64 gen(1);  // the samples depend on the standard library (see urm/model/score.hpp)
    std::vector<std::vector<float>> samples;
    for (int k = 0; k < 3; ++k) samples.push_back(s.sample_attributes(gen));
    for (std::size_t i = 0; i < s.attributes.size(); ++i) {
      const auto& a = s.attributes[i];
      std::printf("%-12s %9.4f %9.4f %9.4f  ", a.name.c_str(), static_cast<double>(a.mean),
                  static_cast<double>(a.std_dev()), static_cast<double>(s.weights[i]));
      for (const auto& x : samples) std::printf(" %9.4f", static_cast<double>(x[i]));
      std::printf("\n");
    }

    const float lo = s.reward - 1.645f * s.reward_std(), hi = s.reward + 1.645f * s.reward_std();
    std::printf("reward %.4f, std %.4f, 90%% interval [%.4f, %.4f]\n", static_cast<double>(s.reward),
                static_cast<double>(s.reward_std()), static_cast<double>(lo), static_cast<double>(hi));
    const auto rewards = s.sample_rewards(1000, 7);
    double mean = 0;
    for (float r : rewards) mean += r;
    std::printf("mean of 1000 sampled rewards: %.4f\n", mean / 1000.0);
    if (lo < 0.0f && hi > 0.0f) std::printf("LOW CONFIDENCE: the interval contains 0\n");
    if (argc <= 1) std::printf("(demo model: random weights, so these numbers are meaningless)\n");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "uncertainty: %s\n", e.what());
    return 1;
  }
  return 0;
}
