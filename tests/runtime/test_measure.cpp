/// \file Timing: the median, and measure()'s shape (never its speed, which the machine decides).
#include <catch2/catch.hpp>

#include <chrono>

#include "runtime/measure.h"

using namespace convtune;

namespace {

void spin_for_ms(double ms) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double, std::milli>(ms);
  while (std::chrono::steady_clock::now() < until) {
  }
}

} // namespace

TEST_CASE("median of odd and even vectors", "[runtime][measure]") {
  CHECK(median({5.0}) == 5.0);
  CHECK(median({3.0, 1.0, 2.0}) == 2.0);
  CHECK(median({9.0, 1.0, 5.0, 7.0, 3.0}) == 5.0);
  CHECK(median({4.0, 1.0}) == 2.5);
  CHECK(median({4.0, 1.0, 3.0, 2.0}) == 2.5);
  CHECK(median({10.0, 1.0, 1.0, 10.0}) == 5.5);
}

TEST_CASE("measure takes the requested measurements", "[runtime][measure]") {
  int calls = 0;
  TimingOptions options;
  options.warmup_calls = 2;
  options.measurements = 3;
  options.min_measurement_ms = 5;
  const Timing t = measure(
      [&] {
        ++calls;
        spin_for_ms(1);
      },
      options);
  REQUIRE(t.ms_per_call.size() == 3);
  CHECK(t.calls_per_measurement >= 1);
  CHECK(t.min_ms > 0);
  CHECK(t.min_ms <= t.median_ms);
  CHECK(t.median_ms <= t.max_ms);
  // Warm-up and every timed call ran (calibration runs a few more).
  CHECK(calls >= 2 + 3 * t.calls_per_measurement);
}

TEST_CASE("measure repeats a short call", "[runtime][measure]") {
  TimingOptions options;
  options.measurements = 1;
  options.min_measurement_ms = 50;
  const Timing t = measure([] { spin_for_ms(0.02); }, options);
  REQUIRE(t.ms_per_call.size() == 1);
  // A 0.02 ms call cannot fill 50 ms on its own; the median of one entry is that entry.
  CHECK(t.calls_per_measurement > 1);
  CHECK(t.median_ms == t.ms_per_call[0]);
}

TEST_CASE("measure clamps nonsense counts", "[runtime][measure]") {
  TimingOptions options;
  options.warmup_calls = -3;
  options.measurements = 0;
  options.min_measurement_ms = 0;
  int calls = 0;
  const Timing t = measure([&] { ++calls; }, options);
  CHECK(t.ms_per_call.size() == 1);
  CHECK(t.calls_per_measurement == 1);
  CHECK(calls == 1); // no warm-up, no calibration, one measurement of one call
}
