/// \file `convtune worker`: the measuring side of isolated tuning. Reads one JSON job per line
/// on stdin, answers one JSON result per line on stdout, in order. A candidate that crashes
/// takes only this process down; the tuner notices and starts another.
///
/// Two threads: the reader compiles each job as it arrives, the main thread checks and times
/// them one by one. When the tuner sends the next job before the current one's result (it
/// does so only when a core is spare), its compile overlaps the current measurement; the
/// measurements themselves never overlap.
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "compiler/cli/commands.h"
#include "compiler/kernel_runner.h"
#include "runtime/baseline.h"
#include "runtime/measure.h"
#include "runtime/conv_problem.h"
#include "runtime/cuda_driver.h"
#include "runtime/thread_pool.h"
#include "schedules/schedule.h"
#include "targets/target.h"
#include "tuner/measurer.h"

namespace convtune::cli {

namespace {

/// A job as the reader leaves it: parsed, and compiled when it is a candidate.
struct Prepared {
  nlohmann::json job;
  std::optional<Workload> wl;
  std::unique_ptr<KernelRunner> runner;
  std::string error;        ///< "bad_job: ..." or "compile_error: ..."; the job is answered with it
  std::string target_key;   ///< the key of the target the candidate was compiled for
  double compile_ms = 0;
};

/// Hands prepared jobs from the reader to the measuring thread.
class PreparedQueue {
public:
  void push(Prepared p) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      items_.push_back(std::move(p));
    }
    ready_.notify_one();
  }
  void close() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      closed_ = true;
    }
    ready_.notify_one();
  }
  /// The next job, or nothing once the input has ended and every job was taken.
  std::optional<Prepared> pop() {
    std::unique_lock<std::mutex> lock(mutex_);
    ready_.wait(lock, [&] { return closed_ || !items_.empty(); });
    if (items_.empty()) return std::nullopt;
    Prepared p = std::move(items_.front());
    items_.pop_front();
    return p;
  }

private:
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<Prepared> items_;
  bool closed_ = false;
};

std::string clipped(std::string what) {
  if (what.size() > 300) what = what.substr(0, 300) + "...";
  return what;
}

/// The targets jobs name, parsed once and checked against this host.
class TargetCache {
public:
  const Target& get(const std::string& name) {
    auto it = targets_.find(name);
    if (it != targets_.end()) return it->second;
    Target t = runnable_target(parse_target(name));
    return targets_.emplace(name, std::move(t)).first->second;
  }

private:
  std::map<std::string, Target> targets_;
};

/// Writes one line to the tuner; the reader's progress lines and the answers share stdout.
void emit_line(const nlohmann::json& j) {
  static std::mutex mutex;
  std::lock_guard<std::mutex> lock(mutex);
  std::cout << j.dump() << std::endl;
}

/// The test hook a job asks for, honoured only with CONVTUNE_TEST_HOOKS=1 in the environment.
std::string test_hook(const nlohmann::json& job) {
  return std::getenv("CONVTUNE_TEST_HOOKS") && job.is_object() ? job.value("test_hook", "") : "";
}

/// The reader's half: parse, validate, and compile a candidate for the job's target. Never
/// throws. A compiled candidate is announced (`{"id": ..., "phase": "compiled"}`), so that a
/// silence after it is the run's, not the compile's.
Prepared prepare(const std::string& line, TargetCache& targets) {
  Prepared p;
  const Target* target = nullptr;
  try {
    p.job = nlohmann::json::parse(line);
    p.wl = p.job.at("workload").get<Workload>();
    p.wl->validate();
    target = &targets.get(p.job.value("target", "cpu"));
    p.target_key = target->key();
  } catch (const std::exception& e) {
    p.error = "bad_job: " + clipped(e.what());
    return p;
  }
  const std::string kind = p.job.value("kind", "");
  if (kind == "onednn") return p;
  if (kind != "convtune") {
    p.error = "bad_job: unknown kind '" + kind + "'";
    return p;
  }
  const auto start = std::chrono::steady_clock::now();
  if (test_hook(p.job) == "slow_compile") {
    for (;;) std::this_thread::sleep_for(std::chrono::seconds(1));
  }
  try {
    p.runner = KernelRunner::compile(*p.wl, schedule_from_json(p.job.at("schedule")), *target);
  } catch (const std::bad_alloc&) {
    p.error = "out_of_memory";
  } catch (const std::exception& e) {
    p.error = "compile_error: " + clipped(e.what());
  }
  p.compile_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  if (p.job.contains("id")) emit_line({{"id", p.job["id"]}, {"phase", "compiled"}});
  return p;
}

TimingOptions job_timing(const nlohmann::json& job) {
  TimingOptions t;
  t.measurements = job.value("repeat", 5);
  t.min_measurement_ms = job.value("min_repeat_ms", 50.0);
  if (job.value("flush_cache", false)) t.before_each = flush_caches;
  return t;
}

nlohmann::json timed_result(const ConvProblem& c, const Timing& timing) {
  return {{"ok", true},
          {"times_ms", timing.ms_per_call},
          {"median_ms", timing.median_ms},
          {"gflops", c.wl.flops() / (timing.median_ms * 1e6)}};
}

