#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>
#include <vector>

#include "urm/core/error.hpp"
#include "urm/core/thread_pool.hpp"

TEST_CASE("parallel_for runs every task exactly once for any pool size") {
  for (std::size_t threads : {1u, 2u, 7u}) {
    urm::ThreadPool pool(threads);
    CHECK(pool.size() == threads);
    for (std::size_t n : {0u, 1u, 5u, 1000u}) {
      std::vector<std::atomic<int>> hits(n);
      pool.parallel_for(n, [&](std::size_t i) { hits[i].fetch_add(1); });
      for (auto& h : hits) REQUIRE(h.load() == 1);
    }
  }
}

TEST_CASE("an exception in a task reaches the caller and the pool stays usable") {
  urm::ThreadPool pool(3);
  CHECK_THROWS_WITH_AS(pool.parallel_for(100,
                                         [](std::size_t i) {
                                           if (i == 42) throw urm::Error("task 42 failed");
                                         }),
                       "task 42 failed", urm::Error);
  std::atomic<int> count{0};
  pool.parallel_for(10, [&](std::size_t) { ++count; });
  CHECK(count == 10);
}

TEST_CASE("nested and concurrent parallel_for calls complete") {
  urm::ThreadPool pool(2);
  std::atomic<int> count{0};
  pool.parallel_for(4, [&](std::size_t) { pool.parallel_for(4, [&](std::size_t) { ++count; }); });
  CHECK(count == 16);
  std::vector<std::thread> callers;
  for (int c = 0; c < 4; ++c)
    callers.emplace_back([&] {
      for (int r = 0; r < 50; ++r) pool.parallel_for(8, [&](std::size_t) { ++count; });
    });
  for (auto& t : callers) t.join();
  CHECK(count == 16 + 4 * 50 * 8);
}

// Several host threads sharing one pool (several RewardModel::score calls at
// once) must not run more tasks at a time than the pool has threads: jobs are
// serialised, also the one-task jobs that run on the caller's own thread.
TEST_CASE("concurrent callers never run more tasks at once than the pool has threads") {
  for (std::size_t size : {1u, 2u}) {
    urm::ThreadPool pool(size);
    std::atomic<int> running{0}, most{0}, count{0};
    const auto task = [&](std::size_t) {
      const int now = ++running;
      for (int seen = most.load(); now > seen && !most.compare_exchange_weak(seen, now);) {
      }
      std::this_thread::sleep_for(std::chrono::microseconds(200));
      --running;
      ++count;
    };
    std::vector<std::thread> callers;
    for (std::size_t c = 0; c < 4; ++c)
      callers.emplace_back([&, c] {
        // Jobs of 1 task (run inline on the caller) and of many tasks.
        for (int r = 0; r < 20; ++r) pool.parallel_for(c % 2 == 0 ? 1 : 5, task);
      });
    for (auto& t : callers) t.join();
    CHECK(count == 2 * 20 * 1 + 2 * 20 * 5);
    CHECK_MESSAGE(most.load() <= static_cast<int>(size), "pool of " << size << ": " << most.load() << " tasks at once");
  }
}
