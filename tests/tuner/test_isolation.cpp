/// \file Isolated measuring: a candidate that crashes, hangs or computes a wrong result is a failed trial, and the next one still measures.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "ir/workload.h"
#include "schedules/schedule_template.h"
#include "targets/target.h"
#include "tests/test_support.h"
#include "tuner/database.h"
#include "tuner/measurer.h"
#include "tuner/tuning_loop.h"

using namespace convtune;
using convtune::testing::TempPath;

namespace {

const char* kTiny = "n=1,c=8,h=6,w=6,k=16,r=3,s=3,pad=1";

/// Each trial's budget. A sanitized worker compiles several times slower, and CI runs two
/// tests at once: 2 s there made a normal compile of this layer time out now and then.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr double kTrialBudgetS = 6;
#else
constexpr double kTrialBudgetS = 2;
#endif

MeasureOptions quick_options() {
  MeasureOptions o;
  o.repeat = 1;
  o.min_repeat_ms = 1;
  o.timeout_s = kTrialBudgetS;
  return o;
}

/// Lets the worker honour the test hooks while in scope (workers inherit the environment).
struct TestHooksOn {
  TestHooksOn() { setenv("CONVTUNE_TEST_HOOKS", "1", 1); }
  ~TestHooksOn() { unsetenv("CONVTUNE_TEST_HOOKS"); }
  TestHooksOn(const TestHooksOn&) = delete;
  TestHooksOn& operator=(const TestHooksOn&) = delete;
};

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

/// A normal candidate measures ok: the worker that misbehaved before was replaced.
void require_measures_ok(Measurer& measurer, const Workload& wl, const Schedule& schedule) {
  const MeasureResult m = measurer.measure(wl, schedule);
  INFO("error: " << m.error);
  REQUIRE(m.ok);
  REQUIRE(m.error.empty());
  REQUIRE(m.gflops > 0);
  REQUIRE(m.times_ms.size() == 1);
}

} // namespace

TEST_CASE("isolation turns a crash, a hang and a wrong result into failed trials and replaces the worker", "[tuner][isolation]") {
  const TestHooksOn hooks;
  const Workload wl = parse_workload(kTiny);
  const Target target = host_target();
  const Schedule schedule = make_schedule(wl, target, default_config(wl, target));
  Measurer measurer(CONVTUNE_BINARY, quick_options());

  require_measures_ok(measurer, wl, schedule);

  SECTION("a crash") {
    const MeasureResult m = measurer.measure(wl, schedule, "crash");
    REQUIRE_FALSE(m.ok);
    REQUIRE(m.error == "crash:SIGSEGV");
    REQUIRE(m.gflops == 0);
    require_measures_ok(measurer, wl, schedule);
  }
  SECTION("a hang") {
    const auto start = std::chrono::steady_clock::now();
    const MeasureResult m = measurer.measure(wl, schedule, "hang");
    const double took = seconds_since(start);
    REQUIRE_FALSE(m.ok);
    REQUIRE(m.error == "run_timeout");  // it compiled, then its run hung
    CHECK(took >= kTrialBudgetS - 0.1);
    CHECK(took < 2 * kTrialBudgetS);
    CHECK(m.wall_ms >= (kTrialBudgetS - 0.1) * 1000);
    require_measures_ok(measurer, wl, schedule);
  }
  SECTION("a compile that never ends") {
    const MeasureResult m = measurer.measure(wl, schedule, "slow_compile");
    REQUIRE_FALSE(m.ok);
    REQUIRE(m.error == "compile_timeout");
    require_measures_ok(measurer, wl, schedule);
  }
  SECTION("a candidate that allocates without bound stops at the worker's memory limit") {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    WARN("a sanitizer build sets no address-space limit on the worker: not exercised here");
    return;
#endif
    MeasureOptions o = quick_options();
    o.worker_memory_bytes = 4.0 * (1 << 30);
    Measurer limited(CONVTUNE_BINARY, o);
    const MeasureResult m = limited.measure(wl, schedule, "alloc");
    REQUIRE_FALSE(m.ok);
    REQUIRE(m.error == "out_of_memory");
    require_measures_ok(limited, wl, schedule);
  }
  SECTION("a wrong result") {
    const MeasureResult m = measurer.measure(wl, schedule, "wrong");
    REQUIRE_FALSE(m.ok);
    REQUIRE(m.error == "wrong_result");
    REQUIRE(m.times_ms.empty());
    require_measures_ok(measurer, wl, schedule);
  }
  SECTION("each in turn, in one worker session") {
    REQUIRE(measurer.measure(wl, schedule, "crash").error == "crash:SIGSEGV");
    require_measures_ok(measurer, wl, schedule);
    REQUIRE(measurer.measure(wl, schedule, "wrong").error == "wrong_result");
    require_measures_ok(measurer, wl, schedule);
  }
}