/// The measuring half: check the result against the reference, then time it.
nlohmann::json run_prepared(Prepared& p, std::map<std::string, std::unique_ptr<ConvProblem>>& cases) {
  if (!p.error.empty()) return {{"ok", false}, {"error", p.error}, {"compile_ms", p.compile_ms}};
  const Workload& wl = *p.wl;
  auto& slot = cases[wl.key()];
  if (!slot) slot = std::make_unique<ConvProblem>(ConvProblem::make(wl, 1));
  ConvProblem& c = *slot;
  const int threads = p.job.value("threads", 1);
  // Not scoped: a tuner sends every job with the same count, and restoring the old count
  // after each would start and join the pool's threads once per candidate.
  convtune_set_num_threads(threads);
  if (p.job.value("kind", "") == "onednn") {
    if (!onednn_available()) return {{"ok", false}, {"error", "unavailable"}};
    auto b = make_onednn_baseline(wl, threads);
    const Agreement agreement = c.check([&] {
      b->prepare(c.input, c.weights);
      b->execute();
      b->finish(c.output);
    });
    if (!agreement.ok) return {{"ok", false}, {"error", "wrong_result"}};
    nlohmann::json result = timed_result(c, measure([&] { b->execute(); }, job_timing(p.job)));
    // The candidates measured next in this worker must not meet oneDNN's spinning threads.
    settle_openmp_threads();
    return result;
  }

  const std::string hook = test_hook(p.job);
  if (hook == "crash") raise(SIGSEGV);
  if (hook == "hang") {
    for (;;) std::this_thread::sleep_for(std::chrono::seconds(1));
  }
  if (hook == "gpu_fault") {
    // What an illegal address on a GPU looks like here: a failed trial that leaves the CUDA
    // context unusable.
    throw CudaError("CUDA error in cuCtxSynchronize: CUDA_ERROR_ILLEGAL_ADDRESS (test hook)");
  }
  if (hook == "alloc") {
    // A candidate that allocates without bound: the worker's memory limit stops it.
    std::vector<std::unique_ptr<char[]>> hoard;
    for (;;) hoard.emplace_back(new char[size_t(1) << 30]);
  }
  KernelRunner& runner = *p.runner;
  runner.bind(c);
  // Held to the error model of the candidate's algorithm (Winograd's is looser than direct's).
  const Agreement agreement = c.check([&] {
    runner.run();
    if (hook == "wrong") c.output[0] += 1.0f;
  }, runner.algorithm());
  // Correct before fast: a wrong result is a failed trial, never a record of speed.
  if (!agreement.ok) return {{"ok", false}, {"error", "wrong_result"}, {"compile_ms", p.compile_ms}};
  // The compute stage is what the tuner compares: the layout transforms do not depend on the
  // config's register tile, and a deployment packs the weights once.
  nlohmann::json result = timed_result(c, runner.time(StageKind::Compute, job_timing(p.job)));
  result["compile_ms"] = p.compile_ms;
  return result;
}

} // namespace

int cmd_worker(const std::vector<std::string>& argv) {
  // `--memory-limit BYTES`: the address space this process may take (the tuner sets it).
  if (argv.size() == 2 && argv[0] == "--memory-limit") {
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
    // (A sanitizer build reserves terabytes of address space for its shadow: no limit there.)
    const rlim_t bytes = rlim_t(std::stoll(argv[1]));
    const rlimit limit{bytes, bytes};
    if (setrlimit(RLIMIT_AS, &limit) != 0) throw UserError("convtune worker: cannot set --memory-limit " + argv[1]);
#endif
  } else if (!argv.empty()) {
    throw UserError("convtune worker takes only --memory-limit BYTES: it is started by convtune tune");
  }
  TargetCache targets;
  PreparedQueue queue;
  std::thread reader([&] {
    std::string line;
    while (std::getline(std::cin, line)) queue.push(prepare(line, targets));
    queue.close();
  });
  std::map<std::string, std::unique_ptr<ConvProblem>> cases;
  while (std::optional<Prepared> p = queue.pop()) {
    nlohmann::json reply;
    bool gpu_broken = false;
    try {
      reply = run_prepared(*p, cases);
    } catch (const std::bad_alloc&) {
      reply = {{"ok", false}, {"error", "out_of_memory"}};
    } catch (const CudaError& e) {
      // A launch failure or an illegal address: a failed trial, and a CUDA context that no
      // later launch can use. The tuner retires this worker and sends the jobs after it to a
      // fresh one, blaming none of them.
      reply = {{"ok", false}, {"error", "cuda_error: " + clipped(e.what())}, {"retire", true}};
      gpu_broken = true;
    } catch (const std::exception& e) {
      reply = {{"ok", false}, {"error", "bad_job: " + clipped(e.what())}};
    }
    if (p->job.is_object() && p->job.contains("id")) reply["id"] = p->job["id"];
    if (!p->target_key.empty()) reply["target"] = p->target_key;
    reply["rss_kb"] = resident_kb();
    emit_line(reply);
    if (gpu_broken) std::_Exit(3);
    // Each candidate's JIT code is freed here, after its answer is out.
    p.reset();
  }
  reader.join();
  return 0;
}

} // namespace convtune::cli
