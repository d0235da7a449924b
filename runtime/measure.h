/// \file Timing a kernel: warm-up, repeats until each measurement is long enough, median.
#pragma once

#include <functional>
#include <vector>

namespace convtune {

struct TimingOptions {
  int warmup_calls = 1;
  int measurements = 7;          ///< how many timed measurements (the median is reported)
  double min_measurement_ms = 100;  ///< each measurement repeats the call until it lasts this long
  /// Run before each measurement, untimed (e.g. evicting the caches); empty for nothing.
  std::function<void()> before_each;
  /// Milliseconds `calls` back-to-back calls of a function take, measured otherwise than by
  /// the host's clock (a GPU's events around launches that return at once); empty: the clock.
  std::function<double(const std::function<void()>& fn, int64_t calls)> batch_timer;
};

/// Writes over a buffer larger than the last-level cache, so the next call starts cold.
void flush_caches();

struct Timing {
  std::vector<double> ms_per_call;  ///< one entry per measurement
  double median_ms = 0;
  double min_ms = 0;
  double max_ms = 0;
  int calls_per_measurement = 0;
};

/// Times `fn`: warm-up calls, then picks a repeat count so that one measurement lasts at least
/// min_measurement_ms, and takes `measurements` of them.
Timing measure(const std::function<void()>& fn, const TimingOptions& options = {});

/// Times several functions side by side: each is warmed up and calibrated alone, then the
/// measurements run in rounds, one of each function per round.
std::vector<Timing> measure_interleaved(const std::vector<std::function<void()>>& fns,
                                        const TimingOptions& options = {});

/// Median of a non-empty vector.
double median(std::vector<double> values);

} // namespace convtune
