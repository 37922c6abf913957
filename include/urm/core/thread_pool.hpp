// ThreadPool — a fixed set of workers that run one data-parallel job at a time.
//
// parallel_for(n, task) runs task(i) for i in [0, n) on the workers and the
// calling thread, and returns when all are done. Tasks are handed out
// dynamically, but a task's result never depends on which thread ran it, so
// kernels that give each output element to exactly one task are bitwise
// identical for any thread count.
//
// Concurrency: jobs are serialised (a mutex admits one at a time), so several
// host threads calling into one model share the pool's threads instead of
// multiplying them: at most size() tasks run at once. That includes jobs that
// run on the caller alone (one task, or a pool of size 1): they too wait for
// the mutex. A parallel_for issued from inside a task runs inline on that
// thread; one issued by the caller while it holds the mutex (from a job that
// runs inline) uses the pool without locking again (no deadlock either way).
#pragma once

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <exception>
#include <functional>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "urm/core/error.hpp"

namespace urm {

class ThreadPool {
 public:
  // Most threads a pool takes: more than any machine's cores today, few
  // enough that a mistyped count is an error rather than thousands of threads.
  static constexpr std::size_t kMaxThreads = 1024;

  // n_threads counts the calling thread: 1 means "run everything on the
  // caller", 0 means std::thread::hardware_concurrency() (at most kMaxThreads).
  // Throws urm::Error above kMaxThreads, or if the system cannot start a
  // thread; the threads already started are then stopped and joined.
  explicit ThreadPool(std::size_t n_threads = 0) {
    if (n_threads > kMaxThreads)
      throw Error("ThreadPool: " + std::to_string(n_threads) + " threads, at most " + std::to_string(kMaxThreads));
    if (n_threads == 0) n_threads = std::clamp<std::size_t>(std::thread::hardware_concurrency(), 1, kMaxThreads);
    workers_.reserve(n_threads - 1);
    for (std::size_t i = 0; i + 1 < n_threads; ++i) {
      try {
        workers_.emplace_back([this] { worker_loop(); });
      } catch (const std::system_error& e) {
        stop_workers();
        throw Error("ThreadPool: cannot start thread " + std::to_string(i + 2) + " of " + std::to_string(n_threads) +
                    ": " + e.what());
      }
    }
  }
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;
  ~ThreadPool() { stop_workers(); }

  std::size_t size() const { return workers_.size() + 1; }

  void parallel_for(std::size_t n_tasks, const std::function<void(std::size_t)>& task) {
    if (n_tasks == 0) return;
    if (inside_task()) {
      for (std::size_t i = 0; i < n_tasks; ++i) task(i);
      return;
    }
    const std::thread::id me = std::this_thread::get_id();
    std::unique_lock job_lock(job_mutex_, std::defer_lock);
    if (job_owner_.load(std::memory_order_relaxed) != me) {
      job_lock.lock();
      job_owner_.store(me, std::memory_order_relaxed);
    }
    struct Release {  // gives up ownership before job_lock unlocks (declared after it)
      std::unique_lock<std::mutex>& lock;
      std::atomic<std::thread::id>& owner;
      ~Release() {
        if (lock.owns_lock()) owner.store(std::thread::id{}, std::memory_order_relaxed);
      }
    } release{job_lock, job_owner_};
    if (workers_.empty() || n_tasks == 1) {
      for (std::size_t i = 0; i < n_tasks; ++i) task(i);
      return;
    }
    {
      std::lock_guard lock(state_mutex_);
      task_ = &task;
      n_tasks_ = n_tasks;
      next_.store(0, std::memory_order_relaxed);
      active_ = workers_.size();
      error_ = nullptr;
      ++generation_;
    }
    wake_.notify_all();
    run_tasks();
    std::unique_lock lock(state_mutex_);
    done_.wait(lock, [this] { return active_ == 0; });
    task_ = nullptr;
    if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
  }

 private:
  void stop_workers() {
    {
      std::lock_guard lock(state_mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    for (auto& t : workers_) t.join();
    workers_.clear();
  }

  static bool& inside_task() {
    thread_local bool inside = false;
    return inside;
  }

  void run_tasks() {
    inside_task() = true;
    for (;;) {
      const std::size_t i = next_.fetch_add(1, std::memory_order_relaxed);
      if (i >= n_tasks_) break;
      try {
        (*task_)(i);
      } catch (...) {
        std::lock_guard lock(state_mutex_);
        if (!error_) error_ = std::current_exception();
        next_.store(n_tasks_, std::memory_order_relaxed);  // stop handing out work
      }
    }
    inside_task() = false;
  }

  void worker_loop() {
    std::size_t seen = 0;
    for (;;) {
      {
        std::unique_lock lock(state_mutex_);
        wake_.wait(lock, [&] { return stopping_ || generation_ != seen; });
        if (stopping_) return;
        seen = generation_;
      }
      run_tasks();
      {
        std::lock_guard lock(state_mutex_);
        if (--active_ == 0) done_.notify_one();
      }
    }
  }

  std::vector<std::thread> workers_;
  std::mutex job_mutex_;    // one parallel_for at a time
  std::atomic<std::thread::id> job_owner_{};  // the thread holding job_mutex_, if any
  std::mutex state_mutex_;  // guards the fields below
  std::condition_variable wake_, done_;
  const std::function<void(std::size_t)>* task_ = nullptr;
  std::size_t n_tasks_ = 0;
  std::atomic<std::size_t> next_{0};
  std::size_t active_ = 0;
  std::size_t generation_ = 0;
  bool stopping_ = false;
  std::exception_ptr error_;
};

}  // namespace urm
