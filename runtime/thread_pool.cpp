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

class Pool {
public:
  ~Pool() { resize(0); }

  void set_threads(int threads) {
    std::lock_guard<std::mutex> lock(api_mutex_);
    wanted_ = std::max(1, threads);
  }
  int threads() const { return wanted_; }

  void run(convtune_task_fn fn, void* closure, int64_t n) {
    std::lock_guard<std::mutex> lock(api_mutex_);
    const int threads = int(std::min<int64_t>(wanted_, n));
    if (int(workers_.size()) != wanted_ - 1) resize(wanted_ - 1);
    fn_ = fn;
    closure_ = closure;
    n_ = n;
    active_ = threads;
    pending_.store(threads - 1, std::memory_order_relaxed);
    {
      std::lock_guard<std::mutex> l(mutex_);
      generation_.fetch_add(1, std::memory_order_release);
    }
    cv_.notify_all();
    run_range(0);
    // The caller waits for the others with a short spin: ranges are static and similar.
    while (pending_.load(std::memory_order_acquire) > 0) std::this_thread::yield();
  }

private:
  void run_range(int index) {
    const int64_t begin = n_ * index / active_, end = n_ * (index + 1) / active_;
    in_parallel_region = true;
    if (begin < end) fn_(closure_, begin, end);
    in_parallel_region = false;
  }

  void worker(int index, uint64_t seen) {
    for (;;) {
      // Spin for a moment: back-to-back parallel loops then cost no sleep and wake-up.
      auto spin_until = std::chrono::steady_clock::now() + std::chrono::microseconds(200);
      while (generation_.load(std::memory_order_acquire) == seen && !stop_.load() &&
             std::chrono::steady_clock::now() < spin_until) {
      }
      {
        std::unique_lock<std::mutex> l(mutex_);
        cv_.wait(l, [&] { return generation_.load() != seen || stop_.load(); });
      }
      if (stop_.load()) return;
      seen = generation_.load(std::memory_order_acquire);
      if (index < active_) {
        run_range(index);
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
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<std::thread> workers_;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> pending_{0};
  std::atomic<bool> stop_{false};
  int wanted_ = 1;
  convtune_task_fn fn_ = nullptr;
  void* closure_ = nullptr;
  int64_t n_ = 0;
  int active_ = 1;
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
