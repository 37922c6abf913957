#include <doctest/doctest.h>

#include <pthread.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <string>
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

TEST_CASE("a thread count above kMaxThreads is an error before any thread starts") {
  CHECK(urm::ThreadPool::kMaxThreads == 1024);
  CHECK_THROWS_WITH_AS(urm::ThreadPool(100000), "ThreadPool: 100000 threads, at most 1024", urm::Error);
  CHECK_THROWS_WITH_AS(urm::ThreadPool(1025), "ThreadPool: 1025 threads, at most 1024", urm::Error);
}

TEST_CASE("a thread the system cannot start is an error, and the pool stops what it started") {
  // Every new thread's stack would be 1 TiB: the system refuses the first.
  pthread_attr_t saved, huge;
  REQUIRE(pthread_getattr_default_np(&saved) == 0);
  REQUIRE(pthread_attr_init(&huge) == 0);
  REQUIRE(pthread_attr_setstacksize(&huge, std::size_t{1} << 40) == 0);
  REQUIRE(pthread_setattr_default_np(&huge) == 0);
  std::string message;
  try {
    urm::ThreadPool pool(4);
  } catch (const urm::Error& e) {
    message = e.what();
  }
  REQUIRE(pthread_setattr_default_np(&saved) == 0);
  pthread_attr_destroy(&huge);
  pthread_attr_destroy(&saved);
  CHECK(message == "ThreadPool: cannot start thread 2 of 4: Resource temporarily unavailable");

#if !defined(__SANITIZE_ADDRESS__)  // (AddressSanitizer cannot run under an address-space limit)
  // Halfway: a child process whose address space has room for a few thread
  // stacks. Before the fix the constructor threw with threads running and
  // the program ended in std::terminate (or, in a host, hung for good).
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    std::ifstream status("/proc/self/status");
    long vm_kb = 0;
    for (std::string line; std::getline(status, line);)
      if (line.rfind("VmSize:", 0) == 0) vm_kb = std::atol(line.c_str() + 7);
    const rlim_t limit = static_cast<rlim_t>(vm_kb + 40 * 1024) * 1024;  // + 40 MiB: a few 8 MiB stacks
    const rlimit as{limit, limit};
    if (::setrlimit(RLIMIT_AS, &as) != 0) ::_exit(5);
    ::alarm(20);  // a hang fails the test instead of blocking it
    try {
      urm::ThreadPool pool(64);
      ::_exit(3);  // all 64 started: the limit did not bite
    } catch (const urm::Error& e) {
      ::_exit(std::string(e.what()).rfind("ThreadPool: cannot start thread ", 0) == 0 ? 0 : 4);
    } catch (...) {
      ::_exit(6);
    }
  }
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
#endif
}
