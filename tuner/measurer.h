/// \file Isolated measurement: candidates run in a worker process (`convtune worker`) with a
/// time limit. A candidate that crashes, aborts or hangs becomes a failed trial with its
/// reason, the worker is replaced, and the session goes on.
#pragma once

#include <chrono>
#include <functional>
#include <set>
#include <string>
#include <variant>
#include <sys/types.h>
#include <vector>

#include <nlohmann/json.hpp>

#include "ir/workload.h"
#include "schedules/schedule.h"

namespace convtune {

struct MeasureOptions {
  std::string target = "cpu";    ///< the --target name the worker compiles for
  int threads = 1;
  int repeat = 5;                ///< timed measurements per candidate
  double min_repeat_ms = 50;     ///< each measurement repeats the call for at least this long
  double timeout_s = 10;         ///< per candidate: compile, check and measure
  bool flush_cache = false;      ///< evict the caches before each measurement
  /// Compile the next candidate while the current one is measured. Taken only when the
  /// measurement leaves a core free (threads < cores), so the compile never competes with it.
  bool overlap_compile = true;
  /// The worker's address-space limit (RLIMIT_AS), so a runaway candidate fails as
  /// `out_of_memory` instead of taking the machine's memory; 0: three quarters of the
  /// machine's physical memory.
  double worker_memory_bytes = 0;
};

struct MeasureResult {
  bool ok = false;
  /// "wrong_result", "compile_timeout" (its compile ran past the limit), "run_timeout" (its
  /// check or timing did), "out_of_memory", "crash:SIGSEGV", "compile_error: ..."
  std::string error;
  std::vector<double> times_ms;  ///< ms per call, one per measurement
  double median_ms = 0;
  double gflops = 0;
  double compile_ms = 0;         ///< lowering and JIT, in the worker
  double wall_ms = 0;            ///< from the previous answer (or the send) to this one, as the parent saw it
  long worker_rss_kb = 0;        ///< the worker's resident size after the trial
  std::string target_key;        ///< the key of the target the worker compiled for
};

/// One candidate to measure. `test_hook` ("crash", "hang", "slow_compile", "wrong" or "alloc") makes the worker
/// misbehave on purpose; it honours it only when CONVTUNE_TEST_HOOKS=1 is in its environment.
struct Candidate {
  Workload wl;
  Schedule schedule;
  std::string test_hook;
};

/// Measures candidates in a persistent worker process, one measurement at a time.
/// What the tuning loop measures candidates with: the local isolated worker (Measurer), or the
/// ranks of an MPI job (tuner/mpi_measurer.h).
class BatchMeasurer {
public:
  virtual ~BatchMeasurer() = default;
  /// Measures a batch, calling `done(i, result)` for each candidate as its result arrives
  /// (every candidate exactly once; in order for the local worker, in any order across ranks).
  virtual void measure_all(const std::vector<Candidate>& candidates,
                           const std::function<void(size_t, const MeasureResult&)>& done) = 0;
  virtual const MeasureOptions& options() const = 0;
};

class Measurer : public BatchMeasurer {
public:
  /// `worker_binary` is the convtune executable (it runs `convtune worker`).
  Measurer(std::string worker_binary, MeasureOptions options);
  ~Measurer();
  Measurer(const Measurer&) = delete;
  Measurer& operator=(const Measurer&) = delete;

  /// Measures one schedule.
  MeasureResult measure(const Workload& wl, const Schedule& schedule, const std::string& test_hook = "");

  /// Measures a batch in order, calling `done(i, result)` as each result arrives. With
  /// overlap, candidate i+1 is sent (and compiled) while i is measured; a crash seen with two
  /// in flight is replayed one at a time, so the failure lands on the candidate that caused it.
  void measure_all(const std::vector<Candidate>& candidates,
                   const std::function<void(size_t, const MeasureResult&)>& done) override;

  /// Times oneDNN on the same layer in the worker; ok=false when it is unavailable.
  MeasureResult measure_onednn(const Workload& wl);

  const MeasureOptions& options() const override { return options_; }

private:
  /// Runs jobs in order, at most `window_` in flight; see measure_all.
  void run_jobs(std::vector<nlohmann::json> jobs, const std::function<void(size_t, const MeasureResult&)>& done);
  /// A job line's common fields: what to run and how to time it.
  nlohmann::json job(const std::string& kind, const Workload& wl) const;
  bool send(const nlohmann::json& job);
  void start_worker();
  void stop_worker();
  /// Waits for the worker's next line until `deadline`: the parsed reply, or the reason there
  /// is none ("timeout", "crash:SIGSEGV", ...); the worker is stopped in the second case.
  std::variant<nlohmann::json, std::string> next_reply(std::chrono::steady_clock::time_point deadline);
  std::string binary_;
  MeasureOptions options_;
  static constexpr int kJobsPerWorker = 200;
  size_t window_ = 1;  ///< jobs in flight: 2 when compiles overlap measurements
  int jobs_in_worker_ = 0;
  pid_t pid_ = -1;
  int to_worker_ = -1, from_worker_ = -1;
  std::string pending_;  ///< bytes read from the worker past the last full line
  std::set<int64_t> compiled_;  ///< ids of jobs in flight the worker said it has compiled
  std::string memory_limit_arg_;  ///< the worker's --memory-limit value, made before any fork
};

/// The path of the running executable (/proc/self/exe).
std::string current_executable();

/// This process's resident size in KiB (/proc/self/statm), 0 when unknown.
long resident_kb();

} // namespace convtune
