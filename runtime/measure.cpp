/// \file Timing a kernel: warm-up, repeats until each measurement is long enough, median.
#include "runtime/measure.h"

#include <algorithm>
#include <chrono>
#include <climits>
#include <cmath>
#include <cstdint>

#include "ir/error.h"

namespace convtune {

namespace {

using Clock = std::chrono::steady_clock;

/// The time of `calls` back-to-back calls, in milliseconds: wall time, or `timer`'s.
double time_batch(const std::function<void()>& fn, int64_t calls, const TimingOptions& options) {
  if (options.batch_timer) return options.batch_timer(fn, calls);
  const Clock::time_point start = Clock::now();
  for (int64_t i = 0; i < calls; ++i) fn();
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

/// The number of calls that makes one measurement last at least `min_ms`.
int64_t calibrate(const std::function<void()>& fn, const TimingOptions& options) {
  const double min_ms = options.min_measurement_ms;
  if (min_ms <= 0) return 1;
  int64_t batch = 1;
  double elapsed = time_batch(fn, batch, options);
  if (elapsed >= min_ms) return 1;
  // A single call may be below the clock's resolution: double until the batch is long enough
  // (a tenth of the target) to scale from without the clock's granularity dominating.
  while (elapsed < min_ms / 10 && batch < (int64_t{1} << 40)) {
    batch *= 2;
    elapsed = time_batch(fn, batch, options);
  }
  if (elapsed <= 0) return batch;
  const double scaled = std::ceil(static_cast<double>(batch) * min_ms / elapsed);
  return std::clamp<int64_t>(static_cast<int64_t>(std::min(scaled, 1e15)), 1, INT_MAX);
}

} // namespace

void flush_caches() {
  // 128 MiB: four times the largest last-level cache seen on these machines.
  static std::vector<char> junk(size_t(128) << 20);
  for (size_t i = 0; i < junk.size(); i += 64) junk[i] = char(junk[i] + 1);
}

double median(std::vector<double> values) {
  internal_check(!values.empty(), "median of an empty vector");
  const size_t mid = values.size() / 2;
  std::nth_element(values.begin(), values.begin() + mid, values.end());
  const double upper = values[mid];
  if (values.size() % 2 == 1) return upper;
  // After nth_element everything before mid is <= upper; the lower middle is their maximum.
  const double lower = *std::max_element(values.begin(), values.begin() + mid);
  return (lower + upper) / 2;
}

Timing measure(const std::function<void()>& fn, const TimingOptions& options) {
  return measure_interleaved({fn}, options).front();
}

std::vector<Timing> measure_interleaved(const std::vector<std::function<void()>>& fns, const TimingOptions& options) {
  // Nonsense counts are clamped rather than refused: the CLI validates what the user typed.
  const int warmup = std::max(0, options.warmup_calls);
  const int measurements = std::max(1, options.measurements);

  std::vector<Timing> timings(fns.size());
  std::vector<int64_t> calls(fns.size());
  for (size_t f = 0; f < fns.size(); ++f) {
    for (int i = 0; i < warmup; ++i) fns[f]();
    calls[f] = calibrate(fns[f], options);
    timings[f].calls_per_measurement = static_cast<int>(calls[f]);
  }
  // Round-robin: each round measures every function once, so a slow phase of a shared
  // machine touches all of them alike.
  for (int m = 0; m < measurements; ++m) {
    for (size_t f = 0; f < fns.size(); ++f) {
      if (options.before_each) options.before_each();
      timings[f].ms_per_call.push_back(time_batch(fns[f], calls[f], options) / static_cast<double>(calls[f]));
    }
  }
  for (Timing& t : timings) {
    t.median_ms = median(t.ms_per_call);
    const auto [lo, hi] = std::minmax_element(t.ms_per_call.begin(), t.ms_per_call.end());
    t.min_ms = *lo;
    t.max_ms = *hi;
  }
  return timings;
}

} // namespace convtune
