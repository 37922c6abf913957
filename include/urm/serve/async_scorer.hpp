// AsyncScorer — asynchronous scoring: a queue of inputs and worker threads of
// its own over a model it shares, so a frame or a simulation step never waits
// for a forward pass, and several subsystems (an NPC director, a replay
// evaluator) each get their own workers, capacity and cancel_all() on weights
// loaded once.
//
//   auto model = std::make_shared<const urm::RewardModel>(urm::RewardModel::load(dir));
//   urm::AsyncScorer scorer(model, {.workers = 1});
//   std::future<urm::Score> f = scorer.score_async(conversation);   // returns at once
//   scorer.score_async(other, [](urm::AsyncResult r) { ... });       // or a callback
//
// The queue, its cancellation, callbacks and destruction with work pending
// are ScoreQueue's (score_queue.hpp), with errors kCancelled and kDestroyed.
// Threads: urm.cpp starts workers + threads - 1 (RewardModel::Options::threads
// counts the thread that calls the model's pool; workers = 0 scores on the
// caller). The model is held by shared_ptr, so it lives until the last worker
// is done even if the host drops its own reference first.
//
// Determinism. Each input is scored on its own with RewardModel::score (never
// grouped with other inputs), and the model's kernels give bitwise-identical
// results for any thread count, so a Score depends only on the input: the same
// for any number of workers or threads and any order of completion. Samples
// drawn with Score::sample_rewards(n, seed) then depend only on the input and
// the seed (a simulator replays an episode by reusing its seeds).
#pragma once

#include <cstddef>
#include <cstdint>
#include <future>
#include <memory>
#include <stop_token>
#include <utility>
#include <variant>
#include <vector>

#include "urm/core/error.hpp"
#include "urm/model/reward_model.hpp"
#include "urm/model/score.hpp"
#include "urm/serve/score_queue.hpp"
#include "urm/text/conversation.hpp"

namespace urm {

class AsyncScorer {
 public:
  using Options = AsyncOptions;

  static constexpr const char* kCancelled = "AsyncScorer: cancelled before it was scored";
  static constexpr const char* kDestroyed = "AsyncScorer: destroyed before this input was scored";
  static constexpr std::size_t kMaxWorkers = ScoreQueue::kMaxWorkers;

  explicit AsyncScorer(std::shared_ptr<const RewardModel> model, const Options& options = {})
      : model_(checked(std::move(model))), queue_("AsyncScorer", score_fn(*model_), options) {}
  explicit AsyncScorer(RewardModel&& model, const Options& options = {})
      : AsyncScorer(std::make_shared<const RewardModel>(std::move(model)), options) {}

  // Moving hands the queue and its workers over; the model they point to is
  // shared, so it does not move. Assigning shuts the old queue down first
  // (its pending inputs get kDestroyed).
  AsyncScorer(AsyncScorer&&) noexcept = default;
  AsyncScorer& operator=(AsyncScorer&& other) noexcept {
    if (this != &other) {
      queue_ = std::move(other.queue_);  // shuts the old workers down while their model still lives
      model_ = std::move(other.model_);
    }
    return *this;
  }
  AsyncScorer(const AsyncScorer&) = delete;
  AsyncScorer& operator=(const AsyncScorer&) = delete;
  ~AsyncScorer() = default;  // queue_ first (declared last): its workers finish while model_ lives

  // Queue a conversation; the future gets its Score. Throws urm::Error if the
  // queue is full (WhenFull::Reject).
  std::future<Score> score_async(Conversation conversation, std::stop_token cancel = {}) {
    return queue_.submit(std::move(conversation), std::move(cancel));
  }
  // Same, completed through `done` instead of a future.
  void score_async(Conversation conversation, ScoreCallback done, std::stop_token cancel = {}) {
    queue_.submit(std::move(conversation), std::move(done), std::move(cancel));
  }
  // Token ids as given (RewardModel::score_ids).
  std::future<Score> score_ids_async(std::vector<std::int32_t> ids, std::stop_token cancel = {}) {
    return queue_.submit(std::move(ids), std::move(cancel));
  }
  void score_ids_async(std::vector<std::int32_t> ids, ScoreCallback done, std::stop_token cancel = {}) {
    queue_.submit(std::move(ids), std::move(done), std::move(cancel));
  }

  // Completes every queued input with kCancelled; returns how many there were.
  std::size_t cancel_all() { return queue_.cancel_all(); }
  // Blocks until no input is queued or being scored (all completions delivered).
  void wait_idle() const { queue_.wait_idle(); }

  std::size_t queued() const { return queue_.queued(); }
  std::size_t workers() const { return queue_.workers(); }
  const Options& options() const { return queue_.options(); }
  const RewardModel& model() const { return *model_; }
  std::shared_ptr<const RewardModel> shared_model() const { return model_; }

 private:
  static std::shared_ptr<const RewardModel> checked(std::shared_ptr<const RewardModel> model) {
    if (!model) throw Error("AsyncScorer: no model (the shared_ptr is empty)");
    return model;
  }
  static ScoreQueue::ScoreFn score_fn(const RewardModel& model) {
    return [&model](const ScoreQueue::Input& in) {
      return std::holds_alternative<Conversation>(in) ? model.score(std::get<Conversation>(in))
                                                      : model.score_ids(std::get<std::vector<std::int32_t>>(in));
    };
  }

  std::shared_ptr<const RewardModel> model_;
  ScoreQueue queue_;
};

}  // namespace urm
