/// \file A fixed pool of workers woken per parallel loop: spin briefly, then sleep.
#include "runtime/thread_pool.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

namespace {

thread_local bool in_parallel_region = false;

/// One parallel loop: what every participating thread needs, published as a whole.
struct Job {
  convtune_task_fn fn = nullptr;
  void* closure = nullptr;
  int64_t n = 0;
  int active = 1;  ///< threads taking part, the caller included
};

class Pool {
public:
  ~Pool() { resize(0); }

  /// Also resizes the pool now, so fewer threads really means fewer threads alive. Inside a
  /// parallel body it does nothing: the loop running there holds the pool.
  void set_threads(int threads) {
    if (in_parallel_region) return;
    std::lock_guard<std::mutex> lock(api_mutex_);
    wanted_.store(std::max(1, threads));
    if (int(workers_.size()) != wanted_.load() - 1) resize(wanted_.load() - 1);
  }
  int threads() const { return wanted_.load(); }

  void run(convtune_task_fn fn, void* closure, int64_t n) {
    std::lock_guard<std::mutex> lock(api_mutex_);
    const int wanted = wanted_.load();
    if (int(workers_.size()) != wanted - 1) resize(wanted - 1);
    Job job{fn, closure, n, int(std::min<int64_t>(wanted, n))};
    pending_.store(job.active - 1, std::memory_order_relaxed);
    {
      // The job and its generation change together under the lock, and workers copy both
      // under it: a worker can never pair one loop's generation with another loop's job.
      std::lock_guard<std::mutex> l(mutex_);
      job_ = job;
      generation_.fetch_add(1, std::memory_order_release);
    }
    cv_.notify_all();
    run_range(job, 0);
    // The caller waits for every participant: ranges are static and similar in size.
    while (pending_.load(std::memory_order_acquire) > 0) std::this_thread::yield();
  }

private:
  static void run_range(const Job& job, int index) {
    const int64_t begin = job.n * index / job.active, end = job.n * (index + 1) / job.active;
    in_parallel_region = true;
    if (begin < end) job.fn(job.closure, begin, end);
    in_parallel_region = false;
  }

  void worker(int index, uint64_t seen) {
    for (;;) {
      // Spin for a moment: back-to-back parallel loops then cost no sleep and wake-up.
      auto spin_until = std::chrono::steady_clock::now() + std::chrono::microseconds(200);
      while (generation_.load(std::memory_order_acquire) == seen && !stop_.load() &&
             std::chrono::steady_clock::now() < spin_until) {
      }
      Job job;
      {
        std::unique_lock<std::mutex> l(mutex_);
        cv_.wait(l, [&] { return generation_.load() != seen || stop_.load(); });
        if (stop_.load()) return;
        seen = generation_.load();
        job = job_;
      }
      if (index < job.active) {
        run_range(job, index);
        pending_.fetch_sub(1, std::memory_order_acq_rel);
      }
    }
  }

  void resize(int workers) {
    if (!workers_.empty()) {
      {
        std::lock_guard<std::mutex> l(mutex_);
        stop_.store(true);
      }
      cv_.notify_all();
      for (std::thread& t : workers_) t.join();
      workers_.clear();
      stop_.store(false);
    }
    const uint64_t seen = generation_.load();
    for (int i = 1; i <= workers; ++i) workers_.emplace_back([this, i, seen] { worker(i, seen); });
  }

  std::mutex api_mutex_;  // one parallel loop at a time from outside
  std::mutex mutex_;      // guards job_ and generation_ changes
  std::condition_variable cv_;
  std::vector<std::thread> workers_;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> pending_{0};
  std::atomic<bool> stop_{false};
  std::atomic<int> wanted_{1};
  Job job_;
};

Pool& pool() {
  static Pool p;
  return p;
}

} // namespace

extern "C" {

void convtune_parallel_for(convtune_task_fn fn, void* closure, int64_t n) {
  if (n <= 0) return;
  if (n == 1 || in_parallel_region || pool().threads() == 1) {
    fn(closure, 0, n);
    return;
  }
  pool().run(fn, closure, n);
}

void convtune_set_num_threads(int threads) { pool().set_threads(threads); }

int convtune_get_num_threads(void) { return pool().threads(); }
}
