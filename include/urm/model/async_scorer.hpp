// AsyncScorer — scores inputs on urm.cpp's own worker threads, so a host loop
// (a game frame, a simulator step, an RL trainer) hands work over and carries
// on instead of waiting for a forward pass.
//
//   urm::AsyncScorer scorer(urm::RewardModel::load(dir), {.workers = 1});
//   std::future<urm::Score> f = scorer.score_async(conversation);   // returns at once
//   scorer.score_async(other, [](urm::AsyncResult r) { ... });       // or a callback
//
// Threads. The host sets the whole budget: `workers` threads take inputs off
// the queue, and each runs its forward pass on the model's ThreadPool, which
// adds RewardModel::Options::threads - 1 threads (the pool counts the thread
// that calls it). So urm.cpp starts workers + threads - 1 threads:
//   - workers = 1, threads = T: one input at a time on T cores (lowest latency);
//   - workers = N, threads = 1: N inputs at once, one core each (throughput
//     for many short inputs; the pool runs one job at a time, so N workers
//     sharing a pool of T > 1 threads mostly take turns);
//   - workers = 0, threads = 1: no thread at all. score_async scores on the
//     calling thread before it returns (the future is ready, the callback has
//     run), for hosts that schedule the work on their own threads.
//
// Queue. At most queue_capacity inputs wait (inputs being scored do not
// count). When it is full, score_async throws urm::Error (WhenFull::Reject) or
// blocks until a worker takes an input (WhenFull::Wait: back-pressure).
//
// Cancellation. Every call takes an optional std::stop_token; requesting stop
// on its std::stop_source removes the input from the queue at once and
// completes it with the error kCancelled (one source can cancel a group, e.g.
// all candidate lines of one NPC). An input already being scored finishes
// normally. cancel_all() cancels everything queued.
//
// Results. The future holds the Score or throws urm::Error (the model's error
// for a bad input, or kCancelled, kDestroyed). A callback receives an
// AsyncResult instead; every accepted input gets exactly one completion.
// Callbacks run on a worker thread (on the cancelling thread for a cancelled
// input, on the destroying thread for kDestroyed, on the caller with 0
// workers); they must be short and must not throw (std::terminate). They may
// submit more work (once the scorer is being destroyed, score_async throws
// urm::Error: catch it there); they must not destroy the scorer.
//
// Destruction with work pending. ~AsyncScorer completes every queued input
// with the error kDestroyed, lets the inputs being scored finish (their
// results are delivered), and joins the workers. No promise is left
// unsatisfied, no callback is lost, and nothing runs afterwards. The model is
// held by shared_ptr, so it lives until the last worker is done even if the
// host drops its own reference first.
//
// Determinism. Each input is scored on its own with RewardModel::score (never
// grouped with other inputs), and the model's kernels give bitwise-identical
// results for any thread count, so a Score depends only on the input: the same
// for any number of workers or threads and any order of completion. Samples
// drawn with Score::sample_rewards(n, seed) then depend only on the input and
// the seed (a simulator replays an episode by reusing its seeds).
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <variant>
#include <vector>

#include "urm/core/error.hpp"
#include "urm/model/reward_model.hpp"
#include "urm/model/score.hpp"
#include "urm/text/conversation.hpp"

namespace urm {

// What score_async does when queue_capacity inputs are already waiting.
enum class WhenFull {
  Reject,  // throw urm::Error (the host decides: drop, retry later, cancel)
  Wait,    // block the caller until there is room (back-pressure)
};

struct AsyncScorerOptions {
  std::size_t workers = 1;           // scoring threads; 0 = score on the caller, inside score_async
  std::size_t queue_capacity = 256;  // inputs waiting, at least 1 (inputs being scored do not count)
  WhenFull when_full = WhenFull::Reject;
};

// What a callback receives: a score, or the message of the error that took
// its place.
struct AsyncResult {
  std::optional<Score> score;
  std::string error;  // empty when score is set

  bool ok() const { return score.has_value(); }
};

using ScoreCallback = std::function<void(AsyncResult)>;

class AsyncScorer {
 public:
  using Options = AsyncScorerOptions;

  static constexpr const char* kCancelled = "AsyncScorer: cancelled before it was scored";
  static constexpr const char* kDestroyed = "AsyncScorer: destroyed before this input was scored";
  static constexpr std::size_t kMaxWorkers = 256;

