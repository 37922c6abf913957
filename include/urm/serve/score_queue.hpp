// ScoreQueue — a bounded queue of inputs to score and the worker threads that
// take them off it: the machinery behind AsyncScorer. It knows nothing of the
// model: it is given a function that scores one input (a conversation or
// token ids) and an owner name for its error messages ("AsyncScorer:
// cancelled before it was scored").
//
// Threads. `workers` threads take inputs off the queue; with 0 workers there
// is no thread and submit() scores on the calling thread before it returns
// (the future is ready, the callback has run), for hosts that schedule the
// work on their own threads.
//
// Queue. At most queue_capacity inputs wait (inputs being scored do not
// count). When it is full, submit throws urm::Error (WhenFull::Reject) or
// blocks until a worker takes an input (WhenFull::Wait: back-pressure).
//
// Cancellation. Every submission takes an optional std::stop_token;
// requesting stop on its std::stop_source removes the input from the queue at
// once and completes it with the owner's "cancelled" error (one source can
// cancel a group, e.g. all candidate lines of one NPC). An input already being
// scored finishes normally. cancel_all() cancels everything queued.
//
// Results. The future holds the Score or throws urm::Error (the scoring
// function's error for a bad input, or the cancelled / destroyed error). A
// callback receives an AsyncResult instead; every accepted input gets exactly
// one completion. Callbacks run on a worker thread (on the cancelling thread
// for a cancelled input, on the destroying thread for a destroyed one, on the
// caller with 0 workers); they must be short and must not throw
// (std::terminate). They may submit more work (once the queue is being
// destroyed, submit throws urm::Error: catch it there); they must not destroy
// the queue's owner.
//
// Destruction with work pending. ~ScoreQueue completes every queued input
// with the owner's "destroyed" error, lets the inputs being scored finish
// (their results are delivered), and joins the workers. No promise is left
// unsatisfied, no callback is lost, and nothing runs afterwards — so the
// scoring function only needs to outlive the queue.
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
#include "urm/model/score.hpp"
#include "urm/text/conversation.hpp"

namespace urm {

// What score_async does when queue_capacity inputs are already waiting.
enum class WhenFull {
  Reject,  // throw urm::Error (the host decides: drop, retry later, cancel)
  Wait,    // block the caller until there is room (back-pressure)
};

struct AsyncOptions {
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

class ScoreQueue {
 public:
  using Input = std::variant<Conversation, std::vector<std::int32_t>>;
  using ScoreFn = std::function<Score(const Input&)>;  // called on the workers, concurrently

  static constexpr std::size_t kMaxWorkers = 256;

  // Throws urm::Error naming `owner` for options out of range.
  static void validate(const std::string& owner, const AsyncOptions& options) {
    if (options.workers > kMaxWorkers)
      throw Error(owner + ": workers is " + std::to_string(options.workers) + ", at most " +
                  std::to_string(kMaxWorkers));
    if (options.queue_capacity == 0) throw Error(owner + ": queue_capacity must be at least 1");
  }

  ScoreQueue(std::string owner, ScoreFn score, const AsyncOptions& options)
      : s_(std::make_unique<State>(std::move(owner), std::move(score), options)) {
    validate(s_->owner, options);
    s_->threads.reserve(options.workers);
    for (std::size_t i = 0; i < options.workers; ++i) {
      try {
        s_->threads.emplace_back([s = s_.get()] { s->worker_loop(); });
      } catch (const std::system_error& e) {
        const std::string owner_name = s_->owner;
        shut_down();
        throw Error(owner_name + ": cannot start worker thread " + std::to_string(i) + ": " + e.what());
      }
    }
  }

  ScoreQueue(ScoreQueue&&) noexcept = default;
  ScoreQueue& operator=(ScoreQueue&& other) noexcept {
    if (this != &other) {
      shut_down();
      s_ = std::move(other.s_);
    }
    return *this;
  }
  ScoreQueue(const ScoreQueue&) = delete;
  ScoreQueue& operator=(const ScoreQueue&) = delete;
  ~ScoreQueue() { shut_down(); }

