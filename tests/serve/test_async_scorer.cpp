// AsyncScorer on the tiny-urm-llama3 fixture: results equal the synchronous
// ones bit for bit for any worker/thread count, full queues (reject, wait,
// self-wait), cancellation, destruction with work pending, options errors.
//
// A worker is held busy by giving it a job whose callback blocks on a Gate:
// inputs submitted meanwhile stay queued, which makes queue states exact
// without timing assumptions (only the back-pressure test uses a short sleep
// to see that a caller is blocked).
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <cstdint>
#include <fstream>
#include <future>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "urm/serve/async_scorer.hpp"
#include "support/async.hpp"

using namespace urm;
using namespace std::chrono_literals;
using namespace urm::test;

namespace {

std::shared_ptr<const RewardModel> load(std::size_t threads) {
  RewardModel::Options o;
  o.threads = threads;
  return std::make_shared<const RewardModel>(RewardModel::load(urm::test::model_dir(), o));
}

}  // namespace

TEST_CASE("AsyncScorer: scores equal RewardModel::score_ids bit for bit for any workers and threads") {
  const auto ids = golden_ids();
  const auto reference_model = load(1);
  std::vector<Score> expected;
  for (const auto& x : ids) expected.push_back(reference_model->score_ids(x));
  for (std::size_t threads : {1u, 2u, 3u}) {
    const auto model = load(threads);
    for (std::size_t workers : {0u, 1u, 3u}) {
      CAPTURE(threads);
      CAPTURE(workers);
      AsyncScorer scorer(model, {.workers = workers, .queue_capacity = 64});
      CHECK(scorer.workers() == workers);
      std::vector<std::future<Score>> fs;
      for (const auto& x : ids) fs.push_back(scorer.score_ids_async(x));
      for (std::size_t i = 0; i < ids.size(); ++i) {
        const Score s = fs[i].get();
        CHECK(same_bits(s, expected[i]));
        // Samples depend only on the input and the seed.
        CHECK(s.sample_rewards(6, 1234 + i) == expected[i].sample_rewards(6, 1234 + i));
      }
    }
  }
}

TEST_CASE("AsyncScorer: a conversation has the same outcome as RewardModel::score") {
  const auto model = load(2);
  const Conversation conv = {{"user", "when were the first Olympic Games held?"}, {"assistant", "April 1896"}};
  AsyncScorer scorer(model);
  auto f = scorer.score_async(conv);
  std::promise<AsyncResult> via_callback;
  scorer.score_async(conv, [&](AsyncResult r) { via_callback.set_value(std::move(r)); });
  const AsyncResult r = via_callback.get_future().get();
  try {
    const Score expected = model->score(conv);
    CHECK(same_bits(f.get(), expected));
    REQUIRE(r.ok());
    CHECK(same_bits(*r.score, expected));
  } catch (const Error& e) {  // the model's own error for this input, passed on unchanged
    CHECK_THROWS_WITH_AS(f.get(), e.what(), Error);
    CHECK(!r.ok());
    CHECK(r.error == e.what());
  }
}

TEST_CASE("AsyncScorer: the model's error for a bad input reaches the future and the callback") {
  AsyncScorer scorer(load(1));
  auto f = scorer.score_ids_async({});
  CHECK_THROWS_WITH_AS(f.get(), "empty input: there is no token to score", Error);
  std::promise<AsyncResult> p;
  scorer.score_ids_async({5, 128257}, [&](AsyncResult r) { p.set_value(std::move(r)); });
  const AsyncResult r = p.get_future().get();
  CHECK(!r.ok());
  CHECK(r.error == "token id 128257 at position 1 is out of range [0, 128257)");
  // The scorer goes on working after errors.
  CHECK(scorer.score_ids_async({128000, 9906}).get().n_tokens == 2);
}


