/// \file The tuning loop and the suite scheduler.
#include "tuner/tuning_loop.h"

#include <iostream>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <optional>

#include "schedules/template_choice.h"
#include "tuner/searcher.h"
#include "tuner/transfer.h"

namespace convtune {

namespace {

/// The failure's kind: "crash:SIGSEGV" stays whole, "compile_error: detail" loses the detail.
std::string failure_kind(const std::string& error) {
  const size_t colon = error.find(": ");
  return colon == std::string::npos ? error : error.substr(0, colon);
}

double cost_of(const TrialRecord& r) { return r.ok && r.gflops > 0 ? -std::log(r.gflops) : INFINITY; }

/// The templates a session searches: the one named, or every one that applies.
TemplateChoice chosen_templates(const Workload& wl, const Target& target, const TuneOptions& options) {
  if (!options.template_name.empty()) return TemplateChoice({&template_named_for(options.template_name, wl, target)}, wl, target);
  std::vector<const ScheduleTemplate*> all = applicable_templates(wl, target);
  if (all.empty()) template_for(wl, target);  // refuses, naming the workload and the target
  return TemplateChoice(all, wl, target);
}

/// The point of `choice`'s space a record stands for; nullopt when its template (or that
/// template's version) is not searched.
std::optional<Config> point_of(const TemplateChoice& choice, const TrialRecord& r) {
  const ScheduleTemplate* t = choice.find(r.template_name, r.template_version);
  if (!t) return std::nullopt;
  return choice.join(*t, config_from_json(r.config));
}

/// One layer's tuning state, kept across calls so a suite's batches share one searcher: its
/// model stays warm, and the database is read for the layer only once. With several templates
/// the searcher sees one space, the template a knob of it; each record names its own template.
class LayerTuner {
public:
  LayerTuner(const Workload& wl, const Target& target, Database& db, BatchMeasurer& measurer, const TuneOptions& options)
      : wl_(wl), target_(target), db_(db), measurer_(measurer), options_(options),
        slot_(target_slot(target.key(), measurer.options().threads)), choice_(chosen_templates(wl, target, options)),
        defaults_(choice_.default_points()), default_(choice_.split(defaults_.front())), start_(std::chrono::steady_clock::now()) {
    const int threads = measurer.options().threads;
    result.workload = wl;
    // Resume: what this workload and target already have counts, and warms the searcher.
    std::vector<Observation> earlier;
    for (const TrialRecord* r : db.find(wl.key(), slot_)) {
      const std::optional<Config> point = point_of(choice_, *r);
      if (!point) continue;
      account(*r);
      earlier.push_back({*point, cost_of(*r), {}});
    }
    best_at_last_gain_ = result.best_gflops;
    // Other layers' records: the model's warm start (--transfer), and where a layer new to the
    // database starts: what the history predicts for it (the rest of the first batch).
    const bool fresh = result.trials == 0;
    std::vector<LayerHistory> history;
    if (options.transfer || fresh) history = layer_history(db, wl, target, threads, choice_);
    if (fresh) {
      if (auto model = ZeroShotModel::fit(history, wl, target, threads, choice_, options.seed)) {
        const size_t room = size_t(std::max<int>(1, options.batch - int(defaults_.size())));
        starts_ = model->best_points(room);
      }
    }

    SearchContext ctx;
    ctx.space = choice_.space();
    const TemplateChoice* choice = &choice_;
    ctx.features = [choice, threads](const Config& c) { return choice->features(threads, c); };
    ctx.seed = options.seed;
    ctx.acquisition = options.acquisition;
    // The model's cost grows with the cube of its points: the most recent records suffice.
    constexpr size_t kMaxTransfer = 150;
    if (options.transfer) ctx.transfer = transfer_observations(history, target, threads, choice_, kMaxTransfer);
    searcher_ = make_searcher(options.tuner, std::move(ctx));
    searcher_->observe(earlier);
    // Then each template's default.
    for (const Config& d : defaults_) {
      if (std::find(starts_.begin(), starts_.end(), d) == starts_.end()) starts_.push_back(d);
    }
  }