TEST_CASE("isolation ignores the test hooks without CONVTUNE_TEST_HOOKS in the worker's environment", "[tuner][isolation]") {
  unsetenv("CONVTUNE_TEST_HOOKS");
  const Workload wl = parse_workload(kTiny);
  const Target target = host_target();
  const Schedule schedule = make_schedule(wl, target, default_config(wl, target));
  Measurer measurer(CONVTUNE_BINARY, quick_options());
  const MeasureResult m = measurer.measure(wl, schedule, "crash");
  INFO("error: " << m.error);
  REQUIRE(m.ok);
}

TEST_CASE("isolation lets a tuning session survive a crashing and a hanging trial", "[tuner][isolation]") {
  const TestHooksOn hooks;
  TempPath path("isolation", ".jsonl");
  const Workload wl = parse_workload(kTiny);
  const Target target = host_target();
  Database db(path.str());
  std::ostringstream warnings;
  db.load(warnings);
  Measurer measurer(CONVTUNE_BINARY, quick_options());

  TuneOptions options;
  options.trials = 6;
  options.tuner = "random";
  options.seed = 5;
  // One template's space: the union's Winograd F(6) kernels take over a 2 s budget to
  // compile in a ThreadSanitizer build (about 0.9 s in a release one), which would add a
  // timeout this test did not plant.
  options.template_name = "direct_nchwc";
  options.test_hook = [](int trial) { return trial == 2 ? "crash" : trial == 4 ? "hang" : ""; };
  int progress_calls = 0;
  const auto start = std::chrono::steady_clock::now();
  const TuneResult result = tune_workload(wl, target, db, measurer, options, [&](const TuneProgress&) { ++progress_calls; });
  INFO("took " << seconds_since(start) << " s");
  CHECK(seconds_since(start) < 13 + kTrialBudgetS);  // the hang costs one budget

  REQUIRE(result.trials == 6);
  REQUIRE(result.new_trials == 6);
  REQUIRE(progress_calls == 6);
  REQUIRE(result.failed.size() == 2);
  REQUIRE(result.failed.at("crash:SIGSEGV") == 1);
  REQUIRE(result.failed.at("run_timeout") == 1);
  REQUIRE(result.best_gflops > 0);
  REQUIRE(result.trial_gflops.size() == 6);
  CHECK(result.trial_gflops[1] == 0);
  CHECK(result.trial_gflops[3] == 0);

  // What reached the disk, read back by a fresh database.
  Database reread(path.str());
  std::ostringstream reread_warnings;
  reread.load(reread_warnings);
  REQUIRE(reread_warnings.str().empty());
  const auto& records = reread.records();
  REQUIRE(records.size() == 6);
  int failed = 0;
  for (size_t i = 0; i < records.size(); ++i) {
    INFO("record " << i + 1 << ": " << records[i].error);
    if (i == 1) {
      REQUIRE_FALSE(records[i].ok);
      REQUIRE(records[i].error == "crash:SIGSEGV");
    } else if (i == 3) {
      REQUIRE_FALSE(records[i].ok);
      REQUIRE(records[i].error == "run_timeout");
    } else {
      REQUIRE(records[i].ok);
      REQUIRE(records[i].gflops > 0);
    }
    failed += !records[i].ok;
  }
  REQUIRE(failed == 2);
}

