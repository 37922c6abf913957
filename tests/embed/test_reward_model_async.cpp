// RewardModel::score_async / score_ids_async on the tiny-urm-llama3 fixture:
// the model's own worker threads (started at the first call), results equal
// to the synchronous ones bit for bit, a full queue, cancellation, and the
// RewardModel destroyed with work pending. (The queue itself is ScoreQueue,
// tested in depth through AsyncScorer in test_async_scorer.cpp.)
#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <future>
#include <memory>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "async_test_util.hpp"
#include "urm/model/reward_model.hpp"

using namespace urm;
using namespace urm::async_test;

namespace {

std::unique_ptr<RewardModel> load(std::size_t threads, AsyncOptions async = {}) {
  RewardModel::Options o;
  o.threads = threads;
  o.async = async;
  return std::make_unique<RewardModel>(RewardModel::load(model_dir(), o));
}

}  // namespace

TEST_CASE("RewardModel::score_async: futures and callbacks equal score_ids bit for bit for any workers and threads") {
  const auto ids = golden_ids();
  std::vector<Score> expected;
  {
    const auto reference = load(1);
    for (const auto& x : ids) expected.push_back(reference->score_ids(x));
  }
  for (std::size_t threads : {1u, 2u}) {
    for (std::size_t workers : {0u, 1u, 2u}) {
      CAPTURE(threads);
      CAPTURE(workers);
      std::vector<std::promise<AsyncResult>> ps(ids.size());  // outlive the model, whose callbacks set them
      const auto rm = load(threads, {.workers = workers, .queue_capacity = 2 * ids.size()});
      std::vector<std::future<Score>> fs;
      for (std::size_t i = 0; i < ids.size(); ++i) {
        fs.push_back(rm->score_ids_async(ids[i]));
        rm->score_ids_async(ids[i], [&ps, i](AsyncResult r) { ps[i].set_value(std::move(r)); });
      }
      for (std::size_t i = 0; i < ids.size(); ++i) {
        const Score s = fs[i].get();
        CHECK(same_bits(s, expected[i]));
        CHECK(s.sample_rewards(6, 99 + i) == expected[i].sample_rewards(6, 99 + i));
        const AsyncResult r = ps[i].get_future().get();
        REQUIRE(r.ok());
        CHECK(same_bits(*r.score, expected[i]));
      }
      rm->wait_async();
      CHECK(rm->async_queued() == 0);
    }
  }
}

TEST_CASE("RewardModel::score_async: a conversation has the outcome of score, the model's errors pass through") {
  const auto rm = load(2);
  const Conversation conv = {{"user", "when were the first Olympic Games held?"}, {"assistant", "April 1896"}};
  auto f = rm->score_async(conv);
  std::promise<AsyncResult> via_callback;
  rm->score_async(conv, [&](AsyncResult r) { via_callback.set_value(std::move(r)); });
  const AsyncResult r = via_callback.get_future().get();
  // The fixture folder has no tokenizer.json: score() fails, and so must the async forms.
  REQUIRE(!rm->has_tokenizer());
  const std::string expected = rm->checkpoint().dir() +
                               ": no tokenizer.json in the model folder (scoring a conversation needs "
                               "tokenizer.json and tokenizer_config.json: set Options::tokenizer_dir)";
  CHECK_THROWS_WITH_AS(rm->score(conv), expected.c_str(), Error);
  CHECK_THROWS_WITH_AS(f.get(), expected.c_str(), Error);
  CHECK(!r.ok());
  CHECK(r.error == expected);
  CHECK_THROWS_WITH_AS(rm->score_async({}).get(), "empty conversation: there is no message to score", Error);
  CHECK_THROWS_WITH_AS(rm->score_ids_async({5, 128257}).get(),
                       "token id 128257 at position 1 is out of range [0, 128257)", Error);
  CHECK(rm->score_ids_async({128000, 9906}).get().n_tokens == 2);  // still serving after errors
}

TEST_CASE("RewardModel::score_async: no thread before the first call, then exactly workers + threads - 1") {
  const std::size_t before = process_threads();
  {
    const auto rm = load(2, {.workers = 2});
    CHECK(process_threads() == before + 2 - 1);  // the compute pool only
    CHECK(rm->async_queued() == 0);
    CHECK(rm->cancel_async() == 0);
    rm->wait_async();  // nothing started: returns at once
    CHECK(process_threads() == before + 1);
    CHECK(rm->score_ids_async({128000}).get().n_tokens == 1);
    CHECK(process_threads() == before + 2 + 2 - 1);
  }
  CHECK(process_threads() == before);  // all joined
  {
    const auto rm = load(1, {.workers = 0});  // the host's budget: no thread at all
    std::thread::id ran_on;
    rm->score_ids_async({128000, 1}, [&](AsyncResult r) {
      CHECK(r.ok());
      ran_on = std::this_thread::get_id();
    });
    CHECK(ran_on == std::this_thread::get_id());  // scored inside the call
    auto g = rm->score_ids_async({128000, 1});
    CHECK(ready(g));
    CHECK(process_threads() == before);
  }
}

