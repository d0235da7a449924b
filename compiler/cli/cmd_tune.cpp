/// \file `convtune tune`: a tuning session on this machine, every trial appended to the
/// database; `--suite` shares the trials across a suite's layers.
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>

#include "compiler/cli/args.h"
#include "runtime/memory_budget.h"
#include "compiler/cli/commands.h"
#include "ir/suites.h"
#include "runtime/measure.h"
#include "schedules/schedule_template.h"
#include "tuner/mpi_measurer.h"
#include "tuner/searcher.h"
#include "tuner/tuning_loop.h"

namespace convtune::cli {

namespace {

/// The tuning curve as an SVG: best so far as a line, each trial as a dot, oneDNN dashed.
void write_plot(const std::string& path, const TuneResult& r, double onednn_gflops) {
  std::ofstream out(path);
  if (!out) throw UserError("--plot file '" + path + "' cannot be written");
  const double w = 640, h = 360, left = 50, bottom = 40, top = 20, right = 20;
  double ymax = std::max(onednn_gflops, r.best_gflops) * 1.1;
  if (ymax <= 0) ymax = 1;
  const std::vector<double> curve = r.curve();
  const size_t n = std::max<size_t>(curve.size(), 2);
  auto X = [&](size_t i) { return left + (w - left - right) * double(i) / double(n - 1); };
  auto Y = [&](double g) { return h - bottom - (h - bottom - top) * g / ymax; };
  out << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << w << "\" height=\"" << h << "\" font-family=\"sans-serif\" font-size=\"11\">\n";
  out << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  out << "<line x1=\"" << left << "\" y1=\"" << h - bottom << "\" x2=\"" << w - right << "\" y2=\"" << h - bottom << "\" stroke=\"black\"/>\n";
  out << "<line x1=\"" << left << "\" y1=\"" << top << "\" x2=\"" << left << "\" y2=\"" << h - bottom << "\" stroke=\"black\"/>\n";
  for (int t = 0; t <= 4; ++t) {
    const double g = ymax * t / 4;
    out << "<text x=\"" << left - 5 << "\" y=\"" << Y(g) + 4 << "\" text-anchor=\"end\">" << int(g) << "</text>\n";
  }
  out << "<text x=\"" << (w + left) / 2 << "\" y=\"" << h - 8 << "\" text-anchor=\"middle\">trial</text>\n";
  out << "<text x=\"12\" y=\"" << top + 5 << "\">GFLOP/s</text>\n";
  for (size_t i = 0; i < r.trial_gflops.size(); ++i) {
    out << "<circle cx=\"" << X(i) << "\" cy=\"" << Y(r.trial_gflops[i]) << "\" r=\"2.5\" fill=\""
        << (r.trial_gflops[i] > 0 ? "#7aa6d6" : "#d65a5a") << "\"/>\n";
  }
  out << "<polyline fill=\"none\" stroke=\"#1f4e9c\" stroke-width=\"2\" points=\"";
  for (size_t i = 0; i < curve.size(); ++i) out << X(i) << "," << Y(curve[i]) << " ";
  out << "\"/>\n";
  if (onednn_gflops > 0) {
    out << "<line x1=\"" << left << "\" y1=\"" << Y(onednn_gflops) << "\" x2=\"" << w - right << "\" y2=\"" << Y(onednn_gflops)
        << "\" stroke=\"#c0392b\" stroke-dasharray=\"6,4\"/>\n";
    out << "<text x=\"" << w - right << "\" y=\"" << Y(onednn_gflops) - 4 << "\" text-anchor=\"end\" fill=\"#c0392b\">oneDNN "
        << int(onednn_gflops) << "</text>\n";
  }
  out << "<text x=\"" << left + 5 << "\" y=\"" << top + 5 << "\">" << r.workload.name << " " << r.workload.spec() << "</text>\n";
  out << "</svg>\n";
}

nlohmann::json result_json(const TuneResult& r, double onednn_gflops) {
  nlohmann::json failed = nlohmann::json::object();
  int failed_total = 0;
  for (const auto& [k, v] : r.failed) {
    failed[k] = v;
    failed_total += v;
  }
  nlohmann::json j = {{"workload", r.workload},
                      {"name", r.workload.name},
                      {"best", {{"template", r.best_template}, {"config", config_to_json(r.best_config)}, {"gflops", r.best_gflops}, {"median_ms", r.best_median_ms}}},
                      {"default_gflops", r.default_gflops},
                      {"trials", r.trials},
                      {"new_trials", r.new_trials},
                      {"shared_trials", r.shared_trials},
                      {"failed", failed},
                      {"failed_total", failed_total},
                      {"curve", r.curve()},
                      {"early_stopped", r.early_stopped},
                      {"worker_rss_kb", {{"first", r.worker_rss_first_kb}, {"last", r.worker_rss_last_kb}}}};
  if (!r.trial_seconds.empty()) j["seconds_per_trial"] = median(r.trial_seconds);
  if (onednn_gflops > 0) {
    j["onednn_gflops"] = onednn_gflops;
    j["vs_onednn"] = r.best_gflops / onednn_gflops;
  }
  if (r.default_gflops > 0) j["vs_default"] = r.best_gflops / r.default_gflops;
  return j;
}

void print_summary(const TuneResult& r, double onednn_gflops) {
  std::printf("\n%s  %s\n", r.workload.name.c_str(), r.workload.spec().c_str());
  std::printf("  trials      %d (%d new%s)%s\n", r.trials, r.new_trials,
              r.shared_trials ? (", " + std::to_string(r.shared_trials) + " by another session meanwhile").c_str() : "",
              r.early_stopped ? ", stopped early" : "");
  std::printf("  best        %.1f GFLOP/s (%.4g ms)  %s %s\n", r.best_gflops, r.best_median_ms, r.best_template.c_str(),
              config_to_json(r.best_config).dump().c_str());
  if (r.default_gflops > 0) std::printf("  vs default  %.2fx (default config %.1f GFLOP/s)\n", r.best_gflops / r.default_gflops, r.default_gflops);
  if (onednn_gflops > 0) std::printf("  vs oneDNN   %.2fx (oneDNN %.1f GFLOP/s, same threads, same worker)\n", r.best_gflops / onednn_gflops, onednn_gflops);
  std::string failed;
  for (const auto& [k, v] : r.failed) failed += (failed.empty() ? "" : ", ") + k + " " + std::to_string(v);
  std::printf("  failed      %s\n", failed.empty() ? "none" : failed.c_str());
  if (!r.trial_seconds.empty()) std::printf("  cost        %.2f s per trial (median: compile, check, measure)\n", median(r.trial_seconds));
  if (r.worker_rss_first_kb > 0) {
    std::printf("  worker      %.0f MB resident after its first trial, %.0f MB after its last\n", r.worker_rss_first_kb / 1024.0,
                r.worker_rss_last_kb / 1024.0);
  }
}

} // namespace

int cmd_tune(const std::vector<std::string>& argv) {
  Args args("tune", {options::workload(), options::weights(), options::sparsity(), options::sparsity_block(),
                     options::suite("tune every layer of a suite, trials shared by expected gain"),
                     {"model", "FILE", "tune the distinct convolution and pooling layers of an ONNX model, --trials in all, shared by expected gain", ""},
                     options::target(),
                     {"trials", "N", "trials in total for the workload and target (per layer with --suite, in all with --model)", "40"},
                     {"tuner", "NAME", "bted, gp, anneal or random", "bted"},
                     {"acquisition", "A", "ei (expected improvement) or ucb (confidence bound), for bted, gp, anneal", "ei"},
                     options::db("the tuning database (JSON lines)"),
                     options::threads("threads the kernels run with"),
                     options::seed("seed of the searcher"),
                     {"batch", "B", "configs proposed at a time", "8"},
                     {"timeout", "S", "seconds a candidate may take (compile, check, measure)", "10"},
                     options::repeat("5"),
                     options::min_repeat_ms("50"),
                     {"flush-cache", "", "evict the caches before each measurement (its first call starts cold; the repeats within it run warm)", ""},
                     {"serial-compile", "", "never compile the next candidate while one is measured", ""},
                     {"early-stop", "N", "stop after N trials without a 1% gain (0: never)", "0"},
                     {"transfer", "", "warm the model with other layers' records on this target", ""},
                     {"template", "NAME", "search this template's space alone (direct_nchwc, im2col_gemm, winograd, ...); default: every template that applies, the algorithm chosen too", ""},
                     {"plot", "FILE", "write the tuning curve as SVG", ""},
                     options::max_memory(),
                     {"worker-memory", "SIZE", "the address space a measuring worker may take (512M, 8G, ...); a candidate past it fails as out_of_memory; default: 3/4 of physical memory", ""},
                     options::json()});
  if (!args.parse(argv)) {
    std::cout << args.help("usage: convtune tune (--workload SPEC | --suite NAME | --model FILE) [--trials N] [--tuner T] [--db FILE] [--threads T] [--json]");
    return 0;
  }
  std::vector<Workload> layers;
  std::vector<int> occurrences;  // --model: how many layers run each workload
  if (args.has("model")) {
    if (args.has("workload") || args.has("suite")) throw UserError("tune needs exactly one of --workload, --suite and --model");
    for (const auto& [wl, count] : model_workloads(args.get("model"))) {
      layers.push_back(wl);
      occurrences.push_back(count);
    }
  } else {
    layers = selected_workloads(args);
  }
  apply_memory_limit(args);
  for (const Workload& wl : layers) require_memory_for(wl);  // before a worker allocates them
  const Target target = runnable_target(parse_target(args.get("target")));  // before the database is touched or a worker started
  TuneOptions options;
  options.trials = int(args.get_int("trials", 1));
  // A model's --trials are its total; a suite's are per layer.
  if (args.has("model")) options.trials = std::max<int>(1, (options.trials + int(layers.size()) - 1) / int(layers.size()));
  options.tuner = args.get("tuner");
  check_searcher_name(options.tuner);  // before anything runs
  options.acquisition = args.get("acquisition");
  if (options.acquisition != "ei" && options.acquisition != "ucb") {
    throw UserError("invalid --acquisition '" + options.acquisition + "': expected ei or ucb");
  }
  options.seed = uint64_t(args.get_int("seed", 0));
  options.batch = int(args.get_int("batch", 1));
  options.early_stop = int(args.get_int("early-stop", 0));
  options.transfer = args.has("transfer");
  if (args.has("template")) {
    options.template_name = args.get("template");
    template_named(options.template_name);  // an unknown name is refused before anything starts
  }
  MeasureOptions mo = measure_options(args, target);
  mo.flush_cache = args.has("flush-cache");
  mo.overlap_compile = !args.has("serial-compile");
  if (args.has("worker-memory")) mo.worker_memory_bytes = parse_memory_size(args.get("worker-memory"), "--worker-memory");
  const bool json = args.has("json");

  // Under mpirun, rank 0 searches and the other ranks measure; all must measure alike.
  MpiSession mpi;
  if (mpi.active()) {
    const std::string differ = mpi.disagreement("target", target_slot(target.key(), mo.threads));
    if (!differ.empty()) {
      if (mpi.rank() == 0) throw UserError(differ);
      return 2;  // rank 0 says why
    }
    if (mpi.rank() > 0) {
      Measurer local(current_executable(), mo);
      mpi.serve(local);
      return 0;
    }
  }
  Database db(args.get("db"));
  db.load(std::cerr);
  // oneDNN's reference runs here; the trials too, unless other ranks measure them.
  Measurer local(current_executable(), mo);
  std::unique_ptr<MpiMeasurer> remote;
  if (mpi.active()) remote = std::make_unique<MpiMeasurer>(mpi, mo);
  BatchMeasurer& measurer = remote ? static_cast<BatchMeasurer&>(*remote) : local;
  // The tuner's own resident size around the session, to show a long one does not grow.
  const long tuner_start_kb = resident_kb();
  const bool tty = isatty(fileno(stdout)) && !json;
  auto show = [&](const Workload& wl, const TuneProgress& p) {
    if (json) return;
    const double eta = p.trial > 0 ? p.elapsed_s / p.trial * (p.total - p.trial) : 0;
    std::printf("%s%-14s trial %d/%d  best %.1f GFLOP/s  last %s  elapsed %.0fs  left ~%.0fs%s", tty ? "\r" : "",
                wl.name.empty() ? "tune" : wl.name.c_str(), p.trial, p.total, p.best_gflops,
                p.last_error.empty() ? (std::to_string(int(p.last_gflops)) + " GFLOP/s").c_str() : p.last_error.substr(0, 24).c_str(),
                p.elapsed_s, eta, tty ? "   " : "\n");
    std::fflush(stdout);
  };

  std::vector<TuneResult> results;
  std::vector<double> onednn(layers.size(), 0);
  for (size_t i = 0; i < layers.size(); ++i) {
    MeasureResult m = local.measure_onednn(layers[i]);
    if (m.ok) onednn[i] = m.gflops;
  }
  if (layers.size() == 1 && !args.has("model")) {
    results.push_back(tune_workload(layers[0], target, db, measurer, options, [&](const TuneProgress& p) { show(layers[0], p); }));
  } else {
    results = tune_suite(layers, target, db, measurer, options, show, occurrences);
  }
  if (tty) std::printf("\n");
  const long tuner_end_kb = resident_kb();
  if (args.has("plot")) write_plot(args.get("plot"), results.front(), onednn.front());

  if (json) {
    nlohmann::json j = result_json(results.front(), onednn.front());
    if (results.size() > 1) {
      nlohmann::json all = nlohmann::json::array();
      for (size_t i = 0; i < results.size(); ++i) all.push_back(result_json(results[i], onednn[i]));
      j = {{"layers", all}};
    }
    j["db"] = args.get("db");
    j["tuner"] = options.tuner;
    j["threads"] = mo.threads;
    j["tuner_rss_kb"] = {{"start", tuner_start_kb}, {"end", tuner_end_kb}};
    if (remote) j["mpi"] = {{"ranks", mpi.size()}, {"measured_by_rank", remote->measured_by_rank()}};
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  for (size_t i = 0; i < results.size(); ++i) print_summary(results[i], onednn[i]);
  std::printf("\n  tuner       %.0f MB resident at the start, %.0f MB at the end\n", tuner_start_kb / 1024.0, tuner_end_kb / 1024.0);
  if (remote) {
    std::printf("  mpi         %d ranks; trials measured by rank:", mpi.size());
    for (size_t r = 1; r < remote->measured_by_rank().size(); ++r) std::printf(" %zu: %d", r, remote->measured_by_rank()[r]);
    std::printf("\n");
  }
  if (results.size() > 1) {
    std::printf("\n  %-14s %8s %10s %10s %8s\n", "layer", "trials", "GFLOP/s", "oneDNN", "ratio");
    double log_sum = 0;
    int counted = 0;
    for (size_t i = 0; i < results.size(); ++i) {
      std::printf("  %-14s %8d %10.1f %10.1f %7.2fx\n", results[i].workload.name.c_str(), results[i].trials,
                  results[i].best_gflops, onednn[i], onednn[i] > 0 ? results[i].best_gflops / onednn[i] : 0.0);
      if (onednn[i] > 0 && results[i].best_gflops > 0) {
        log_sum += std::log(results[i].best_gflops / onednn[i]);
        ++counted;
      }
    }
    if (counted) std::printf("  %-14s %8s %10s %10s %7.2fx\n", "geomean", "", "", "", std::exp(log_sum / counted));
  }
  return 0;
}

} // namespace convtune::cli
