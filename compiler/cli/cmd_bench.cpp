/// \file `convtune bench`: one layer (or a suite) through several backends, each checked
/// against the reference and timed side by side, interleaved, with the same thread count.
#include <algorithm>
#include <cmath>
#include <fstream>
#include <cstdio>
#include <functional>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>

#include <nlohmann/json.hpp>

#include "compiler/cli/args.h"
#include "compiler/cli/commands.h"
#include "compiler/cli/schedule_source.h"
#include "compiler/kernel_runner.h"
#include "ir/suites.h"
#include "runtime/baseline.h"
#include "runtime/measure.h"
#include "runtime/conv_problem.h"
#include "runtime/memory_budget.h"
#include "runtime/thread_pool.h"
#include "schedules/schedule_template.h"
#include "tuner/database.h"
#include "targets/roofline.h"

namespace convtune::cli {

namespace {

struct Row {
  std::string backend;
  std::string unavailable;  ///< why the row has no result; empty when it ran
  std::string detail;
  Agreement agreement;
  Timing timing;
  double layout_ms = -1;  ///< layout transforms outside the timed kernel, when there are any
  double gflops = 0;
};

/// A backend ready to be timed: its timed call, and what finishes and checks it.
struct Prepared {
  std::function<void()> timed;
  std::function<void()> layout;  ///< the transforms reported apart; empty when none
  std::function<void(Tensor&)> finish;
  std::string algorithm;  ///< whose error model the result is checked with (empty: the direct sum's)
};

using Layer = ConvProblem;

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

void check_backend_name(const std::string& b) {
  std::vector<std::string> known = {"naive", "im2col", "onednn", "default", "predicted", "tuned"};
  // A template's name: its default config (im2col_gemm is convtune's own im2col + GEMM; the
  // im2col row is the Eigen baseline).
  for (const auto& t : template_registry()) known.push_back(t->name());
  if (b.rfind("schedule:", 0) == 0 && b.size() > 9) return;
  if (b.rfind("tuned:", 0) == 0) {
    template_named(b.substr(6));  // refuses an unknown template, naming it
    return;
  }
  std::string list;
  for (const std::string& k : known) {
    if (b == k) return;
    list += k + ", ";
  }
  throw UserError("invalid --backends entry '" + b + "': expected " + list + "tuned:TEMPLATE or schedule:FILE");
}

/// Compiles a convtune schedule; the compute stage is timed, packing and unpacking apart.
Prepared prepare_convtune(Layer& layer, const Target& target, const Schedule& schedule, Row& row,
                          std::vector<std::shared_ptr<KernelRunner>>& keep) {
  std::shared_ptr<KernelRunner> runner = KernelRunner::compile(layer.wl, schedule, target);
  keep.push_back(runner);
  runner->bind(layer);
  const bool staged = runner->has_stage(StageKind::PackInput) || runner->has_stage(StageKind::UnpackOutput);
  row.detail = !schedule.template_name.empty() ? schedule.template_name + " " + schedule.config.dump()
               : schedule.steps.empty()        ? "unscheduled nest"
                                               : std::to_string(schedule.steps.size()) + " steps";
  KernelRunner* r = runner.get();
  // Weights are packed once, as a deployment packs them at compile time.
  r->run_stages(StageKind::PackWeights);
  r->run_stages(StageKind::PackInput);
  Prepared p;
  // On a GPU the launches return at once (bench_layer times them by events) and the result
  // comes back in `finish`; on the host both run to the end.
  p.timed = [r] { r->start_stages(StageKind::Compute); };
  if (staged) {
    p.layout = [r] {
      r->run_stages(StageKind::PackInput);
      r->run_stages(StageKind::UnpackOutput);
    };
  }
  p.finish = [r](Tensor&) {
    r->run_stages(StageKind::UnpackOutput);
    r->finish();
  };
  p.algorithm = schedule.algorithm;
  return p;
}

Prepared prepare_baseline(Layer& layer, std::shared_ptr<Baseline> b, Row& row, std::vector<std::shared_ptr<Baseline>>& keep) {
  keep.push_back(b);
  b->prepare(layer.input, layer.weights);
  row.detail = b->detail();
  Prepared p;
  p.timed = [b] { b->execute(); };
  p.layout = [b, &layer] { b->prepare(layer.input, layer.weights); };
  p.finish = [b](Tensor& out) { b->finish(out); };
  return p;
}

/// `backends` with each "tuned" followed by a "tuned:TEMPLATE" row per template the database
/// holds trials of for the layer, when there are two or more (the tuner chose among them).
std::vector<std::string> with_tuned_templates(const std::vector<std::string>& backends, const Workload& wl,
                                              const std::string& slot, const Database* db) {
  std::vector<std::string> templates;
  if (db) {
    for (const TrialRecord* r : db->find(wl.key(), slot)) {
      if (r->ok && std::find(templates.begin(), templates.end(), r->template_name) == templates.end()) templates.push_back(r->template_name);
    }
  }
  std::vector<std::string> out;
  for (const std::string& b : backends) {
    out.push_back(b);
    if (b != "tuned" || templates.size() < 2) continue;
    for (const std::string& t : templates) {
      if (std::find(backends.begin(), backends.end(), "tuned:" + t) == backends.end()) out.push_back("tuned:" + t);
    }
  }
  return out;
}

std::vector<Row> bench_layer(Layer& layer, const Target& target, const std::vector<std::string>& requested,
                             int threads, const TimingOptions& timing, const Database* db) {
  ScopedThreads scoped{threads};
  const std::string slot = target_slot(target.key(), threads);
  const std::vector<std::string> backends = with_tuned_templates(requested, layer.wl, slot, db);
  std::vector<Row> rows;
  std::vector<Prepared> prepared;
  std::vector<size_t> timed_rows;
  std::vector<std::shared_ptr<KernelRunner>> runners;
  std::vector<std::shared_ptr<Baseline>> baselines;
  for (const std::string& b : backends) {
    Row row;
    row.backend = b;
    std::optional<Prepared> p;
    const bool plain_conv = layer.wl.is_conv() && !layer.wl.has_bias();
    if (target.kind == TargetKind::Cuda && (b == "onednn" || b == "im2col" || b == "naive")) {
      // The baselines are the host's; the naive nest would run on one GPU thread.
      row.unavailable = "unavailable: " + (b == "naive" ? std::string("the naive nest binds no loop to the GPU")
                                                        : "the " + b + " baseline runs on the CPU, the target is a GPU");
    } else if ((b == "onednn" || b == "im2col") && !plain_conv) {
      // The baselines compute a plain convolution; pooling and epilogues are convtune's alone so far.
      row.unavailable = "unavailable: the " + b + " baseline runs plain convolutions only";
    } else if (b == "onednn") {
      if (!onednn_available()) row.unavailable = "unavailable: built without libdnnl-dev";
      else p = prepare_baseline(layer, make_onednn_baseline(layer.wl, threads), row, baselines);
    } else if (b == "im2col") {
      p = prepare_baseline(layer, make_im2col_baseline(layer.wl, threads), row, baselines);
    } else if (b == "tuned" || b.rfind("tuned:", 0) == 0) {
      // The best record of any template, or of the one named.
      const std::string only = b == "tuned" ? "" : b.substr(6);
      const TrialRecord* best = db ? db->best(layer.wl.key(), slot, only) : nullptr;
      if (!best) {
        row.unavailable = "unavailable: no record" + (only.empty() ? "" : " of " + only) +
                          " for this layer and thread count in the database (run convtune tune)";
      } else {
        p = prepare_convtune(layer, target, schedule_from_json(best->schedule), row, runners);
        row.detail = "tuned " + best->template_name + " " + best->config.dump();
      }
    } else if (b == "predicted") {
      // What the database's other layers predict for this one, its own records left out.
      const std::optional<ChosenSchedule> predicted = db ? predicted_schedule(*db, layer.wl, target, threads) : std::nullopt;
      if (!predicted) {
        row.unavailable = "unavailable: the database holds too few other layers on this target and thread count to predict from";
      } else {
        p = prepare_convtune(layer, target, predicted->schedule, row, runners);
        row.detail = predicted->source + ": " + predicted->schedule.template_name + " " + predicted->schedule.config.dump();
      }
    } else {
      const std::string what = b.rfind("schedule:", 0) == 0 ? b.substr(9) : b;
      p = prepare_convtune(layer, target, resolve_schedule(what, layer.wl, target), row, runners);
    }
    if (p) {
      // Correct before fast: a row whose result is wrong is reported, never timed.
      row.agreement = layer.check(
          [&] {
            p->timed();
            p->finish(layer.output);
          },
          p->algorithm);
      if (row.agreement.ok) {
        prepared.push_back(*p);
        timed_rows.push_back(rows.size());
      }
    }
    rows.push_back(row);
  }
  std::vector<std::function<void()>> fns;
  for (const Prepared& p : prepared) fns.push_back(p.timed);
  // OpenMP's threads (oneDNN, Eigen) spin for a while after each parallel region; a pause
  // before every measurement lets them go idle, so no backend is timed against another's
  // spinning threads.
  TimingOptions interleaved = timing;
  if (threads > 1 && baselines.size() > 0) {
    interleaved.before_each = settle_openmp_threads;
  }
  if (target.kind == TargetKind::Cuda) interleaved = with_gpu_events(interleaved);
  std::vector<Timing> timings = measure_interleaved(fns, interleaved);
  TimingOptions layout_timing = timing;
  layout_timing.measurements = std::max(3, timing.measurements / 2);
  for (size_t i = 0; i < prepared.size(); ++i) {
    Row& row = rows[timed_rows[i]];
    row.timing = timings[i];
    row.gflops = layer.wl.flops() / (row.timing.median_ms * 1e6);
    if (prepared[i].layout) row.layout_ms = measure(prepared[i].layout, layout_timing).median_ms;
  }
  return rows;
}

const Row* find_row(const std::vector<Row>& rows, const std::string& backend) {
  for (const Row& r : rows) {
    if (r.backend == backend && r.unavailable.empty() && r.agreement.ok) return &r;
  }
  return nullptr;
}

nlohmann::json row_json(const Row& r, const Row* onednn, const Roofline& roof, const Workload& wl) {
  nlohmann::json j = {{"backend", r.backend}, {"ok", r.unavailable.empty() && r.agreement.ok}};
  if (!r.unavailable.empty()) {
    j["unavailable"] = r.unavailable;
    return j;
  }
  j["max_abs_err"] = r.agreement.max_abs_err;
  j["max_rel_err"] = r.agreement.max_rel_err;
  j["checked_with"] = r.agreement.bound;
  j["tolerance"] = r.agreement.tolerance;
  j["detail"] = r.detail;
  if (!r.agreement.ok) return j;
  j["median_ms"] = r.timing.median_ms;
  j["min_ms"] = r.timing.min_ms;
  j["max_ms"] = r.timing.max_ms;
  j["ms_per_call"] = r.timing.ms_per_call;
  j["gflops"] = r.gflops;
  j["roofline_fraction"] = r.gflops / roof.bound_gflops(wl.arithmetic_intensity());
  if (r.layout_ms >= 0) j["layout_ms"] = r.layout_ms;
  if (onednn) j["vs_onednn"] = r.gflops / onednn->gflops;
  return j;
}

void print_layer_table(const Layer& layer, const std::vector<Row>& rows, const Roofline& roof, int threads) {
  const Workload& wl = layer.wl;
  const double bound = roof.bound_gflops(wl.arithmetic_intensity());
  std::printf("%s  %s\n", wl.name.empty() ? "layer" : wl.name.c_str(), wl.spec().c_str());
  std::printf("%s FLOP, intensity %.1f FLOP/B, roofline bound %.1f GFLOP/s at %d thread%s (peak %.1f, %.1f GB/s, %s)\n",
              si(wl.flops()).c_str(), wl.arithmetic_intensity(), bound, threads, threads == 1 ? "" : "s",
              roof.peak_gflops, roof.bandwidth_gbs, roof.source.c_str());
  const Row* onednn = find_row(rows, "onednn");
  std::printf("  %-22s %-5s %10s %10s %16s %9s %8s %7s %10s  %s\n", "backend", "ok", "max_err", "median_ms",
              "spread_ms", "GFLOP/s", "vs_dnnl", "of_roof", "layout_ms", "detail");
  for (const Row& r : rows) {
    if (!r.unavailable.empty()) {
      std::printf("  %-22s %s\n", r.backend.c_str(), r.unavailable.c_str());
      continue;
    }
    if (!r.agreement.ok) {
      std::printf("  %-22s %-5s %10.2e  WRONG RESULT (%s bound %.2e)\n", r.backend.c_str(), "NO", r.agreement.max_abs_err,
                  r.agreement.bound.c_str(), r.agreement.tolerance);
      continue;
    }
    char spread[48], vs[16] = "-", layout[16] = "-";
    std::snprintf(spread, sizeof spread, "%.3g-%.3g", r.timing.min_ms, r.timing.max_ms);
    if (onednn) std::snprintf(vs, sizeof vs, "%.2fx", r.gflops / onednn->gflops);
    if (r.layout_ms >= 0) std::snprintf(layout, sizeof layout, "%.3g", r.layout_ms);
    // A row checked under another error model than the direct sum's says which.
    const std::string checked = r.agreement.bound == "direct" ? "" : " (checked with the " + r.agreement.bound + " bound)";
    std::printf("  %-22s %-5s %10.2e %10.4g %16s %9.1f %8s %6.0f%% %10s  %s%s\n", r.backend.c_str(), "yes",
                r.agreement.max_abs_err, r.timing.median_ms, spread, r.gflops, vs, 100 * r.gflops / bound, layout,
                r.detail.c_str(), checked.c_str());
  }
}

} // namespace

int cmd_bench(const std::vector<std::string>& argv) {
  Args args("bench", {options::workload(), options::weights(), options::sparsity(), options::sparsity_block(),
                      options::max_memory(),
                      options::suite("every layer of a suite (resnet18, mobilenet) instead of one workload"),
                      {"backends", "LIST", "comma list of naive, im2col (Eigen), onednn, default, predicted (from the database's other layers), tuned (with a tuned:TEMPLATE row per template tuned), tuned:TEMPLATE, a template name (im2col_gemm, ...), schedule:FILE", "all available"},
                      options::threads("threads for every backend"),
                      options::repeat("7"),
                      options::min_repeat_ms("100"),
                      options::target(),
                      options::seed("seed of the random input and weights"),
                      options::db("the tuning database the tuned and predicted rows read"),
                      options::json()});
  if (!args.parse(argv)) {
    std::cout << args.help("usage: convtune bench (--workload SPEC | --suite NAME) [--backends LIST] [--threads T] [--json]");
    return 0;
  }
  const std::vector<Workload> workloads = selected_workloads(args);
  apply_memory_limit(args);
  for (const Workload& wl : workloads) require_memory_for(wl);  // before any layer is allocated
  const int threads = int(args.get_int("threads", 1));
  const TimingOptions timing = timing_options(args);
  const uint64_t seed = uint64_t(args.get_int("seed", 0));
  const Target target = runnable_target(parse_target(args.get("target")));  // one line, before anything runs
  const bool db_exists = bool(std::ifstream(args.get("db")));
  std::vector<std::string> backends;
  if (args.has("backends")) {
    backends = split_list(args.get("backends"));
    if (backends.empty()) throw UserError("invalid --backends '': expected a comma list of backends");
    for (const std::string& b : backends) check_backend_name(b);
  } else {
    // A GPU has convtune's rows alone (the cuDNN comparison is benchmarks/torch_conv_gpu.py's).
    if (target.kind == TargetKind::Cpu) {
      backends = {"naive", "im2col"};
      if (onednn_available()) backends.push_back("onednn");
    }
    backends.push_back("default");
    if (db_exists) {
      backends.push_back("predicted");
      backends.push_back("tuned");
    }
  }
  for (const std::string& b : backends) {
    // A schedule file is read up front, so a bad one fails before minutes of measuring.
    if (b.rfind("schedule:", 0) == 0) resolve_schedule(b.substr(9), workloads.front(), target);
  }
  const Roofline roof = roofline(target, threads);
  // The database is read only when a row asks for it (or by default, when the file exists).
  std::unique_ptr<Database> db;
  const bool wants_tuned = std::any_of(backends.begin(), backends.end(), [](const std::string& b) { return b.rfind("tuned", 0) == 0 || b == "predicted"; });
  if (wants_tuned && (args.has("db") || db_exists)) {
    db = std::make_unique<Database>(args.get("db"));
    db->load(std::cerr);
  }

  nlohmann::json out = {{"target", target}, {"threads", threads},
                        {"roofline", {{"peak_gflops", roof.peak_gflops}, {"bandwidth_gbs", roof.bandwidth_gbs}, {"source", roof.source}}}};
  nlohmann::json layers = nlohmann::json::array();
  std::map<std::string, std::vector<double>> ratios;  // backend -> ratio to oneDNN per layer
  std::vector<std::pair<std::string, std::vector<Row>>> summary;
  for (const Workload& wl : workloads) {
    Layer layer = ConvProblem::make(wl, seed);
    std::vector<Row> rows = bench_layer(layer, target, backends, threads, timing, db.get());
    const Row* onednn = find_row(rows, "onednn");
    nlohmann::json results = nlohmann::json::array();
    for (const Row& r : rows) {
      results.push_back(row_json(r, onednn, roof, wl));
      if (onednn && r.unavailable.empty() && r.agreement.ok) ratios[r.backend].push_back(r.gflops / onednn->gflops);
    }
    layers.push_back({{"workload", wl}, {"name", wl.name}, {"flops", wl.flops()},
                      {"roofline_bound_gflops", roof.bound_gflops(wl.arithmetic_intensity())}, {"results", results}});
    if (!args.has("json")) {
      print_layer_table(layer, rows, roof, threads);
      std::printf("\n");
    }
    summary.push_back({wl.name.empty() ? wl.spec() : wl.name, rows});
  }
  bool all_ok = true;
  for (const auto& [name, rows] : summary) {
    for (const Row& r : rows) all_ok = all_ok && (!r.unavailable.empty() || r.agreement.ok);
  }
  nlohmann::json geomean = nlohmann::json::object();
  for (const auto& [backend, rs] : ratios) {
    double log_sum = 0;
    for (double r : rs) log_sum += std::log(r);
    geomean[backend] = std::exp(log_sum / double(rs.size()));
  }
  if (args.has("json")) {
    out["layers"] = layers;
    if (workloads.size() == 1) out["results"] = layers[0]["results"];
    out["geomean_vs_onednn"] = geomean;
    out["ok"] = all_ok;
    std::cout << out.dump(2) << "\n";
    return all_ok ? 0 : 1;
  }
  if (workloads.size() > 1) {
    std::printf("summary: GFLOP/s at %d thread%s\n  %-12s", threads, threads == 1 ? "" : "s", "layer");
    for (const std::string& b : backends) std::printf(" %14s", b.substr(0, 14).c_str());
    std::printf("\n");
    for (const auto& [name, rows] : summary) {
      std::printf("  %-12s", name.c_str());
      for (const Row& r : rows) {
        if (!r.unavailable.empty()) std::printf(" %14s", "-");
        else if (!r.agreement.ok) std::printf(" %14s", "WRONG");
        else std::printf(" %14.1f", r.gflops);
      }
      std::printf("\n");
    }
    if (!geomean.empty()) {
      std::printf("  %-12s", "geomean/dnnl");
      for (const std::string& b : backends) {
        if (geomean.contains(b)) std::printf(" %13.2fx", geomean[b].get<double>());
        else std::printf(" %14s", "-");
      }
      std::printf("\n");
    }
  }
  return all_ok ? 0 : 1;
}

} // namespace convtune::cli