  // Queue an input; the future gets its Score. Throws urm::Error if the queue
  // is full (WhenFull::Reject) or being destroyed.
  std::future<Score> submit(Input input, std::stop_token cancel) {
    auto job = std::make_shared<Job>();
    job->input = std::move(input);
    std::future<Score> f = job->promise.get_future();
    enqueue(std::move(job), std::move(cancel));
    return f;
  }
  // Same, completed through `done` instead of a future.
  void submit(Input input, ScoreCallback done, std::stop_token cancel) {
    if (!done) throw Error(s_->owner + ": the callback is empty");
    auto job = std::make_shared<Job>();
    job->input = std::move(input);
    job->callback = std::move(done);
    enqueue(std::move(job), std::move(cancel));
  }

  // Completes every queued input with the cancelled error; returns how many there were.
  std::size_t cancel_all() {
    std::deque<std::shared_ptr<Job>> taken;
    {
      std::lock_guard lock(s_->mutex);
      taken.swap(s_->queue);
      s_->notify_changes();
    }
    for (auto& job : taken) job->fail(std::make_exception_ptr(Error(s_->cancelled_message())));
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
  const AsyncOptions& options() const { return s_->options; }

 private:
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
    void run(const ScoreFn& score) noexcept {
      std::optional<Score> s;
      std::exception_ptr error;
      try {
        s = score(input);
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

  // Which queue's worker the current thread is, to refuse a WhenFull::Wait
  // that could only be ended by the waiting thread itself.
  static const State*& current_worker_of() {
    thread_local const State* s = nullptr;
    return s;
  }

  struct State {
    State(std::string o, ScoreFn fn, const AsyncOptions& opt)
        : owner(std::move(o)), score(std::move(fn)), options(opt) {}

    std::string owner;
    ScoreFn score;
    AsyncOptions options;
    std::mutex mutex;  // guards everything below
    std::condition_variable work_ready, room, idle;
    std::deque<std::shared_ptr<Job>> queue;
    std::size_t running = 0;
    std::uint64_t next_id = 0;
    bool stopping = false;
    std::vector<std::thread> threads;

    std::string cancelled_message() const { return owner + ": cancelled before it was scored"; }
    std::string destroyed_message() const { return owner + ": destroyed before this input was scored"; }

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
      if (job) job->fail(std::make_exception_ptr(Error(cancelled_message())));
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
        job->run(score);
        job.reset();  // outside the lock: ~stop_callback waits for a cancel running concurrently, which locks
        std::lock_guard lock(mutex);
        --running;
        notify_changes();
      }
    }
  };

  void enqueue(std::shared_ptr<Job> job, std::stop_token cancel) {
    State& s = *s_;
    if (cancel.stop_requested()) {
      job->fail(std::make_exception_ptr(Error(s.cancelled_message())));
      return;
    }
    if (s.threads.empty()) {
      job->run(s.score);
      return;
    }
    {
      std::unique_lock lock(s.mutex);
      if (s.queue.size() >= s.options.queue_capacity) {
        if (s.options.when_full == WhenFull::Reject)
          throw Error(s.owner + ": the queue is full (" + std::to_string(s.options.queue_capacity) +
                      " inputs waiting); wait for results, cancel work, or choose a larger queue_capacity or "
                      "WhenFull::Wait");
        if (current_worker_of() == &s)
          throw Error(s.owner +
                      ": the queue is full and this call comes from one of the scorer's own workers, which cannot "
                      "wait for itself (submit from another thread or use WhenFull::Reject)");
        s.room.wait(lock, [&] { return s.stopping || s.queue.size() < s.options.queue_capacity; });
      }
      if (s.stopping) throw Error(s.owner + ": shutting down, no new input is accepted");
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
    for (auto& job : orphans) job->fail(std::make_exception_ptr(Error(s_->destroyed_message())));
    orphans.clear();
    for (auto& t : s_->threads) t.join();  // inputs being scored finish and are delivered
    s_.reset();
  }

  std::unique_ptr<State> s_;
};

}  // namespace urm
