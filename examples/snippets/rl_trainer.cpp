// The README's RL-trainer snippet as a whole program (tests/examples/
// test_readme_snippets.cpp checks that the README's lines are these lines).
//
//   rl_trainer_snippet [MODEL_DIR]
#include <cstdio>
#include <string>
#include <vector>

#include "urm/urm.hpp"

int main(int argc, char** argv) {
  const std::string model_dir = argc > 1 ? argv[1] : URM_DEMO_MODEL_DIR;
  const std::string prompt = "Why is the sky blue?";
  const std::vector<std::string> responses = {"Rayleigh scattering: air scatters blue light more than red.",
                                              "Because it reflects the ocean.", "No idea."};
  const float lambda = 0.5f;

  urm::RewardModel::Options options;
  options.threads = 4;  // urm.cpp's share of the machine; the trainer keeps the rest
  const urm::RewardModel rm = urm::RewardModel::load(model_dir, options);

  // One prompt, G sampled responses: the shared prompt tokens run through the model once.
  std::vector<urm::Conversation> group;
  for (const std::string& response : responses) group.push_back({{"user", prompt}, {"assistant", response}});
  const std::vector<urm::Score> scores = rm.score_batch(group);

  std::vector<float> rewards;  // uncertainty-penalised: r - lambda * sigma
  for (const urm::Score& s : scores) rewards.push_back(s.reward - lambda * s.reward_std());

  for (std::size_t i = 0; i < rewards.size(); ++i)
    std::printf("%8.4f  %s\n", static_cast<double>(rewards[i]), responses[i].c_str());
  return 0;
}
