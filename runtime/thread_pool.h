/// \file The thread pool that generated code calls for parallel loops, through a small C ABI
/// (the same runtime links into ahead-of-time artifacts).
///
/// A parallel loop of n iterations is split statically into one contiguous range per thread;
/// the calling thread runs the first range. With one thread the body is called directly: no
/// pool, no synchronisation. A parallel loop inside another runs serially.
#pragma once

#include <cstdint>

extern "C" {

/// The outlined body of a parallel loop: runs iterations [begin, end).
typedef void (*convtune_task_fn)(void* closure, int64_t begin, int64_t end);

/// Runs fn over [0, n) on the pool's threads and returns when all ranges are done.
void convtune_parallel_for(convtune_task_fn fn, void* closure, int64_t n);

/// Sets how many threads parallel loops use (at least 1); takes effect at the next loop.
void convtune_set_num_threads(int threads);
int convtune_get_num_threads(void);
}

namespace convtune {

/// Sets the thread count for the scope of this object, restoring the previous one after.
class ScopedThreads {
public:
  explicit ScopedThreads(int threads) : saved_(convtune_get_num_threads()) { convtune_set_num_threads(threads); }
  ~ScopedThreads() { convtune_set_num_threads(saved_); }
  ScopedThreads(const ScopedThreads&) = delete;
  ScopedThreads& operator=(const ScopedThreads&) = delete;

private:
  int saved_;
};

} // namespace convtune