  explicit AsyncScorer(std::shared_ptr<const RewardModel> model, const Options& options = {})
      : s_(std::make_unique<State>(std::move(model), options)) {
    if (!s_->model) throw Error("AsyncScorer: no model (the shared_ptr is empty)");
    if (options.workers > kMaxWorkers)
      throw Error("AsyncScorer: workers is " + std::to_string(options.workers) + ", at most " +
                  std::to_string(kMaxWorkers));
    if (options.queue_capacity == 0) throw Error("AsyncScorer: queue_capacity must be at least 1");
    s_->threads.reserve(options.workers);
    for (std::size_t i = 0; i < options.workers; ++i) {
      try {
        s_->threads.emplace_back([s = s_.get()] { s->worker_loop(); });
      } catch (const std::system_error& e) {
        shut_down();
        throw Error("AsyncScorer: cannot start worker thread " + std::to_string(i) + ": " + e.what());
      }
    }
  }
  explicit AsyncScorer(RewardModel&& model, const Options& options = {})
      : AsyncScorer(std::make_shared<const RewardModel>(std::move(model)), options) {}

  AsyncScorer(AsyncScorer&&) noexcept = default;
  AsyncScorer& operator=(AsyncScorer&& other) noexcept {
    if (this != &other) {
      shut_down();
      s_ = std::move(other.s_);
    }
    return *this;
  }
  AsyncScorer(const AsyncScorer&) = delete;
  AsyncScorer& operator=(const AsyncScorer&) = delete;
  ~AsyncScorer() { shut_down(); }

  // Queue a conversation; the future gets its Score. Throws urm::Error if the
  // queue is full (WhenFull::Reject).
  std::future<Score> score_async(Conversation conversation, std::stop_token cancel = {}) {
    return submit_for_future(Input(std::move(conversation)), std::move(cancel));
  }
  // Same, completed through `done` instead of a future.
  void score_async(Conversation conversation, ScoreCallback done, std::stop_token cancel = {}) {
    submit_with_callback(Input(std::move(conversation)), std::move(done), std::move(cancel));
  }
  // Token ids as given (RewardModel::score_ids).
  std::future<Score> score_ids_async(std::vector<std::int32_t> ids, std::stop_token cancel = {}) {
    return submit_for_future(Input(std::move(ids)), std::move(cancel));
  }
  void score_ids_async(std::vector<std::int32_t> ids, ScoreCallback done, std::stop_token cancel = {}) {
    submit_with_callback(Input(std::move(ids)), std::move(done), std::move(cancel));
  }

  // Completes every queued input with kCancelled; returns how many there were.
  std::size_t cancel_all() {
    std::deque<std::shared_ptr<Job>> taken;
    {
      std::lock_guard lock(s_->mutex);
      taken.swap(s_->queue);
      s_->notify_changes();
    }
    for (auto& job : taken) job->fail(std::make_exception_ptr(Error(kCancelled)));
    return taken.size();  // the jobs (and their stop_callbacks) go outside the lock
  }

  // Blocks until no input is queued or being scored (all completions delivered).
  void wait_idle() const {
    std::unique_lock lock(s_->mutex);
    s_->idle.wait(lock, [&] { return s_->queue.empty() && s_->running == 0; });
  }

  std::size_t queued() const {
    std::lock_guard lock(s_->mutex);
    return s_->queue.size();
  }
  std::size_t workers() const { return s_->threads.size(); }
  const Options& options() const { return s_->options; }
  const RewardModel& model() const { return *s_->model; }
  std::shared_ptr<const RewardModel> shared_model() const { return s_->model; }

 private:
  using Input = std::variant<Conversation, std::vector<std::int32_t>>;
  struct State;

  // Requesting stop on a job's token: take it out of the queue and cancel it.
  struct CancelJob {
    State* state;
    std::uint64_t id;
    void operator()() const noexcept { state->cancel(id); }
  };

  struct Job {
    Input input;
    std::promise<Score> promise;  // completed when there is no callback
    ScoreCallback callback;
    std::uint64_t id = 0;
    std::optional<std::stop_callback<CancelJob>> on_stop;

    void succeed(Score s) noexcept {
      if (callback) callback(AsyncResult{std::move(s), {}});
      else promise.set_value(std::move(s));
    }
    void fail(std::exception_ptr e) noexcept {
      if (callback) callback(AsyncResult{std::nullopt, message_of(e)});
      else promise.set_exception(std::move(e));
    }
    void run(const RewardModel& model) noexcept {
      std::optional<Score> s;
      std::exception_ptr error;
      try {
        s = std::holds_alternative<Conversation>(input) ? model.score(std::get<Conversation>(input))
                                                        : model.score_ids(std::get<std::vector<std::int32_t>>(input));
      } catch (...) {
        error = std::current_exception();
      }
      if (s) succeed(std::move(*s));
      else fail(std::move(error));
    }
  };

  static std::string message_of(const std::exception_ptr& e) {
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& x) {
      return x.what();
    } catch (...) {
      return "unknown error";
    }
  }

