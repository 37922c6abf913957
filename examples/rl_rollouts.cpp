// The reward step of an RL trainer (PPO/GRPO style): many prompts, several
// sampled responses for each, scored as one group per prompt.
//
//   rl_rollouts [MODEL_DIR]
//
// For each response the trainer gets
//   reward        r = Σ_i w_i mean_i
//   uncertainty   σ = sqrt(Σ_i w_i² σ_i²)
//   penalised     r − λσ   (do not let the policy exploit what the reward
//                          model is unsure about)
//   advantage     (p − mean(p)) / std(p) over the prompt's group of penalised
//                rewards p (GRPO's group normalisation)
//   sampled       one draw Σ_i w_i (mean_i + eps_i σ_i), seeded by (step,
//                prompt, response), so a run replays exactly
// score_batch runs the prompt's shared tokens through the model once and only
// each response's own tokens after them.
//
// The responses stand in for a policy's samples: fragments picked by a seeded
// generator.
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <random>
#include <string>
#include <vector>

#include "urm/model/reward_model.hpp"

namespace {

const std::vector<std::string> kPrompts = {
    "Explain recursion in one sentence.",
    "What is the boiling point of water at sea level?",
    "Give me a tip for learning a new language.",
    "Why is the sky blue?",
    "Write a haiku about the sea.",
    "How do I reverse a list in Python?",
    "What's 17 * 23?",
    "Summarise the plot of Hamlet in two sentences.",
    "Is it safe to eat raw chicken?",
    "Name three prime numbers.",
};

const std::vector<std::string> kOpenings = {"Sure! ", "", "Good question. ", "In short: ", "Well, "};
const std::vector<std::string> kBodies = {
    "The answer depends on the details, but the usual explanation is the simplest one.",
    "Here is a careful, step-by-step answer that checks each claim before making it.",
    "I am not sure, but I think it has something to do with physics.",
    "It is 42.",
    "Let me give a short answer and then an example that shows why it holds.",
};
const std::vector<std::string> kClosings = {"", " Hope this helps!", " Let me know if you want more detail.", "."};

constexpr std::size_t kResponsesPerPrompt = 4;
constexpr float kLambda = 0.5f;     // uncertainty penalty λ
constexpr std::uint64_t kStep = 7;  // the trainer's step, part of every seed

std::string sample_response(std::mt19937_64& policy) {
  auto pick = [&](const std::vector<std::string>& v) { return v[policy() % v.size()]; };
  return pick(kOpenings) + pick(kBodies) + pick(kClosings);
}

// One line of a terminal's standard error, redrawn in place:
//   [=======>      ] 4/10 prompts
void draw_progress(std::size_t done, std::size_t total) {
  if (!::isatty(STDERR_FILENO)) return;
  constexpr std::size_t width = 24;
  const std::size_t filled = done * width / total;
  std::string bar(filled, '=');
  if (filled < width) bar += '>' + std::string(width - filled - 1, ' ');
  std::fprintf(stderr, "\r[%s] %zu/%zu prompts", bar.c_str(), done, total);
  if (done == total) std::fputc('\n', stderr);
  std::fflush(stderr);
}

}  // namespace

int main(int argc, char** argv) {
  const std::string dir = argc > 1 ? argv[1] : URM_DEMO_MODEL_DIR;
  try {
    const urm::RewardModel rm = urm::RewardModel::load(dir);
    std::mt19937_64 policy(kStep);

    struct Row {
      std::size_t prompt;
      std::string response;
      urm::Score score;
      float penalised, advantage, sampled;
    };
    std::vector<Row> rows;
    std::size_t tokens = 0;
    const auto start = std::chrono::steady_clock::now();
    draw_progress(0, kPrompts.size());
    for (std::size_t p = 0; p < kPrompts.size(); ++p) {
      std::vector<urm::Conversation> group;
      std::vector<std::string> responses;
      for (std::size_t g = 0; g < kResponsesPerPrompt; ++g) {
        responses.push_back(sample_response(policy));
        group.push_back({{"system", "You are a helpful assistant."}, {"user", kPrompts[p]}, {"assistant", responses.back()}});
      }
      const std::vector<urm::Score> scores = rm.score_batch(group);

      std::vector<float> pen(scores.size());
      float mean = 0.0f;
      for (std::size_t g = 0; g < scores.size(); ++g) {
        pen[g] = scores[g].reward - kLambda * scores[g].reward_std();
        mean += pen[g] / static_cast<float>(scores.size());
      }
      float var = 0.0f;
      for (float x : pen) var += (x - mean) * (x - mean) / static_cast<float>(pen.size());
      const float spread = std::sqrt(var) + 1e-6f;
      for (std::size_t g = 0; g < scores.size(); ++g) {
        std::mt19937_64 noise(kStep * 1'000'003u + p * 1'009u + g);  // (step, prompt, response)
        rows.push_back({p, responses[g], scores[g], pen[g], (pen[g] - mean) / spread, scores[g].sample_reward(noise)});
        tokens += scores[g].n_tokens;
      }
      draw_progress(p + 1, kPrompts.size());
    }
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

    std::printf("%-6s %8s %7s %9s %9s %8s  %s\n", "prompt", "reward", "std", "penalised", "advantage", "sampled",
                "response");
    for (const Row& r : rows)
      std::printf("%-6zu %8.4f %7.4f %9.4f %9.4f %8.4f  %.60s\n", r.prompt, static_cast<double>(r.score.reward),
                  static_cast<double>(r.score.reward_std()), static_cast<double>(r.penalised),
                  static_cast<double>(r.advantage), static_cast<double>(r.sampled), r.response.c_str());
    std::printf("scored %zu responses to %zu prompts (%zu tokens) in %.3f s\n", rows.size(), kPrompts.size(), tokens,
                secs);
    if (argc <= 1) std::printf("(demo model: random weights, so these rewards are meaningless)\n");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "rl_rollouts: %s\n", e.what());
    return 1;
  }
  return 0;
}
