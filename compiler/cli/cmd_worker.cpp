/// \file `convtune worker`: the measuring side of isolated tuning. Reads one JSON job per line
/// on stdin, answers one JSON result per line on stdout. A candidate that crashes takes only
/// this process down; the tuner notices and starts another.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>
#include <memory>
#include <thread>

#include <nlohmann/json.hpp>

#include "compiler/cli/commands.h"
#include "compiler/compile.h"
#include "compiler/kernel_runner.h"
#include "runtime/baseline.h"
#include "runtime/measure.h"
#include "runtime/reference_conv.h"
#include "runtime/thread_pool.h"
#include "schedules/schedule.h"
#include "targets/target.h"

namespace convtune::cli {

namespace {

/// The data and reference of a workload, computed once per worker.
struct Case {
  Workload wl;
  Tensor input, weights, output;
  Reference ref;
};

long resident_kb() {
  long pages = 0, resident = 0;
  if (FILE* f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
    std::fclose(f);
  }
  return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

nlohmann::json timed_result(const Case& c, const std::function<void()>& fn, const nlohmann::json& job) {
  TimingOptions t;
  t.measurements = job.value("repeat", 5);
  t.min_measurement_ms = job.value("min_repeat_ms", 50.0);
  if (job.value("flush_cache", false)) t.before_each = flush_caches;
  Timing timing = measure(fn, t);
  return {{"ok", true},
          {"times_ms", timing.ms_per_call},
          {"median_ms", timing.median_ms},
          {"gflops", c.wl.flops() / (timing.median_ms * 1e6)}};
}

nlohmann::json run_job(const nlohmann::json& job, std::map<std::string, std::unique_ptr<Case>>& cases, const Target& target) {
  Workload wl = job.at("workload").get<Workload>();
  wl.validate();
  auto& slot = cases[wl.key()];
  if (!slot) {
    slot = std::make_unique<Case>(Case{wl, Tensor(wl.input_elems()), Tensor(wl.weight_elems()), Tensor(wl.output_elems()), {}});
    slot->input.fill_random(1);
    slot->weights.fill_random(2);
    slot->ref = reference_conv(wl, slot->input, slot->weights);
  }
  Case& c = *slot;
  const int threads = job.value("threads", 1);
  ScopedThreads scoped{threads};
  c.output.fill_random(3);

  if (job.value("kind", "") == "onednn") {
    if (!onednn_available()) return {{"ok", false}, {"error", "unavailable"}};
    auto b = make_onednn_baseline(wl, threads);
    b->prepare(c.input, c.weights);
    b->execute();
    b->finish(c.output);
    if (!check_against_reference(wl, c.ref, c.output).ok) return {{"ok", false}, {"error", "wrong_result"}};
    nlohmann::json result = timed_result(c, [&] { b->execute(); }, job);
    // The candidates measured next in this worker must not meet oneDNN's spinning threads.
    settle_openmp_threads();
    return result;
  }

  const std::string hook = std::getenv("CONVTUNE_TEST_HOOKS") ? job.value("test_hook", "") : "";
  const auto start = std::chrono::steady_clock::now();
  std::unique_ptr<KernelRunner> runner;
  try {
    Schedule schedule = schedule_from_json(job.at("schedule"));
    LoopNest nest = scheduled_nest(wl, schedule);
    runner = std::make_unique<KernelRunner>(nest, compile_jit(nest, target));
  } catch (const std::exception& e) {
    std::string what = e.what();
    if (what.size() > 300) what = what.substr(0, 300) + "...";
    return {{"ok", false}, {"error", "compile_error: " + what}};
  }
  const double compile_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  if (hook == "crash") raise(SIGSEGV);
  if (hook == "hang") {
    for (;;) std::this_thread::sleep_for(std::chrono::seconds(1));
  }
  runner->bind(c.input.data(), c.weights.data(), c.output.data());
  runner->run_stages(StageKind::PackWeights);
  runner->run_stages(StageKind::PackInput);
  runner->run_stages(StageKind::Compute);
  runner->run_stages(StageKind::UnpackOutput);
  if (hook == "wrong") c.output[0] += 1.0f;
  // Correct before fast: a wrong result is a failed trial, never a record of speed.
  if (!check_against_reference(wl, c.ref, c.output).ok) return {{"ok", false}, {"error", "wrong_result"}, {"compile_ms", compile_ms}};
  nlohmann::json result = timed_result(c, [&] { runner->run_stages(StageKind::Compute); }, job);
  result["compile_ms"] = compile_ms;
  return result;
}

} // namespace

int cmd_worker(const std::vector<std::string>& argv) {
  if (!argv.empty()) throw UserError("convtune worker takes no options: it is started by convtune tune");
  const Target target = host_target();
  std::map<std::string, std::unique_ptr<Case>> cases;
  std::string line;
  while (std::getline(std::cin, line)) {
    nlohmann::json reply;
    try {
      reply = run_job(nlohmann::json::parse(line), cases, target);
    } catch (const std::exception& e) {
      reply = {{"ok", false}, {"error", std::string("bad_job: ") + e.what()}};
    }
    reply["rss_kb"] = resident_kb();
    std::cout << reply.dump() << std::endl;
  }
  return 0;
}

} // namespace convtune::cli
