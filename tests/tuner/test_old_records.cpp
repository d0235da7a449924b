/// \file Records written by convtune 0.1.0 before the core was reshaped (the direct and
/// depthwise templates at version 2, schedules without an algorithm field) still count as the
/// current templates' trials and still replay: their stored schedules and their configs give
/// kernels that agree with the reference.
#include <catch2/catch.hpp>

#include <sstream>

#include <nlohmann/json.hpp>

#include "compiler/compile.h"
#include "compiler/kernel_runner.h"
#include "runtime/conv_problem.h"
#include "schedules/schedule_template.h"
#include "tuner/database.h"

using namespace convtune;

TEST_CASE("records of convtune 0.1.0 replay and count as the current templates' trials", "[tuner][database][replay]") {
  Database db(std::string(CONVTUNE_TEST_DATA) + "/records-v0.1.0-2026-11-21.jsonl");
  std::ostringstream warnings;
  db.load(warnings);
  CHECK(warnings.str().empty());
  REQUIRE(db.records().size() == 10);
  const Target target = host_target();
  int replayed = 0;
  for (const TrialRecord& r : db.records()) {
    const Workload wl = r.workload.get<Workload>();
    INFO(wl.spec() << " " << r.schedule.dump());
    // The same template at the same version: the tuner resumes from these records.
    const ScheduleTemplate& tpl = template_for(wl, target);
    CHECK(r.template_name == tpl.name());
    CHECK(r.template_version == tpl.version());
    // The stored trace replays on the reshaped core and computes the convolution.
    const Schedule stored = schedule_from_json(r.schedule);
    CHECK(stored.algorithm.empty());
    ConvProblem problem = ConvProblem::make(wl, 9);
    KernelRunner runner(compile_jit(scheduled_nest(wl, stored), target));
    CHECK(runner.check(problem).ok);
    // The config still names a point of the space and makes the same steps.
    const KnobSpace space = tpl.space(wl, parse_target(r.target.at("cpu").get<std::string>()));
    const Schedule remade = make_schedule(wl, space, config_from_json(r.config));
    CHECK(remade.steps == stored.steps);
    ++replayed;
  }
  CHECK(replayed == 10);
}
