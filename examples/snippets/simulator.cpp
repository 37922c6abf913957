// The README's simulator snippet as a whole program: a loop that hands
// scoring to urm.cpp's worker and keeps stepping, replayable from seeds.
//
//   simulator_snippet [MODEL_DIR]
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <future>
#include <mutex>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "urm/model/reward_model.hpp"
#include "urm/serve/async_scorer.hpp"

int main(int argc, char** argv) {
  using namespace std::chrono_literals;
  const std::string model_dir = argc > 1 ? argv[1] : URM_DEMO_MODEL_DIR;
  const urm::Conversation conversation = {{"user", "Open the gate."}, {"assistant", "The gate creaks open."}};
  const std::uint64_t seed = 2024;  // the episode's seed: a replay draws the same samples
  std::mutex results_mutex;
  std::vector<float> results;

  urm::RewardModel::Options options;
  options.threads = 1;  // with one worker: urm.cpp adds exactly one thread
  urm::AsyncScorer scorer(urm::RewardModel::load(model_dir, options),
                          {.workers = 1, .queue_capacity = 64, .when_full = urm::WhenFull::Reject});

  std::stop_source episode;  // request_stop() cancels what this episode still has queued
  scorer.score_async(conversation, [&](urm::AsyncResult r) {  // runs on urm.cpp's worker
    std::lock_guard lock(results_mutex);
    if (r.ok()) results.push_back(r.score->sample_rewards(1, seed)[0]);
  }, episode.get_token());

  std::future<urm::Score> f = scorer.score_async(conversation);  // or a future, polled each step
  int steps = 0;
  while (f.wait_for(0s) != std::future_status::ready) {
    std::this_thread::sleep_for(1ms);  // the simulation steps on
    ++steps;
  }
  const urm::Score s = f.get();

  scorer.wait_idle();
  std::printf("reward %.4f after %d steps; sampled reward %.4f\n", static_cast<double>(s.reward), steps,
              static_cast<double>(results.at(0)));
  return 0;
}