  /// Measures until `trials` are counted (or the space or the patience runs out).
  void run_until(int trials, const std::function<void(const TuneProgress&)>& progress) {
    // The starting points (predicted, then each template's default) are measured first unless
    // they were already, a batch at a time (another session on the file may be measuring them too).
    for (;;) {
      absorb_others();
      std::vector<Config> starts;
      for (const Config& d : starts_) {
        if (int(starts.size()) < options_.batch && result.trials + int(starts.size()) < trials && !measured(d)) starts.push_back(d);
      }
      if (starts.empty()) break;
      measure_batch(starts, trials, progress);
    }
    while (result.trials < trials) {
      if (options_.early_stop > 0 && since_gain_ >= options_.early_stop) {
        result.early_stopped = true;
        return;
      }
      // What other sessions on this file measured since: counted, and known to the model, so
      // that it is never proposed again.
      absorb_others();
      if (result.trials >= trials) return;
      std::vector<Config> proposed = searcher_->propose(std::min(options_.batch, trials - result.trials));
      if (proposed.empty()) return;  // the whole space is measured
      std::vector<Config> batch;
      for (const Config& c : proposed) {
        if (result.trials + int(batch.size()) >= trials) break;
        if (!measured(c)) batch.push_back(c);
      }
      measure_batch(batch, trials, progress);
    }
  }

  /// Counts what other sessions appended since the last look (the summary then holds them).
  void finish() { absorb_others(); }

  TuneResult result;

private:
  /// Reads the records other processes appended to the database since the last look; those of
  /// this workload, target and template count as trials and feed the searcher.
  void absorb_others() {
    const size_t before = db_.records().size();
    const size_t added = db_.refresh(std::cerr);
    std::vector<Observation> seen;
    for (size_t i = before; i < before + added; ++i) {
      const TrialRecord& r = db_.records()[i];
      if (r.workload_key != wl_.key() || r.target_slot() != slot_) continue;
      const std::optional<Config> point = point_of(choice_, r);
      if (!point) continue;
      account(r);
      ++result.shared_trials;
      seen.push_back({*point, cost_of(r), {}});
    }
    if (!seen.empty()) searcher_->observe(seen);
  }

  void account(const TrialRecord& r) {
    ++result.trials;
    result.trial_gflops.push_back(r.ok ? r.gflops : 0);
    if (!r.ok) ++result.failed[failure_kind(r.error)];
    const Config config = config_from_json(r.config);
    if (r.ok && r.gflops > result.best_gflops) {
      result.best_gflops = r.gflops;
      result.best_median_ms = r.median_ms;
      result.best_config = config;
      result.best_template = r.template_name;
    }
    // The default is the first template's (the one `run` uses without a database).
    if (r.ok && r.template_name == default_.first->name() && config == default_.second) result.default_gflops = r.gflops;
  }

  /// Whether the database holds a trial of `point` here already.
  bool measured(const Config& point) const {
    const auto [tpl, own] = choice_.split(point);
    return db_.measured(wl_.key(), slot_, tpl->name(), tpl->version(), config_to_json(own));
  }

  /// Measures a batch (the next candidate compiles while one is timed), recording each trial
  /// as its result arrives.
  void measure_batch(const std::vector<Config>& batch, int trials, const std::function<void(const TuneProgress&)>& progress) {
    std::vector<Candidate> candidates;
    for (const Config& c : batch) {
      const int trial = result.new_trials + int(candidates.size()) + 1;
      candidates.push_back({wl_, choice_.schedule(c), options_.test_hook ? options_.test_hook(trial) : ""});
    }
    measurer_.measure_all(candidates, [&](size_t i, const MeasureResult& m) {
      record(batch[i], candidates[i].schedule, m, trials, progress);
    });
  }

  void record(const Config& c, const Schedule& schedule, const MeasureResult& m, int trials,
              const std::function<void(const TuneProgress&)>& progress) {
    const auto [tpl, own] = choice_.split(c);
    const TrialRecord r = trial_record(wl_, target_, measurer_.options().threads, *tpl, own, schedule, m);
    db_.append(r);
    ++result.new_trials;
    if (result.worker_rss_first_kb == 0) result.worker_rss_first_kb = m.worker_rss_kb;
    if (m.worker_rss_kb) result.worker_rss_last_kb = m.worker_rss_kb;
    result.trial_seconds.push_back(m.wall_ms / 1e3);
    account(r);
    searcher_->observe({{c, cost_of(r), {}}});
    if (result.best_gflops > best_at_last_gain_ * 1.01) {
      best_at_last_gain_ = result.best_gflops;
      since_gain_ = 0;
    } else {
      ++since_gain_;
    }
    if (progress) {
      progress({result.trials, trials, result.best_gflops, r.gflops, r.error,
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count()});
    }
  }