TEST_CASE("RewardModel::score_async: a full queue rejects with an exact error") {
  const auto rm = load(1, {.workers = 1, .queue_capacity = 1});
  HeldWorker held(*rm);
  auto a = rm->score_ids_async({128000, 1});
  CHECK(rm->async_queued() == 1);
  CHECK_THROWS_WITH_AS(rm->score_ids_async({128000, 2}),
                       "RewardModel: the queue is full (1 inputs waiting); wait for results, cancel work, or choose "
                       "a larger queue_capacity or WhenFull::Wait",
                       Error);
  held.release();
  CHECK(a.get().n_tokens == 2);
  rm->wait_async();
  CHECK(held.result.ok());
  CHECK(rm->score_ids_async({128000, 2}).get().n_tokens == 2);
}

TEST_CASE("RewardModel::score_async: WhenFull::Wait holds the caller until there is room") {
  const auto rm = load(1, {.workers = 1, .queue_capacity = 1, .when_full = WhenFull::Wait});
  HeldWorker held(*rm);
  auto a = rm->score_ids_async({128000, 1});
  std::future<Score> b;
  std::thread producer([&] { b = rm->score_ids_async({128000, 2}); });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  CHECK(rm->async_queued() == 1);  // b is not in: its caller waits
  held.release();
  producer.join();
  CHECK(a.get().n_tokens == 2);
  CHECK(b.get().n_tokens == 2);
}

TEST_CASE("RewardModel::score_async: stop_token and cancel_async cancel queued inputs; a running one finishes") {
  const auto rm = load(1, {.workers = 1, .queue_capacity = 8});
  HeldWorker held(*rm);
  std::stop_source group;
  auto a = rm->score_ids_async({128000, 1}, group.get_token());
  std::promise<AsyncResult> b;
  rm->score_ids_async({128000, 2}, [&](AsyncResult r) { b.set_value(std::move(r)); }, group.get_token());
  auto c = rm->score_ids_async({128000, 3});
  auto d = rm->score_ids_async({128000, 4});
  CHECK(rm->async_queued() == 4);

  group.request_stop();
  CHECK(ready(a));
  CHECK_THROWS_WITH_AS(a.get(), "RewardModel: cancelled before it was scored", Error);
  const AsyncResult rb = b.get_future().get();
  CHECK(!rb.ok());
  CHECK(rb.error == RewardModel::kCancelled);
  CHECK(rm->async_queued() == 2);

  CHECK(rm->cancel_async() == 2);
  CHECK_THROWS_WITH_AS(c.get(), RewardModel::kCancelled, Error);
  CHECK_THROWS_WITH_AS(d.get(), RewardModel::kCancelled, Error);

  held.release();
  rm->wait_async();
  REQUIRE(held.result.ok());  // the input being scored was not touched
  CHECK(held.result.score->n_tokens == 2);
}

TEST_CASE("RewardModel::score_async: destroyed with work pending, queued inputs get an error, the running one finishes") {
  auto rm = load(2, {.workers = 1, .queue_capacity = 8});
  HeldWorker held(*rm);
  auto queued_future = rm->score_ids_async({128000, 1});
  std::promise<AsyncResult> queued_callback;
  rm->score_ids_async({128000, 2}, [&](AsyncResult r) { queued_callback.set_value(std::move(r)); });
  std::stop_source never_used;
  auto with_token = rm->score_ids_async({128000, 3}, never_used.get_token());

  std::thread destroyer([&] { rm.reset(); });
  // The destructor completes the queued inputs before it waits for the worker.
  CHECK_THROWS_WITH_AS(queued_future.get(), "RewardModel: destroyed before this input was scored", Error);
  const AsyncResult r = queued_callback.get_future().get();
  CHECK(!r.ok());
  CHECK(r.error == RewardModel::kDestroyed);
  CHECK_THROWS_WITH_AS(with_token.get(), RewardModel::kDestroyed, Error);
  held.release();  // the input being scored finishes on a model still alive, then the worker exits
  destroyer.join();
  REQUIRE(held.result.ok());
  CHECK(held.result.score->n_tokens == 2);
  never_used.request_stop();  // its stop_callback is gone: nothing happens
}

TEST_CASE("RewardModel::score_async: a moved RewardModel keeps its queue and workers") {
  RewardModel a = RewardModel::load(model_dir());
  auto f = a.score_ids_async({128000, 1});
  RewardModel b = std::move(a);
  CHECK(f.get().n_tokens == 2);
  CHECK(b.score_ids_async({128000}).get().n_tokens == 1);
}

TEST_CASE("RewardModel::score_async: bad async options are load errors, an empty callback a call error") {
  RewardModel::Options o;
  o.async.workers = 1000;
  CHECK_THROWS_WITH_AS(RewardModel::load(model_dir(), o), "RewardModel: workers is 1000, at most 256", Error);
  o.async = {.queue_capacity = 0};
  CHECK_THROWS_WITH_AS(RewardModel::load(model_dir(), o), "RewardModel: queue_capacity must be at least 1", Error);
  const auto rm = load(1);
  CHECK_THROWS_WITH_AS(rm->score_ids_async({1}, ScoreCallback()), "RewardModel: the callback is empty", Error);
}
