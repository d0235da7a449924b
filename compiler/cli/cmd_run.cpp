/// \file `convtune run`: JIT-compile a layer, check it against the reference, time it.
#include <cstdio>
#include <iostream>

#include <nlohmann/json.hpp>

#include "compiler/cli/args.h"
#include "compiler/cli/commands.h"
#include "compiler/cli/schedule_source.h"
#include "compiler/kernel_runner.h"
#include "ir/workload.h"
#include "runtime/measure.h"
#include "runtime/memory_budget.h"
#include "runtime/conv_problem.h"
#include "runtime/thread_pool.h"
#include "schedules/schedule_template.h"
#include "targets/target.h"

namespace convtune::cli {

int cmd_run(const std::vector<std::string>& argv) {
  if (wants_model(argv)) return run_model(argv);
  Args args("run", {options::workload(), options::weights(), options::sparsity(), options::sparsity_block(),
                    options::target(),
                    options::threads("threads the kernel may use"),
                    {"schedule", "S", "default (the template's default config), naive, or a schedule/config JSON file, "
                                      "instead of the database's best (or, for a layer it lacks, the config its other layers predict)", ""},
                    options::db("the tuning database whose best config runs (or whose other layers predict one)"),
                    options::repeat("7"),
                    options::min_repeat_ms("100"),
                    options::seed("seed of the random input and weights"),
                    options::max_memory(),
                    {"dump-ir", "", "print the IR after every lowering step to stderr", ""},
                    {"stages", "", "also time each stage of the kernel alone (packing, transforms, compute, unpacking): where the time goes", ""},
                    options::json()});
  if (!args.parse(argv)) {
    std::cout << args.help("usage: convtune run --workload SPEC [--threads T] [--json]");
    return 0;
  }
  Workload wl = selected_workload(args);
  apply_memory_limit(args);
  require_memory_for(wl);  // before anything is compiled or allocated
  Target target = runnable_target(parse_target(args.get("target")));
  const int64_t threads = args.get_int("threads", 1);
  const TimingOptions timing = timing_options(args);
  const uint64_t seed = uint64_t(args.get_int("seed", 0));
  LowerOptions lower_options;
  lower_options.dump_ir = args.has("dump-ir");

  std::unique_ptr<Database> db;
  if (!args.has("schedule")) db = database_if_present(args.get("db"));
  const ChosenSchedule chosen = args.has("schedule") ? ChosenSchedule{resolve_schedule(args.get("schedule"), wl, target), "given", ScheduleOrigin::Given}
                                                     : schedule_from_database(db.get(), wl, target, int(threads));
  const Schedule& schedule = chosen.schedule;
  auto runner = KernelRunner::compile(wl, schedule, target, lower_options);
  ConvProblem problem = ConvProblem::make(wl, seed);
  ScopedThreads scoped_threads{int(threads)};
  const Agreement agreement = runner->check(problem);
  Timing t;
  if (agreement.ok) t = runner->time(std::nullopt, timing);
  const double gflops = agreement.ok ? wl.flops() / (t.median_ms * 1e6) : 0;
  // Each stage alone, over the temporaries the whole calls above left: a profile of the call.
  nlohmann::json stages_json = nlohmann::json::array();
  for (size_t s = 0; agreement.ok && args.has("stages") && s < runner->abi().stages.size(); ++s) {
    const AbiStage& stage = runner->abi().stages[s];
    const double ms = runner->time_stage(s, timing).median_ms;
    stages_json.push_back({{"name", stage.name}, {"kind", to_string(stage.kind)}, {"median_ms", ms}, {"share", ms / t.median_ms}});
  }

  if (args.has("json")) {
    nlohmann::json j = {{"workload", wl},          {"key", wl.key()},
                        {"target", target},        {"threads", threads},
                        {"ok", agreement.ok},      {"max_abs_err", agreement.max_abs_err},
                        {"max_rel_err", agreement.max_rel_err}, {"tolerance", agreement.tolerance},
                        {"flops", wl.flops()},     {"median_ms", t.median_ms},
                        {"min_ms", t.min_ms},      {"max_ms", t.max_ms},
                        {"ms_per_call", t.ms_per_call}, {"gflops", gflops},
                        {"timed", "whole call over a held workspace, layout transforms included"},
                        {"schedule_source", chosen.source},
                        {"template", schedule.template_name}, {"config", schedule.config},
                        {"abi", runner->abi()}};
    if (args.has("stages")) j["stages"] = stages_json;
    std::cout << j.dump(2) << "\n";
    return agreement.ok ? 0 : 1;
  }
  std::printf("workload   %s%s%s\n", wl.name.c_str(), wl.name.empty() ? "" : "  ", wl.spec().c_str());
  std::printf("schedule   %s (%s)\n", schedule.steps.empty()     ? "naive (the algorithm's own nest)"
                                      : schedule.template_name.empty() ? "hand-written steps"
                                                                       : (schedule.template_name + " " + schedule.config.dump()).c_str(),
              chosen.source.c_str());
  std::printf("target     %s, %lld thread%s\n", target.key().c_str(), (long long)threads, threads == 1 ? "" : "s");
  std::printf("check      %s (max abs err %.3g, max rel err %.3g, bound %.3g)\n",
              agreement.ok ? "ok" : "WRONG RESULT", agreement.max_abs_err, agreement.max_rel_err,
              agreement.tolerance);
  if (!agreement.ok) return 1;
  // `run` times the whole kernel (NAME_run over a held workspace), packing of weights and input
  // included; `bench` times the compute stage alone and reports the layout transforms apart.
  std::printf("time       median %.4g ms per whole call, layout transforms included (min %.4g, max %.4g; %zu x %d calls)\n",
              t.median_ms, t.min_ms, t.max_ms, t.ms_per_call.size(), t.calls_per_measurement);
  std::printf("speed      %.4g GFLOP/s (%sFLOP per call)\n", gflops, si(wl.flops()).c_str());
  if (!stages_json.empty()) std::printf("stages     each alone, median ms (share of the whole call):\n");
  for (const nlohmann::json& s : stages_json) {
    std::printf("  %-13s %-40s %10.4g  %5.1f%%\n", s["kind"].get<std::string>().c_str(), s["name"].get<std::string>().c_str(),
                s["median_ms"].get<double>(), 100 * s["share"].get<double>());
  }
  return 0;
}

} // namespace convtune::cli
