/// \file What all peer baselines share: letting their OpenMP threads go idle.
#include "runtime/baseline.h"

#include <chrono>
#include <thread>

namespace convtune {

void settle_openmp_threads() {
  // libgomp's idle threads spin for a few milliseconds before they sleep.
  std::this_thread::sleep_for(std::chrono::milliseconds(10));
}

} // namespace convtune