TEST_CASE("isolation blames each failure of a batch on its own candidate, compiles overlapped or not", "[tuner][isolation]") {
  const TestHooksOn hooks;
  const Workload wl = parse_workload(kTiny);
  const Target target = host_target();
  const Schedule schedule = make_schedule(wl, target, default_config(wl, target));
  // A crash and a hang right after a good candidate, and back to back: with overlap, the
  // next candidate is in flight each time one fails. A GPU fault retires its worker: the
  // candidates after it, the last one too, are measured by a fresh one.
  const std::string fault = "cuda_error: CUDA error in cuCtxSynchronize: CUDA_ERROR_ILLEGAL_ADDRESS (test hook)";
  const std::vector<std::string> hooks_in_order = {"", "crash", "", "hang", "crash", "", "wrong", "", "gpu_fault", "", "gpu_fault", ""};
  const std::vector<std::string> expected = {"", "crash:SIGSEGV", "", "run_timeout", "crash:SIGSEGV", "", "wrong_result", "", fault, "", fault, ""};
  std::vector<Candidate> batch;
  for (const std::string& hook : hooks_in_order) batch.push_back({wl, schedule, hook});

  const bool overlap = GENERATE(true, false);
  INFO("overlap_compile " << overlap);
  MeasureOptions options = quick_options();
  options.overlap_compile = overlap;
  Measurer measurer(CONVTUNE_BINARY, options);
  std::vector<size_t> order;
  std::vector<MeasureResult> results(batch.size());
  measurer.measure_all(batch, [&](size_t i, const MeasureResult& m) {
    order.push_back(i);
    results[i] = m;
  });
  REQUIRE(order == std::vector<size_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11});
  for (size_t i = 0; i < batch.size(); ++i) {
    INFO("candidate " << i << ": " << results[i].error);
    REQUIRE(results[i].error == expected[i]);
    REQUIRE(results[i].ok == expected[i].empty());
    if (results[i].ok) REQUIRE(results[i].gflops > 0);
  }
  require_measures_ok(measurer, wl, schedule);
}

TEST_CASE("isolation: the worker answers a job of unknown kind with bad_job instead of dying", "[tuner][isolation]") {
  nlohmann::json job = {{"kind", "bogus"}, {"workload", parse_workload(kTiny)}, {"id", 7}};
  // Single quotes for the shell: the job's JSON holds none.
  const std::string command = "printf '%s\\n' '" + job.dump() + "' | " + CONVTUNE_BINARY + " worker";
  FILE* pipe = popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  char line[4096] = {};
  const bool answered = std::fgets(line, sizeof line, pipe) != nullptr;
  const int status = pclose(pipe);
  REQUIRE(answered);
  REQUIRE(status == 0);
  const nlohmann::json reply = nlohmann::json::parse(line);
  REQUIRE(reply.at("ok") == false);
  REQUIRE(reply.at("error") == "bad_job: unknown kind 'bogus'");
  REQUIRE(reply.at("id") == 7);
}

TEST_CASE("the worker compiles for the job's target and refuses one the host cannot run", "[tuner][isolation][targets]") {
  const Workload wl = parse_workload(kTiny);
  SECTION("x86-64-v3 on any x86-64-v3 host, AVX-512 ones included") {
    const Target v3 = parse_target("x86-64-v3");
    MeasureOptions options = quick_options();
    options.target = v3.name;
    Measurer measurer(CONVTUNE_BINARY, options);
    const MeasureResult m = measurer.measure(wl, make_schedule(wl, v3, default_config(wl, v3)));
    INFO("error: " << m.error);
    REQUIRE(m.ok);
    CHECK(m.target_key == v3.key());
    CHECK(m.target_key != host_target().key());
  }
  SECTION("a target whose features the host lacks") {
    const Target host = host_target();
    const char* name = !host.has_feature("avx512f") ? "x86-64-v4" : !host.has_feature("amx-tile") ? "sapphirerapids" : "znver4";
    const Target t = parse_target(name);
    MeasureOptions options = quick_options();
    options.target = t.name;
    Measurer measurer(CONVTUNE_BINARY, options);
    const MeasureResult m = measurer.measure(wl, make_schedule(wl, host, default_config(wl, host)));
    REQUIRE_FALSE(m.ok);
    CHECK(m.error.rfind(std::string("bad_job: target '") + name + "' cannot run on this host (" + host.cpu + "): it lacks ", 0) == 0);
  }
}