TEST_CASE("AsyncScorer: urm.cpp starts exactly workers + threads - 1 threads") {
  const std::size_t before = process_threads();
  {
    AsyncScorer none(load(1), {.workers = 0});  // the host's budget: no thread at all
    CHECK(process_threads() == before);
    CHECK(none.score_ids_async({128000}).get().n_tokens == 1);
  }
  {
    AsyncScorer scorer(load(3), {.workers = 2});
    CHECK(process_threads() == before + 2 + 3 - 1);
  }
  CHECK(process_threads() == before);  // all joined
}

TEST_CASE("AsyncScorer: with 0 workers the input is scored on the caller before score_async returns") {
  AsyncScorer scorer(load(1), {.workers = 0});
  CHECK(scorer.workers() == 0);
  auto f = scorer.score_ids_async({128000, 9906});
  CHECK(ready(f));
  CHECK(f.get().n_tokens == 2);
  std::thread::id ran_on;
  bool called = false;
  scorer.score_ids_async({128000}, [&](AsyncResult r) {
    called = r.ok();
    ran_on = std::this_thread::get_id();
  });
  CHECK(called);
  CHECK(ran_on == std::this_thread::get_id());
  CHECK(scorer.queued() == 0);
  scorer.wait_idle();
}

TEST_CASE("AsyncScorer: a full queue rejects with an exact error, and works again once there is room") {
  AsyncScorer scorer(load(1), {.workers = 1, .queue_capacity = 2});
  HeldWorker held(scorer);
  auto a = scorer.score_ids_async({128000, 1});
  auto b = scorer.score_ids_async({128000, 2});
  CHECK(scorer.queued() == 2);
  CHECK_THROWS_WITH_AS(scorer.score_ids_async({128000, 3}),
                       "AsyncScorer: the queue is full (2 inputs waiting); wait for results, cancel work, or choose "
                       "a larger queue_capacity or WhenFull::Wait",
                       Error);
  bool called = false;
  CHECK_THROWS_AS(scorer.score_ids_async({128000, 3}, [&](AsyncResult) { called = true; }), Error);
  CHECK(scorer.queued() == 2);
  held.release();
  CHECK(a.get().n_tokens == 2);
  CHECK(b.get().n_tokens == 2);
  scorer.wait_idle();
  CHECK(held.result.ok());
  CHECK(!called);  // a rejected callback is never called
  CHECK(scorer.score_ids_async({128000, 3}).get().n_tokens == 2);
}

TEST_CASE("AsyncScorer: WhenFull::Wait blocks the caller until a worker takes an input") {
  AsyncScorer scorer(load(1), {.workers = 1, .queue_capacity = 1, .when_full = WhenFull::Wait});
  HeldWorker held(scorer);
  auto a = scorer.score_ids_async({128000, 1});  // fills the queue
  std::atomic<bool> returned{false};
  std::future<Score> b;
  std::thread producer([&] {
    b = scorer.score_ids_async({128000, 2});
    returned = true;
  });
  std::this_thread::sleep_for(100ms);
  CHECK(!returned);
  CHECK(scorer.queued() == 1);
  held.release();
  producer.join();
  CHECK(returned);
  CHECK(a.get().n_tokens == 2);
  CHECK(b.get().n_tokens == 2);
}

TEST_CASE("AsyncScorer: WhenFull::Wait from the scorer's own worker is an error, not a deadlock") {
  AsyncScorer scorer(load(1), {.workers = 1, .queue_capacity = 1, .when_full = WhenFull::Wait});
  Gate go;
  std::promise<void> started;
  std::promise<std::string> inner_error;
  scorer.score_ids_async({128000}, [&](AsyncResult) {
    started.set_value();
    go.wait();
    try {
      scorer.score_ids_async({128000, 5});
      inner_error.set_value("");
    } catch (const Error& e) {
      inner_error.set_value(e.what());
    }
  });
  started.get_future().wait();
  auto queued = scorer.score_ids_async({128000, 1});  // the queue is now full
  go.open();
  CHECK(inner_error.get_future().get() ==
        "AsyncScorer: the queue is full and this call comes from one of the scorer's own workers, which cannot "
        "wait for itself (submit from another thread or use WhenFull::Reject)");
  CHECK(queued.get().n_tokens == 2);
}