  // Which scorer's worker the current thread is, to refuse a WhenFull::Wait
  // that could only be ended by the waiting thread itself.
  static const State*& current_worker_of() {
    thread_local const State* s = nullptr;
    return s;
  }

  struct State {
    State(std::shared_ptr<const RewardModel> m, const Options& o) : model(std::move(m)), options(o) {}

    std::shared_ptr<const RewardModel> model;
    Options options;
    std::mutex mutex;  // guards everything below
    std::condition_variable work_ready, room, idle;
    std::deque<std::shared_ptr<Job>> queue;
    std::size_t running = 0;
    std::uint64_t next_id = 0;
    bool stopping = false;
    std::vector<std::thread> threads;

    // After the queue shrank or a job ended; mutex held.
    void notify_changes() {
      room.notify_all();
      if (queue.empty() && running == 0) idle.notify_all();
    }

    void cancel(std::uint64_t id) {
      std::shared_ptr<Job> job;
      {
        std::lock_guard lock(mutex);
        for (auto it = queue.begin(); it != queue.end(); ++it) {
          if ((*it)->id == id) {
            job = std::move(*it);
            queue.erase(it);
            notify_changes();
            break;
          }
        }
      }
      // Not queued any more (being scored or done): nothing to cancel.
      if (job) job->fail(std::make_exception_ptr(Error(kCancelled)));
    }

    void worker_loop() {
      current_worker_of() = this;
      for (;;) {
        std::shared_ptr<Job> job;
        {
          std::unique_lock lock(mutex);
          work_ready.wait(lock, [&] { return stopping || !queue.empty(); });
          if (stopping) return;
          job = std::move(queue.front());
          queue.pop_front();
          ++running;
          room.notify_all();
        }
        job->run(*model);
        job.reset();  // outside the lock: ~stop_callback waits for a cancel running concurrently, which locks
        std::lock_guard lock(mutex);
        --running;
        notify_changes();
      }
    }
  };

  std::future<Score> submit_for_future(Input input, std::stop_token cancel) {
    auto job = std::make_shared<Job>();
    job->input = std::move(input);
    std::future<Score> f = job->promise.get_future();
    submit(std::move(job), std::move(cancel));
    return f;
  }

  void submit_with_callback(Input input, ScoreCallback done, std::stop_token cancel) {
    if (!done) throw Error("AsyncScorer: the callback is empty");
    auto job = std::make_shared<Job>();
    job->input = std::move(input);
    job->callback = std::move(done);
    submit(std::move(job), std::move(cancel));
  }

  void submit(std::shared_ptr<Job> job, std::stop_token cancel) {
    State& s = *s_;
    if (cancel.stop_requested()) {
      job->fail(std::make_exception_ptr(Error(kCancelled)));
      return;
    }
    if (s.threads.empty()) {
      job->run(*s.model);
      return;
    }
    {
      std::unique_lock lock(s.mutex);
      if (s.queue.size() >= s.options.queue_capacity) {
        if (s.options.when_full == WhenFull::Reject)
          throw Error("AsyncScorer: the queue is full (" + std::to_string(s.options.queue_capacity) +
                      " inputs waiting); wait for results, cancel work, or choose a larger queue_capacity or "
                      "WhenFull::Wait");
        if (current_worker_of() == &s)
          throw Error("AsyncScorer: the queue is full and this call comes from one of the scorer's own workers, "
                      "which cannot wait for itself (submit from another thread or use WhenFull::Reject)");
        s.room.wait(lock, [&] { return s.stopping || s.queue.size() < s.options.queue_capacity; });
      }
      if (s.stopping) throw Error("AsyncScorer: shutting down, no new input is accepted");
      job->id = s.next_id++;
      s.queue.push_back(job);
    }
    s.work_ready.notify_one();
    // Registered after the job is queued (a cancel then always finds it or
    // finds it already taken); with a token stopped meanwhile this runs the
    // cancellation right here. `job` keeps the Job alive while it is built.
    if (cancel.stop_possible()) job->on_stop.emplace(std::move(cancel), CancelJob{&s, job->id});
  }

  void shut_down() noexcept {
    if (!s_) return;
    std::deque<std::shared_ptr<Job>> orphans;
    {
      std::lock_guard lock(s_->mutex);
      s_->stopping = true;
      orphans.swap(s_->queue);
      s_->notify_changes();
    }
    s_->work_ready.notify_all();
    for (auto& job : orphans) job->fail(std::make_exception_ptr(Error(kDestroyed)));
    orphans.clear();
    for (auto& t : s_->threads) t.join();  // inputs being scored finish and are delivered
    s_.reset();
  }

  std::unique_ptr<State> s_;
};

}  // namespace urm
