// The URM-LLaMa-3-8B model card's example: two answers to one question, each
// scored by the reward model.
//
//   score_conversation [MODEL_DIR]
//
// Without MODEL_DIR it uses the demo model (random weights: the rewards mean
// nothing, the program only shows the calls). With the real
// URM-LLaMa-3-8B the card reports 3.669522523880005 for "April 1896".
#include <charconv>
#include <cstdio>
#include <exception>
#include <string>

#include "urm/urm.hpp"

// The shortest decimal that reads back as the same double: how Python prints
// float(tensor.item()), so the output compares digit by digit with the card.
std::string python_repr(float x) {
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof buf, static_cast<double>(x));
  return std::string(buf, r.ptr);
}

int main(int argc, char** argv) {
  const std::string dir = argc > 1 ? argv[1] : URM_DEMO_MODEL_DIR;
  try {
    const urm::RewardModel rm = urm::RewardModel::load(dir);

    const std::string question = "when were the first Olympic Games held?";
    for (const std::string answer : {"April 1896", "April 1892"}) {
      const urm::Score s = rm.score({{"user", question}, {"assistant", answer}});
      std::printf("%-12s reward %s  (%zu tokens)\n", answer.c_str(), python_repr(s.reward).c_str(), s.n_tokens);
    }
    std::printf("model card, URM-LLaMa-3-8B: reward of \"April 1896\" = 3.669522523880005\n");
    if (argc <= 1) std::printf("(demo model: random weights, so these rewards are meaningless)\n");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "score_conversation: %s\n", e.what());
    return 1;
  }
  return 0;
}