TEST_CASE("AsyncScorer: a callback may submit more work (chained scoring)") {
  AsyncScorer scorer(load(1), {.workers = 1});
  std::promise<AsyncResult> second;
  scorer.score_ids_async({128000}, [&](AsyncResult first) {
    REQUIRE(first.ok());
    scorer.score_ids_async({128000, 1, 2}, [&](AsyncResult r) { second.set_value(std::move(r)); });
  });
  const AsyncResult r = second.get_future().get();
  REQUIRE(r.ok());
  CHECK(r.score->n_tokens == 3);
}

TEST_CASE("AsyncScorer: stop_token cancels queued inputs at once; an input being scored finishes") {
  AsyncScorer scorer(load(1), {.workers = 1, .queue_capacity = 8});
  HeldWorker held(scorer);
  std::stop_source npc_a, npc_b;
  auto a1 = scorer.score_ids_async({128000, 1}, npc_a.get_token());
  std::promise<AsyncResult> a2;
  scorer.score_ids_async({128000, 2}, [&](AsyncResult r) { a2.set_value(std::move(r)); }, npc_a.get_token());
  auto b1 = scorer.score_ids_async({128000, 3}, npc_b.get_token());
  auto plain = scorer.score_ids_async({128000, 4});
  CHECK(scorer.queued() == 4);

  CHECK(npc_a.request_stop());
  // Completed by request_stop itself, while the worker is still busy.
  CHECK(ready(a1));
  CHECK_THROWS_WITH_AS(a1.get(), "AsyncScorer: cancelled before it was scored", Error);
  const AsyncResult r2 = a2.get_future().get();
  CHECK(!r2.ok());
  CHECK(r2.error == AsyncScorer::kCancelled);
  CHECK(scorer.queued() == 2);
  CHECK(!ready(b1));

  held.release();
  CHECK(b1.get().n_tokens == 2);
  CHECK(plain.get().n_tokens == 2);
  // Stopping after completion does nothing.
  CHECK(npc_b.request_stop());
  scorer.wait_idle();
  CHECK(held.result.ok());
}

TEST_CASE("AsyncScorer: a token already stopped cancels at submission; stopping a running input does not") {
  AsyncScorer scorer(load(1), {.workers = 1});
  std::stop_source stopped;
  stopped.request_stop();
  auto f = scorer.score_ids_async({128000}, stopped.get_token());
  CHECK(ready(f));
  CHECK_THROWS_WITH_AS(f.get(), AsyncScorer::kCancelled, Error);

  std::stop_source running;
  Gate release;
  std::promise<void> started;
  std::promise<AsyncResult> result;
  scorer.score_ids_async(
      {128000, 7},
      [&](AsyncResult r) {
        started.set_value();
        release.wait();
        result.set_value(std::move(r));
      },
      running.get_token());
  started.get_future().wait();
  running.request_stop();  // the worker has it: too late to cancel
  release.open();
  const AsyncResult r = result.get_future().get();
  REQUIRE(r.ok());
  CHECK(r.score->n_tokens == 2);
}

TEST_CASE("AsyncScorer: cancel_all cancels everything queued") {
  AsyncScorer scorer(load(1), {.workers = 1, .queue_capacity = 8});
  HeldWorker held(scorer);
  std::vector<std::future<Score>> fs;
  for (int i = 0; i < 5; ++i) fs.push_back(scorer.score_ids_async({128000, i}));
  CHECK(scorer.cancel_all() == 5);
  CHECK(scorer.queued() == 0);
  for (auto& f : fs) {
    CHECK(ready(f));
    CHECK_THROWS_WITH_AS(f.get(), AsyncScorer::kCancelled, Error);
  }
  held.release();
  scorer.wait_idle();
  CHECK(held.result.ok());
  CHECK(scorer.cancel_all() == 0);
}