  const Workload wl_;
  const Target target_;
  Database& db_;
  BatchMeasurer& measurer_;
  const TuneOptions options_;
  const std::string slot_;
  const TemplateChoice choice_;  ///< built once: each candidate's schedule is made from it
  const std::vector<Config> defaults_;  ///< each template's default config, the first one's first
  std::vector<Config> starts_;          ///< measured before the searcher proposes: predicted, then defaults_
  const std::pair<const ScheduleTemplate*, Config> default_;  ///< the first, as its template's own config
  const std::chrono::steady_clock::time_point start_;
  std::unique_ptr<Searcher> searcher_;
  double best_at_last_gain_ = 0;
  int since_gain_ = 0;
};

} // namespace

TrialRecord trial_record(const Workload& wl, const Target& target, int threads, const ScheduleTemplate& tpl, const Config& config,
                         const Schedule& schedule, const MeasureResult& m) {
  TrialRecord r;
  r.workload_key = wl.key();
  r.workload = wl;
  r.target_key = target.key();
  r.target = target;
  r.threads = threads;
  r.template_name = tpl.name();
  r.template_version = tpl.version();
  r.config = config_to_json(config);
  r.schedule = to_json(schedule);
  r.ok = m.ok;
  r.error = m.error;
  r.times_ms = m.times_ms;
  r.median_ms = m.median_ms;
  r.gflops = m.gflops;
  r.timestamp = iso_timestamp_now();
  r.version = CONVTUNE_VERSION_STRING;
  return r;
}

std::vector<double> TuneResult::curve() const {
  std::vector<double> out;
  double best = 0;
  for (double g : trial_gflops) out.push_back(best = std::max(best, g));
  return out;
}

TuneResult tune_workload(const Workload& wl, const Target& target, Database& db, BatchMeasurer& measurer,
                         const TuneOptions& options, const std::function<void(const TuneProgress&)>& progress) {
  LayerTuner tuner(wl, target, db, measurer, options);
  tuner.run_until(options.trials, progress);
  tuner.finish();
  return tuner.result;
}

std::vector<TuneResult> tune_suite(const std::vector<Workload>& layers, const Target& target, Database& db,
                                   BatchMeasurer& measurer, const TuneOptions& options,
                                   const std::function<void(const Workload&, const TuneProgress&)>& progress,
                                   const std::vector<int>& occurrences) {
  std::vector<std::unique_ptr<LayerTuner>> tuners;
  int spent = 0;  // trials counted across the suite, earlier sessions' included
  for (const Workload& wl : layers) {
    tuners.push_back(std::make_unique<LayerTuner>(wl, target, db, measurer, options));
    spent += tuners.back()->result.trials;
  }
  std::vector<int> allotted(layers.size(), 0);
  std::vector<double> gain(layers.size(), 1.0);
  const int total = options.trials * int(layers.size());
  auto run = [&](size_t i, int more) {
    TuneResult& r = tuners[i]->result;
    // Trials counted from earlier sessions already fill a layer's allotment.
    allotted[i] = std::max(allotted[i], r.trials) + more;
    const double before = r.best_gflops;
    const int counted_before = r.trials;
    tuners[i]->run_until(allotted[i], [&](const TuneProgress& p) { if (progress) progress(layers[i], p); });
    spent += r.trials - counted_before;
    // Relative gain of the last batch; a layer that stops improving gets fewer trials.
    gain[i] = before > 0 ? std::max(0.0, r.best_gflops / before - 1.0) : 1.0;
  };
  // A first batch for each layer not started in an earlier session; a started one already
  // holds the trials it counts.
  for (size_t i = 0; i < layers.size() && spent < total; ++i) {
    if (tuners[i]->result.trials == 0) run(i, std::min({options.batch, options.trials, total - spent}));
    else allotted[i] = tuners[i]->result.trials;
  }
  while (spent < total) {
    size_t pick = 0;
    double top = -1;
    for (size_t i = 0; i < layers.size(); ++i) {
      if (tuners[i]->result.trials < allotted[i]) continue;  // its space ran out or it stopped early
      const double best = tuners[i]->result.best_gflops;
      const double runs = occurrences.empty() ? 1.0 : double(occurrences[i]);
      const double seconds = runs * (best > 0 ? layers[i].flops() / (best * 1e9) : 1.0);
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
  std::vector<TuneResult> results;
  for (const auto& t : tuners) results.push_back(t->result);
  return results;
}

} // namespace convtune
