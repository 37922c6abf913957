// What the asynchronous-scoring tests share: the fixture model and its golden
// inputs, bitwise comparison of scores, and ways to make queue states exact
// without timing assumptions (a worker held busy on a Gate).
#pragma once

#include <doctest/doctest.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <future>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "urm/model/score.hpp"
#include "urm/serve/score_queue.hpp"

namespace urm::test {

inline std::string model_dir() { return std::string(URM_TEST_DATA_DIR) + "/models/tiny-urm-llama3"; }

inline std::vector<std::vector<std::int32_t>> golden_ids() {
  std::ifstream f(std::string(URM_TEST_DATA_DIR) + "/models/model_golden.json");
  REQUIRE(f.good());
  const auto j = nlohmann::json::parse(f);
  std::vector<std::vector<std::int32_t>> out;
  for (const auto& c : j["models"]["tiny-urm-llama3"]["cases"]) out.push_back(c["input_ids"].get<std::vector<std::int32_t>>());
  return out;
}

inline bool same_bits(const Score& a, const Score& b) {
  if (a.reward != b.reward || a.reward_variance != b.reward_variance || a.n_tokens != b.n_tokens ||
      a.attributes.size() != b.attributes.size() || a.weights != b.weights)
    return false;
  for (std::size_t i = 0; i < a.attributes.size(); ++i)
    if (a.attributes[i].mean != b.attributes[i].mean || a.attributes[i].log_std != b.attributes[i].log_std ||
        a.attributes[i].name != b.attributes[i].name)
      return false;
  return true;
}

template <class T>
bool ready(const std::future<T>& f) {
  return f.wait_for(std::chrono::seconds(0)) == std::future_status::ready;
}

// Opened once; blocks every wait() until then.
struct Gate {
  std::promise<void> p;
  std::shared_future<void> f = p.get_future().share();
  void open() { p.set_value(); }
  void wait() const { f.wait(); }
};

// Occupies one worker of a scorer (an AsyncScorer or a RewardModel's
// score_async) until release(): inputs submitted meanwhile stay queued. The
// constructor returns once the worker has taken the job; its own result lands
// in `result`. Release it before the scorer is destroyed.
struct HeldWorker {
  Gate gate;
  AsyncResult result;

  template <class Scorer>  // AsyncScorer or const RewardModel
  explicit HeldWorker(Scorer& scorer) {
    auto started = std::make_shared<std::promise<void>>();
    std::future<void> s = started->get_future();
    scorer.score_ids_async({128000, 9906}, [started, this](AsyncResult r) {
      started->set_value();
      gate.wait();
      result = std::move(r);
    });
    s.wait();
  }
  void release() { gate.open(); }
};

// Threads of this process now (Linux: the entries of /proc/self/task).
inline std::size_t process_threads() {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/task")) ++n;
  return n;
}

}  // namespace urm::test
