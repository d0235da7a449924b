/// \file The tuning loop and the suite scheduler.
#include "tuner/tuning_loop.h"

#include <chrono>
#include <cmath>

#include "tuner/features.h"
#include "tuner/searcher.h"

namespace convtune {

namespace {

// Version 2: the `parallel` knob joined both templates.
constexpr int kTemplateVersion = 2;

/// The failure's kind: "crash:SIGSEGV" stays whole, "compile_error: detail" loses the detail.
std::string failure_kind(const std::string& error) {
  const size_t colon = error.find(": ");
  return colon == std::string::npos ? error : error.substr(0, colon);
}

double cost_of(const TrialRecord& r) { return r.ok && r.gflops > 0 ? -std::log(r.gflops) : INFINITY; }

/// Records of other layers with the same template on this target: features of their own layer.
std::vector<Observation> transfer_records(const Database& db, const Workload& wl, const Target& target, int threads,
                                          const std::string& template_name) {
  std::vector<Observation> out;
  const std::string slot = target_slot(target.key(), threads);
  for (const TrialRecord& r : db.records()) {
    if (r.workload_key == wl.key() || r.target_slot() != slot || r.template_name != template_name || !r.ok) continue;
    try {
      Workload other = r.workload.get<Workload>();
      Config c = config_from_json(r.config);
      out.push_back({c, cost_of(r), config_features(other, target, threads, c)});
    } catch (const std::exception&) {
      // A record from an older template version may not fit the features: it teaches nothing.
    }
  }
  // The model's cost grows with the cube of its points: the most recent records suffice.
  constexpr size_t kMaxTransfer = 150;
  if (out.size() > kMaxTransfer) out.erase(out.begin(), out.end() - long(kMaxTransfer));
  return out;
}

} // namespace

TuneResult tune_workload(const Workload& wl, const Target& target, Database& db, Measurer& measurer,
                         const TuneOptions& options, const std::function<void(const TuneProgress&)>& progress) {
  const auto start = std::chrono::steady_clock::now();
  const int threads = measurer.options().threads;
  const std::string slot = target_slot(target.key(), threads);
  TuneResult result;
  result.workload = wl;

  SearchContext ctx;
  ctx.space = knob_space(wl, target);
  ctx.features = [&](const Config& c) { return config_features(wl, target, threads, c); };
  ctx.seed = options.seed;
  ctx.acquisition = options.acquisition;
  if (options.transfer) ctx.transfer = transfer_records(db, wl, target, threads, ctx.space.template_name);
  std::unique_ptr<Searcher> searcher = make_searcher(options.tuner, ctx);
  const Config default_cfg = default_config(wl, target);

  // Resume: what this workload and target already have counts, and warms the searcher.
  auto account = [&](const TrialRecord& r) {
    ++result.trials;
    result.trial_gflops.push_back(r.ok ? r.gflops : 0);
    if (!r.ok) ++result.failed[failure_kind(r.error)];
    if (r.ok && r.gflops > result.best_gflops) {
      result.best_gflops = r.gflops;
      result.best_median_ms = r.median_ms;
      result.best_config = config_from_json(r.config);
    }
    if (r.ok && config_from_json(r.config) == default_cfg) result.default_gflops = r.gflops;
    result.curve.push_back(result.best_gflops);
  };
  std::vector<Observation> earlier;
  for (const TrialRecord* r : db.find(wl.key(), slot)) {
    if (r->template_name != ctx.space.template_name || r->template_version != kTemplateVersion) continue;
    account(*r);
    earlier.push_back({config_from_json(r->config), cost_of(*r), {}});
  }
  searcher->observe(earlier);

  double best_at_last_gain = result.best_gflops;
  int since_gain = 0;
  auto measure_one = [&](const Config& c) {
    const Schedule schedule = make_schedule(wl, target, c);
    const std::string hook = options.test_hook ? options.test_hook(result.new_trials + 1) : "";
    MeasureResult m = measurer.measure(wl, schedule, hook);
    TrialRecord r;
    r.workload_key = wl.key();
    r.workload = wl;
    r.target_key = target.key();
    r.target = target;
    r.threads = threads;
    r.template_name = ctx.space.template_name;
    r.template_version = kTemplateVersion;
    r.config = config_to_json(c);
    r.schedule = to_json(schedule);
    r.ok = m.ok;
    r.error = m.error;
    r.times_ms = m.times_ms;
    r.median_ms = m.median_ms;
    r.gflops = m.gflops;
    r.timestamp = iso_timestamp_now();
    r.version = CONVTUNE_VERSION_STRING;
    db.append(r);
    ++result.new_trials;
    if (result.worker_rss_first_kb == 0) result.worker_rss_first_kb = m.worker_rss_kb;
    if (m.worker_rss_kb) result.worker_rss_last_kb = m.worker_rss_kb;
    account(r);
    searcher->observe({{c, cost_of(r), {}}});
    if (result.best_gflops > best_at_last_gain * 1.01) {
      best_at_last_gain = result.best_gflops;
      since_gain = 0;
    } else {
      ++since_gain;
    }
    if (progress) {
      progress({result.trials, options.trials, result.best_gflops, r.gflops, r.error,
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count()});
    }
  };

  // The default config is the starting point: measured first unless it was already.
  if (result.trials < options.trials && !db.measured(wl.key(), slot, config_to_json(default_cfg))) {
    measure_one(default_cfg);
  }
  while (result.trials < options.trials) {
    if (options.early_stop > 0 && since_gain >= options.early_stop) {
      result.early_stopped = true;
      break;
    }
    std::vector<Config> batch = searcher->propose(std::min(options.batch, options.trials - result.trials));
    if (batch.empty()) break;  // the whole space is measured
    for (const Config& c : batch) {
      if (result.trials >= options.trials) break;
      if (db.measured(wl.key(), slot, config_to_json(c))) continue;
      measure_one(c);
    }
  }
  return result;
}

std::vector<TuneResult> tune_suite(const std::vector<Workload>& layers, const Target& target, Database& db,
                                   Measurer& measurer, const TuneOptions& options,
                                   const std::function<void(const Workload&, const TuneProgress&)>& progress) {
  std::vector<TuneResult> results(layers.size());
  std::vector<int> allotted(layers.size(), 0);
  std::vector<double> gain(layers.size(), 1.0);
  const int total = options.trials * int(layers.size());
  int spent = 0;
  auto run = [&](size_t i, int more) {
    TuneOptions o = options;
    allotted[i] += more;
    o.trials = allotted[i];
    const double before = results[i].best_gflops;
    const int counted_before = results[i].trials;
    results[i] = tune_workload(layers[i], target, db, measurer, o,
                               [&](const TuneProgress& p) { if (progress) progress(layers[i], p); });
    spent += results[i].trials - counted_before;
    // Relative gain of the last batch; a layer that stops improving gets fewer trials.
    gain[i] = before > 0 ? std::max(0.0, results[i].best_gflops / before - 1.0) : 1.0;
  };
  for (size_t i = 0; i < layers.size(); ++i) run(i, std::min(options.batch, options.trials));
  while (spent < total) {
    size_t pick = 0;
    double top = -1;
    for (size_t i = 0; i < layers.size(); ++i) {
      if (results[i].trials < allotted[i]) continue;  // its space ran out or it stopped early
      const double seconds = results[i].best_gflops > 0 ? layers[i].flops() / (results[i].best_gflops * 1e9) : 1.0;
      const double score = seconds * (gain[i] + 0.01);
      if (score > top) {
        top = score;
        pick = i;
      }
    }
    if (top < 0) break;
    const int before = spent;
    run(pick, std::min(options.batch, total - spent));
    if (spent == before) allotted[pick] = 1 << 30;  // exhausted: never picked again
  }
  return results;
}

} // namespace convtune
