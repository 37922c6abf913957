// A game loop in which an NPC picks what to say by reward and uncertainty,
// scored asynchronously while frames keep running.
//
//   npc_judge [MODEL_DIR]
//
// Each time the player speaks, the NPC's dialogue system proposes candidate
// lines; all are handed to an AsyncScorer at once, and every frame the game
// checks (without blocking) which scores have arrived. When all have, the NPC
// says the line with the best pessimistic reward, mean − k·std: a line the
// reward model is unsure about should not win on a lucky mean. If the player
// walks away before the scores are in, the NPC's pending work is cancelled
// through its std::stop_source.
//
// Thread budget: one scoring worker and a compute pool of one thread (the
// worker itself), so the game keeps its own core: urm.cpp adds exactly one
// thread.
#include <chrono>
#include <cstdio>
#include <exception>
#include <future>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "urm/serve/async_scorer.hpp"

namespace {

struct Exchange {
  std::string player;
  std::vector<std::string> candidates;
  bool player_walks_away = false;  // leaves at once: the NPC's scoring is cancelled
};

const std::vector<Exchange> kScript = {
    {"Have you seen anything strange in the forest?",
     {"Aye, lights between the pines after midnight. Nobody who followed them came back.",
      "No.",
      "The forest? I sell bread.",
      "Strange lights, north of the old mill, three nights running. Take a lantern and keep to the path."}},
    {"Can you sell me a healing potion?",
     {"Forty silver, and it works on cuts, not curses.",
      "Potions are for the weak.",
      "I have two left: forty silver each, or a trade if you bring me wolfsbane from the ridge."}},
    {"Never mind, I have to go.", {"Safe travels.", "Wait, you forgot your change!"}, true},
    {"What do you know about the old king?",
     {"He died.",
      "They say he never died: he sleeps under the mountain until the kingdom needs him.",
      "Kings come and go; bakers stay. Ask the priest, he keeps the chronicles."}},
};

constexpr float kCaution = 1.0f;  // k in mean − k·std
constexpr auto kFrame = std::chrono::milliseconds(2);

}  // namespace

int main(int argc, char** argv) {
  const std::string dir = argc > 1 ? argv[1] : URM_DEMO_MODEL_DIR;
  try {
    urm::RewardModel::Options model_options;
    model_options.threads = 1;
    urm::AsyncScorer scorer(urm::RewardModel::load(dir, model_options), {.workers = 1, .queue_capacity = 16});

    std::size_t frame = 0, received = 0, cancelled = 0;
    for (const Exchange& ex : kScript) {
      std::printf("[frame %4zu] player: %s\n", frame, ex.player.c_str());
      std::stop_source npc_thinking;
      std::vector<std::future<urm::Score>> pending;
      for (const std::string& line : ex.candidates)
        pending.push_back(scorer.score_async({{"user", ex.player}, {"assistant", line}}, npc_thinking.get_token()));

      const std::size_t asked_at = frame;
      std::vector<urm::Score> scores(pending.size());
      std::vector<bool> have(pending.size(), false);
      std::size_t n_have = 0;
      bool walked_away = false;
      if (ex.player_walks_away) {
        npc_thinking.request_stop();  // the queued candidates complete at once with an error
        walked_away = true;
      }
      while (n_have < pending.size()) {
        // --- one frame: the game updates and renders; it never blocks on scoring.
        std::this_thread::sleep_for(kFrame);
        ++frame;
        for (std::size_t i = 0; i < pending.size(); ++i) {
          if (have[i] || pending[i].wait_for(std::chrono::seconds(0)) != std::future_status::ready) continue;
          have[i] = true;
          ++n_have;
          try {
            scores[i] = pending[i].get();
            ++received;
          } catch (const urm::Error& e) {
            if (std::string(e.what()) != urm::AsyncScorer::kCancelled) throw;
            ++cancelled;
          }
        }
      }
      if (walked_away) {
        std::printf("[frame %4zu] (player walked away; the NPC stopped thinking)\n", frame);
        continue;
      }
      std::size_t best = 0;
      auto pessimistic = [&](std::size_t i) { return scores[i].reward - kCaution * scores[i].reward_std(); };
      for (std::size_t i = 1; i < scores.size(); ++i)
        if (pessimistic(i) > pessimistic(best)) best = i;
      std::printf("[frame %4zu] npc (after %zu frames, %zu candidates, reward %.3f ± %.3f): %s\n", frame,
                  frame - asked_at, scores.size(), static_cast<double>(scores[best].reward),
                  static_cast<double>(scores[best].reward_std()), ex.candidates[best].c_str());
    }
    std::printf("frames: %zu, scores received: %zu, cancelled: %zu\n", frame, received, cancelled);
    if (argc <= 1) std::printf("(demo model: random weights, so the NPC's choices are meaningless)\n");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "npc_judge: %s\n", e.what());
    return 1;
  }
  return 0;
}