TEST_CASE("AsyncScorer: destroyed with work pending, queued inputs get an error and the running one finishes") {
  auto model = load(2);
  const std::weak_ptr<const RewardModel> watch = model;
  auto scorer = std::make_unique<AsyncScorer>(std::move(model), AsyncScorer::Options{.workers = 1, .queue_capacity = 8});
  HeldWorker held(*scorer);
  auto queued_future = scorer->score_ids_async({128000, 1});
  std::promise<AsyncResult> queued_callback;
  scorer->score_ids_async({128000, 2}, [&](AsyncResult r) { queued_callback.set_value(std::move(r)); });
  std::stop_source never_used;
  auto with_token = scorer->score_ids_async({128000, 3}, never_used.get_token());

  // The host holds no reference to the model any more; the scorer does.
  CHECK(!watch.expired());
  std::thread destroyer([&] { scorer.reset(); });
  // The destructor completes the queued inputs before it waits for the worker.
  CHECK_THROWS_WITH_AS(queued_future.get(), "AsyncScorer: destroyed before this input was scored", Error);
  const AsyncResult r = queued_callback.get_future().get();
  CHECK(!r.ok());
  CHECK(r.error == AsyncScorer::kDestroyed);
  CHECK_THROWS_WITH_AS(with_token.get(), AsyncScorer::kDestroyed, Error);
  held.release();  // the input being scored finishes, then the worker exits
  destroyer.join();
  REQUIRE(held.result.ok());
  CHECK(held.result.score->n_tokens == 2);
  CHECK(watch.expired());  // released with the scorer, after its last use
  never_used.request_stop();  // its stop_callback is gone: nothing happens
}

TEST_CASE("AsyncScorer: many producers, random cancellations: every input completes exactly once") {
  AsyncScorer scorer(load(1), {.workers = 2, .queue_capacity = 3, .when_full = WhenFull::Wait});
  std::atomic<int> completions{0}, scored{0}, cancelled{0};
  std::vector<std::thread> producers;
  for (int p = 0; p < 3; ++p) {
    producers.emplace_back([&, p] {
      std::stop_source group;
      for (int i = 0; i < 12; ++i) {
        scorer.score_ids_async(
            {128000, p, i},
            [&](AsyncResult r) {
              ++completions;
              if (r.ok()) ++scored;
              else if (r.error == AsyncScorer::kCancelled) ++cancelled;
            },
            group.get_token());
        if (i % 4 == 3) {
          group.request_stop();
          group = std::stop_source();
        }
      }
    });
  }
  for (auto& t : producers) t.join();
  scorer.wait_idle();
  CHECK(completions == 36);
  CHECK(scored + cancelled == 36);
}

TEST_CASE("AsyncScorer: a moved-from scorer hands its work to the new one") {
  AsyncScorer a(load(1), {.workers = 1});
  auto f = a.score_ids_async({128000, 1});
  AsyncScorer b(std::move(a));
  CHECK(f.get().n_tokens == 2);
  CHECK(b.score_ids_async({128000}).get().n_tokens == 1);
  AsyncScorer c(load(1), {.workers = 0});
  c = std::move(b);
  CHECK(c.workers() == 1);
}

TEST_CASE("AsyncScorer: bad options and arguments get exact errors") {
  auto model = load(1);
  CHECK_THROWS_WITH_AS(AsyncScorer(model, {.workers = 1000}), "AsyncScorer: workers is 1000, at most 256", Error);
  CHECK_THROWS_WITH_AS(AsyncScorer(model, {.queue_capacity = 0}), "AsyncScorer: queue_capacity must be at least 1",
                       Error);
  CHECK_THROWS_WITH_AS(AsyncScorer(std::shared_ptr<const RewardModel>()),
                       "AsyncScorer: no model (the shared_ptr is empty)", Error);
  AsyncScorer scorer(model);
  CHECK_THROWS_WITH_AS(scorer.score_ids_async({1}, ScoreCallback()), "AsyncScorer: the callback is empty", Error);
}
