// FairScheduler with a scoring function that records the order it is
// called in and can be held on a gate: clients take turns, a lone client's
// requests run in arrival order, the bound on requests in flight, drain,
// errors, options.
#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <future>
#include <mutex>
#include <string>
#include <vector>

#include "support/async.hpp"
#include "urm/serve/fair_scheduler.hpp"

using namespace urm;
using urm::test::Gate;
using urm::test::ready;

namespace {

// Scores an input [tag] as reward = tag, after the first call waits on `hold`.
struct Recorder {
  std::mutex mutex;
  std::vector<std::int32_t> order;
  Gate hold;
  std::promise<void> first_started;
  bool first = true;

  FairScheduler::ScoreFn fn() {
    return [this](const FairScheduler::Ids& ids) {
      bool wait = false;
      {
        std::lock_guard lock(mutex);
        order.push_back(ids.at(0));
        if (first) {
          first = false;
          wait = true;
          first_started.set_value();
        }
      }
      if (wait) hold.wait();
      if (ids.at(0) < 0) throw Error("input " + std::to_string(ids[0]) + " cannot be scored");
      Score s;
      s.reward = static_cast<float>(ids[0]);
      s.n_tokens = ids.size();
      return s;
    };
  }
};

std::vector<FairScheduler::Ids> inputs(std::initializer_list<std::int32_t> tags) {
  std::vector<FairScheduler::Ids> v;
  for (auto t : tags) v.push_back({t});
  return v;
}

}  // namespace

TEST_CASE("FairScheduler: clients take turns, one input each, in the order their work arrived") {
  Recorder rec;
  FairScheduler sched(rec.fn(), {.workers = 1, .max_requests = 16});
  auto f0 = sched.submit("a", inputs({0}));  // holds the worker
  rec.first_started.get_future().wait();
  auto fa1 = sched.submit("a", inputs({11, 12, 13}));  // client a: a long request, then another
  auto fa2 = sched.submit("a", inputs({14}));
  auto fb = sched.submit("b", inputs({21, 22}));
  auto fc = sched.submit("c", inputs({31}));
  CHECK(sched.queued_inputs() == 7);
  CHECK(sched.in_flight() == 5);
  rec.hold.open();
  const std::vector<float> a1 = [&] {
    std::vector<float> r;
    for (const Score& s : fa1->get()) r.push_back(s.reward);
    return r;
  }();
  CHECK(a1 == std::vector<float>{11, 12, 13});
  fa2->get();
  fb->get();
  fc->get();
  sched.drain();
  // a, b, c in turn; a's requests in arrival order within its turns.
  CHECK(rec.order == std::vector<std::int32_t>{0, 11, 21, 31, 12, 22, 13, 14});
  CHECK(sched.queued_inputs() == 0);
  CHECK(sched.in_flight() == 0);
}

TEST_CASE("FairScheduler: at most max_requests in flight; drain answers all accepted and refuses new ones") {
  Recorder rec;
  FairScheduler sched(rec.fn(), {.workers = 1, .max_requests = 2});
  auto f1 = sched.submit("a", inputs({1}));
  rec.first_started.get_future().wait();
  auto f2 = sched.submit("b", inputs({2, 3}));
  REQUIRE(f1);
  REQUIRE(f2);
  CHECK(sched.full());
  CHECK_FALSE(sched.submit("c", inputs({4})).has_value());
  CHECK_FALSE(ready(*f1));
  rec.hold.open();
  CHECK(f1->get()[0].reward == 1.0f);
  CHECK(f2->get().size() == 2);
  CHECK_FALSE(sched.full());
  auto empty = sched.submit("d", {});
  REQUIRE(empty);
  CHECK(ready(*empty));
  CHECK(empty->get().empty());
  sched.drain();
  CHECK(sched.full());
  CHECK_FALSE(sched.submit("a", inputs({5})).has_value());
}

TEST_CASE("FairScheduler: a request has left in_flight() by the time its future is ready") {
  // A server answers, then the client reads urm_requests_in_flight: it must
  // not count the answered request. Racy before the fix, so many rounds.
  const auto score = [](const FairScheduler::Ids& ids) {
    Score s;
    s.reward = float(ids.at(0));
    return s;
  };
  FairScheduler sched(score, {.workers = 2, .max_requests = 1});
  int counted = 0;
  for (int round = 0; round < 2000; ++round) {
    auto f = sched.submit("a", inputs({round}));
    REQUIRE(f);
    f->wait();
    counted += int(sched.in_flight());
    CHECK_FALSE(sched.full());  // max_requests = 1: full while it is still counted
  }
  CHECK(counted == 0);
}

TEST_CASE("FairScheduler: a request whose input fails gets the error; the others are unaffected") {
  Recorder rec;
  rec.hold.open();
  FairScheduler sched(rec.fn(), {.workers = 3, .max_requests = 8});
  auto bad = sched.submit("a", inputs({1, -2, 3}));
  auto good = sched.submit("b", inputs({4, 5}));
  CHECK_THROWS_WITH(bad->get(), "input -2 cannot be scored");
  CHECK(good->get()[1].reward == 5.0f);
  sched.drain();
  CHECK(sched.in_flight() == 0);
}

TEST_CASE("FairScheduler: the destructor answers what was accepted") {
  Recorder rec;
  std::optional<std::future<std::vector<Score>>> f;
  {
    FairScheduler sched(rec.fn(), {.workers = 1, .max_requests = 4});
    f = sched.submit("a", inputs({7, 8, 9}));
    rec.hold.open();
  }
  CHECK(f->get().size() == 3);
}

TEST_CASE("FairScheduler: options out of range") {
  Recorder rec;
  CHECK_THROWS_WITH(FairScheduler(rec.fn(), {.workers = 0, .max_requests = 1}),
                    "FairScheduler: workers is 0, expected 1 to 256");
  CHECK_THROWS_WITH(FairScheduler(rec.fn(), {.workers = 257, .max_requests = 1}),
                    "FairScheduler: workers is 257, expected 1 to 256");
  CHECK_THROWS_WITH(FairScheduler(rec.fn(), {.workers = 1, .max_requests = 0}),
                    "FairScheduler: max_requests must be at least 1");
}
