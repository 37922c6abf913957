// FairScheduler — requests from many clients (each request a list of token
// id inputs) scored on shared worker threads, in an order that is fair and
// first come, first served: the machinery behind urm-serve.
//
// Order. Clients take turns: the clients with work waiting form a ring in
// the order their work arrived, and each turn scores ONE input of the
// client at the front, which then goes to the back if it has more. Within a
// client, requests are served in arrival order, input by input. So a
// newcomer waits for at most one input of every client already waiting —
// never behind a long queue of one client's requests or one request's many
// inputs — and a lone client's requests run in arrival order.
//
// Scoring together. All requests in flight share the workers and the model's
// compute threads; the scoring function is typically a CachedScorer
// (cached_scorer.hpp), through which the inputs of different requests that
// share a prompt run that prompt once.
//
// Bound. At most max_requests requests are accepted and not yet answered;
// submit() returns nothing beyond that (the server answers 503), so memory
// never grows without bound.
//
// Completion. A request completes once all its inputs are scored: its future
// holds the scores in input order, or the first error. drain() (and the
// destructor) stop accepting, score everything accepted and deliver it.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "urm/core/error.hpp"
#include "urm/model/score.hpp"

namespace urm {

struct FairSchedulerOptions {
  std::size_t workers = 1;         // scoring threads (1: each input gets all the model's compute threads)
  std::size_t max_requests = 1024;  // accepted and not yet answered, at least 1
};

class FairScheduler {
 public:
  using Options = FairSchedulerOptions;
  using Ids = std::vector<std::int32_t>;
  using ScoreFn = std::function<Score(const Ids&)>;  // called on the workers, concurrently if workers > 1

  static constexpr std::size_t kMaxWorkers = 256;

  FairScheduler(ScoreFn score, const Options& options) : score_(std::move(score)), options_(options) {
    if (options.workers == 0 || options.workers > kMaxWorkers)
      throw Error("FairScheduler: workers is " + std::to_string(options.workers) + ", expected 1 to " +
                  std::to_string(kMaxWorkers));
    if (options.max_requests == 0) throw Error("FairScheduler: max_requests must be at least 1");
    threads_.reserve(options.workers);
    for (std::size_t i = 0; i < options.workers; ++i) {
      try {
        threads_.emplace_back([this] { worker_loop(); });
      } catch (const std::system_error& e) {
        stop_workers();
        throw Error("FairScheduler: cannot start worker thread " + std::to_string(i) + ": " + e.what());
      }
    }
  }
  FairScheduler(const FairScheduler&) = delete;
  FairScheduler& operator=(const FairScheduler&) = delete;
  ~FairScheduler() {
    drain();
    stop_workers();
  }

  // Queues one request of `client` (any key: the server uses the peer's
  // address). Returns nothing when max_requests are in flight or the
  // scheduler is draining. A request with no input completes at once.
  std::optional<std::future<std::vector<Score>>> submit(const std::string& client, std::vector<Ids> inputs) {
    auto r = std::make_shared<Request>();
    r->inputs = std::move(inputs);
    r->scores.resize(r->inputs.size());
    std::future<std::vector<Score>> f = r->promise.get_future();
    {
      std::lock_guard lock(mutex_);
      if (draining_ || in_flight_ >= options_.max_requests) return std::nullopt;
      if (r->inputs.empty()) {
        r->promise.set_value({});
        return f;
      }
      ++in_flight_;
      queued_inputs_ += r->inputs.size();
      Client& c = clients_[client];
      if (c.requests.empty()) ring_.push_back(client);
      c.requests.push_back(std::move(r));
    }
    work_.notify_one();
    return f;
  }

  // True when submit() would refuse a request now.
  bool full() const {
    std::lock_guard lock(mutex_);
    return draining_ || in_flight_ >= options_.max_requests;
  }
  // Requests accepted and not yet answered (waiting or being scored).
  std::size_t in_flight() const {
    std::lock_guard lock(mutex_);
    return in_flight_;
  }
  // Inputs waiting for a worker (the queue depth).
  std::size_t queued_inputs() const {
    std::lock_guard lock(mutex_);
    return queued_inputs_;
  }
  const Options& options() const { return options_; }

  // Stops accepting and blocks until every accepted request is answered.
  void drain() {
    std::unique_lock lock(mutex_);
    draining_ = true;
    idle_.wait(lock, [&] { return in_flight_ == 0; });
  }

 private:
  struct Request {
    std::vector<Ids> inputs;
    std::vector<Score> scores;
    std::size_t next = 0;  // first input not yet taken by a worker
    std::size_t done = 0;  // inputs finished
    std::exception_ptr error;
    std::promise<std::vector<Score>> promise;
  };
  struct Client {
    std::deque<std::shared_ptr<Request>> requests;  // with inputs not yet taken, in arrival order
  };

  void worker_loop() {
    for (;;) {
      std::shared_ptr<Request> r;
      std::size_t i = 0;
      {
        std::unique_lock lock(mutex_);
        work_.wait(lock, [&] { return stopping_ || !ring_.empty(); });
        if (ring_.empty()) return;  // stopping, and nothing is left
        // The client at the front scores one input, then goes to the back.
        const std::string client = std::move(ring_.front());
        ring_.pop_front();
        Client& c = clients_.at(client);
        r = c.requests.front();
        i = r->next++;
        if (r->next == r->inputs.size()) c.requests.pop_front();
        if (c.requests.empty()) clients_.erase(client);
        else ring_.push_back(client);
        --queued_inputs_;
      }
      std::exception_ptr error;
      try {
        r->scores[i] = score_(r->inputs[i]);
      } catch (...) {
        error = std::current_exception();
      }
      bool complete = false;
      {
        std::lock_guard lock(mutex_);
        if (error && !r->error) r->error = error;
        complete = ++r->done == r->inputs.size();
      }
      if (complete) {
        // Only this worker sees the last input done. The promise is set and
        // the request leaves in_flight_ in one critical section: a client that
        // has its answer and then reads /metrics must see it gone (the waiter
        // on the future never takes mutex_, so this cannot deadlock).
        std::lock_guard lock(mutex_);
        if (r->error) r->promise.set_exception(r->error);
        else r->promise.set_value(std::move(r->scores));
        if (--in_flight_ == 0) idle_.notify_all();
      }
    }
  }

  void stop_workers() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    work_.notify_all();
    for (auto& t : threads_)
      if (t.joinable()) t.join();
  }

  ScoreFn score_;
  Options options_;
  mutable std::mutex mutex_;  // guards everything below
  std::condition_variable work_, idle_;
  std::map<std::string, Client> clients_;  // clients with inputs not yet taken
  std::deque<std::string> ring_;           // the same clients, in turn order
  std::size_t in_flight_ = 0, queued_inputs_ = 0;
  bool draining_ = false, stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace urm
