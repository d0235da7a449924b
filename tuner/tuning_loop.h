/// \file The tuning loop: propose, measure (isolated), record, observe; resume from the
/// database; stop early; share trials across the layers of a suite.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "ir/workload.h"
#include "schedules/schedule_template.h"
#include "targets/target.h"
#include "tuner/database.h"
#include "tuner/measurer.h"

namespace convtune {

struct TuneOptions {
  int trials = 40;              ///< total trials for the workload and target, earlier ones included
  std::string tuner = "bted";
  std::string acquisition = "ei";  ///< "ei" or "ucb", for the model searchers
  uint64_t seed = 1;
  int batch = 8;
  int early_stop = 0;           ///< stop after this many trials without a 1% gain; 0 = never
  bool transfer = false;        ///< warm the model with other layers' records on this target
  /// The template whose space is searched; empty: the union of every template that applies
  /// (the algorithm is chosen too).
  std::string template_name;
  /// Test hook by trial number (1-based, this session): "crash", "hang" or "" (tests only).
  std::function<std::string(int)> test_hook;
};

struct TuneProgress {
  int trial = 0, total = 0;     ///< trials counted so far (earlier sessions included)
  double best_gflops = 0;
  double last_gflops = 0;
  std::string last_error;       ///< empty when the last trial succeeded
  double elapsed_s = 0;
};

struct TuneResult {
  Workload workload;
  Config best_config;            ///< of the template `best_template`
  std::string best_template;
  double best_gflops = 0;
  double best_median_ms = 0;
  double default_gflops = 0;    ///< the default config's speed (0 when it failed)
  int trials = 0;               ///< counted for this workload and target, earlier ones included
  int new_trials = 0;           ///< measured in this call
  int shared_trials = 0;        ///< appended by other sessions on the same database while this one ran
  std::map<std::string, int> failed;  ///< failure reason (its kind, before ':' detail) -> count
  std::vector<double> trial_gflops;   ///< each counted trial's GFLOP/s (0 when it failed)
  bool early_stopped = false;
  long worker_rss_first_kb = 0, worker_rss_last_kb = 0;

  /// Best-so-far GFLOP/s after each counted trial.
  std::vector<double> curve() const;
  std::vector<double> trial_seconds;  ///< each new trial's cost as the tuner saw it (compile, check, time)
};

/// The database record of one measured config of template `tpl` (what a tuning session and
/// `convtune measure` append).
TrialRecord trial_record(const Workload& wl, const Target& target, int threads, const ScheduleTemplate& tpl, const Config& config,
                         const Schedule& schedule, const MeasureResult& m);

/// Tunes one workload until `options.trials` trials are counted for it on this target and
/// thread count (or the space or the patience runs out).
TuneResult tune_workload(const Workload& wl, const Target& target, Database& db, BatchMeasurer& measurer,
                         const TuneOptions& options, const std::function<void(const TuneProgress&)>& progress = {});

/// Tunes every layer of a list with `options.trials` trials each on average: after a first
/// batch for each, the next batch goes to the layer whose time could still drop the most
/// (its share of the suite's time, weighted by how much its last batch gained), as in
/// Ansor's task scheduler. `occurrences[i]`: how often layer i runs (a network's repeated
/// workloads, tuned once, weigh by their count); empty: once each.
std::vector<TuneResult> tune_suite(const std::vector<Workload>& layers, const Target& target, Database& db,
                                   BatchMeasurer& measurer, const TuneOptions& options,
                                   const std::function<void(const Workload&, const TuneProgress&)>& progress = {},
                                   const std::vector<int>& occurrences = {});

} // namespace convtune
