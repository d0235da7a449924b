/// \file Isolated measurement: candidates run in a worker process (`convtune worker`) with a
/// time limit. A candidate that crashes, aborts or hangs becomes a failed trial with its
/// reason, the worker is replaced, and the session goes on.
#pragma once

#include <string>
#include <sys/types.h>
#include <vector>

#include <nlohmann/json.hpp>

#include "ir/workload.h"
#include "schedules/schedule.h"

namespace convtune {

struct MeasureOptions {
  int threads = 1;
  int repeat = 5;                ///< timed measurements per candidate
  double min_repeat_ms = 50;     ///< each measurement repeats the call for at least this long
  double timeout_s = 10;         ///< per candidate: compile, check and measure
  bool flush_cache = false;      ///< evict the caches before each measurement
};

struct MeasureResult {
  bool ok = false;
  std::string error;             ///< "wrong_result", "timeout", "crash:SIGSEGV", "compile_error: ..."
  std::vector<double> times_ms;  ///< ms per call, one per measurement
  double median_ms = 0;
  double gflops = 0;
  double compile_ms = 0;         ///< lowering and JIT, in the worker
  double wall_ms = 0;            ///< the whole trial as the parent saw it
  long worker_rss_kb = 0;        ///< the worker's resident size after the trial
};

/// Runs candidates one at a time in a persistent worker process.
class Measurer {
public:
  /// `worker_binary` is the convtune executable (it runs `convtune worker`).
  Measurer(std::string worker_binary, MeasureOptions options);
  ~Measurer();
  Measurer(const Measurer&) = delete;
  Measurer& operator=(const Measurer&) = delete;

  /// Measures one schedule. `test_hook` ("crash" or "hang") makes the worker misbehave on
  /// purpose; the worker honours it only when CONVTUNE_TEST_HOOKS=1 is in its environment.
  MeasureResult measure(const Workload& wl, const Schedule& schedule, const std::string& test_hook = "");

  /// Times oneDNN on the same layer in the worker; ok=false when it is unavailable.
  MeasureResult measure_onednn(const Workload& wl);

  const MeasureOptions& options() const { return options_; }

private:
  MeasureResult run_job(const nlohmann::json& job);
  void start_worker();
  void stop_worker();
  std::string binary_;
  MeasureOptions options_;
  static constexpr int kJobsPerWorker = 200;
  int jobs_in_worker_ = 0;
  pid_t pid_ = -1;
  int to_worker_ = -1, from_worker_ = -1;
  std::string pending_;  ///< bytes read from the worker past the last full line
};

/// The path of the running executable (/proc/self/exe).
std::string current_executable();

} // namespace convtune
