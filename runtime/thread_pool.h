/// \file The C++ side of convtune's runtime (runtime/convtune_rt.h, the thread pool that
/// generated code calls for parallel loops): a scope that sets the thread count.
#pragma once

#include "runtime/convtune_rt.h"

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
