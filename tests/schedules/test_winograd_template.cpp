/// \file The Winograd template: its default config and configs drawn across its space (every
/// tile side) agree with the reference, under the Winograd error bound the harness picks from
/// the schedule's algorithm, on odd 3x3 layers (groups, batch 2, asymmetric pads, an epilogue,
/// images smaller than a tile); at 2 threads too; and it applies only where Winograd does.
#include <catch2/catch.hpp>

#include <random>

#include "compiler/kernel_runner.h"
#include "ir/algorithms.h"
#include "runtime/conv_problem.h"
#include "runtime/thread_pool.h"
#include "schedules/schedule_template.h"
#include "targets/target.h"

using namespace convtune;

namespace {

const std::vector<std::string> kLayers = {
    "n=1,c=5,h=9,w=11,k=7,r=3,s=3,pad=1",
    "n=2,c=6,h=7,w=7,k=10,r=3,s=3,pad=1,groups=2",
    "n=1,c=3,h=13,w=5,k=4,r=3,s=3,pad=0:2:1:0",
    "n=1,c=17,h=6,w=6,k=33,r=3,s=3,pad=1",
    "n=1,c=8,h=2,w=3,k=5,r=3,s=3,pad=2",
    "n=2,c=4,h=10,w=9,k=4,r=3,s=3,pad=1,groups=4",
    "n=1,c=16,h=14,w=14,k=16,r=3,s=3,pad=1,epilogue=bias_relu",
    "n=1,c=9,h=8,w=12,k=12,r=3,s=3,pad=1,epilogue=bias_add_relu",
    "n=1,c=1,h=1,w=1,k=3,r=3,s=3,pad=1",
    "n=1,c=32,h=7,w=7,k=40,r=3,s=3,pad=1",
};

const std::vector<int64_t>& knob_values(const KnobSpace& space, const std::string& name) {
  for (const Knob& k : space.knobs) {
    if (k.name == name) return k.values;
  }
  FAIL("no knob " << name);
  throw;
}

Agreement check(const Workload& wl, const Schedule& sch, uint64_t seed) {
  auto runner = KernelRunner::compile(wl, sch, host_target());
  ConvProblem problem = ConvProblem::make(wl, seed);
  return runner->check(problem);
}

} // namespace

TEST_CASE("Winograd template: the default config and configs across the space agree with the reference", "[schedules][winograd]") {
  const Target target = host_target();
  const ScheduleTemplate& tpl = template_named("winograd");
  std::mt19937_64 rng(2026);
  uint64_t seed = 40;
  for (const std::string& spec : kLayers) {
    const Workload wl = parse_workload(spec);
    REQUIRE(tpl.applies(wl, target));
    const KnobSpace space = tpl.space(wl, target);
    std::vector<Config> configs = {tpl.default_config(wl, target)};
    for (int i = 0; i < 3; ++i) configs.push_back(space.at(rng() % space.size()));
    for (const Config& config : configs) {
      const Schedule sch = make_schedule(wl, space, config);
      INFO(spec << " with " << sch.config.dump());
      const Agreement a = check(wl, sch, seed++);
      INFO("max rel err " << a.max_rel_err << ", bound " << a.tolerance << " (" << a.bound << ")");
      CHECK(a.ok);
      CHECK(a.bound == "winograd_f" + std::to_string(winograd_tile_of(sch.algorithm)));
    }
  }
}

TEST_CASE("Winograd template: channels no vector divides are rounded up to one, and agree with the reference",
          "[schedules][winograd]") {
  const Target target = host_target();
  const ScheduleTemplate& tpl = template_named("winograd");
  // 67 channels: the default's input transform takes a whole vector of them at a time (80 or 72
  // transformed, 67 summed), not one.
  const Workload big = parse_workload("n=1,c=67,h=9,w=10,k=20,r=3,s=3,pad=1");
  const Config config = tpl.default_config(big, target);
  CHECK(knob_value(config, "ic_bn") == target.vector_lanes());
  CHECK(tpl.algorithm(big, config) == "winograd_f4_c" + std::to_string(target.vector_lanes()));
  uint64_t seed = 70;
  CHECK(check(big, make_schedule(big, tpl.space(big, target), config), seed++).ok);
  // Every block that does not divide the channels, on layers with a batch, pads and an epilogue.
  for (const char* spec : {"n=2,c=13,h=7,w=6,k=9,r=3,s=3,pad=1:0:2:1", "n=1,c=5,h=9,w=11,k=7,r=3,s=3,pad=1,epilogue=bias_relu",
                           "n=1,c=3,h=8,w=8,k=4,r=3,s=3,pad=2"}) {
    const Workload wl = parse_workload(spec);
    const KnobSpace space = tpl.space(wl, target);
    Config c = tpl.default_config(wl, target);
    int padded = 0;
    for (int64_t block : knob_values(space, "ic_bn")) {
      if (wl.c % block == 0) continue;
      c["ic_bn"] = block;
      const Schedule sch = make_schedule(wl, space, c);
      INFO(spec << " with " << sch.config.dump());
      CHECK(sch.algorithm == "winograd_f4_c" + std::to_string(block));
      CHECK(check(wl, sch, seed++).ok);
      ++padded;
    }
    CHECK(padded >= 1);
  }
  // Groups keep to the blocks that divide a group's channels.
  const Workload grouped = parse_workload("n=1,c=10,h=8,w=8,k=10,r=3,s=3,pad=1,groups=2");
  const KnobSpace grouped_space = tpl.space(grouped, target);
  for (int64_t block : knob_values(grouped_space, "ic_bn")) CHECK(grouped.c_per_group() % block == 0);
}

TEST_CASE("Winograd template: two threads agree with the reference", "[schedules][winograd]") {
  ScopedThreads threads(2);
  const Workload wl = parse_workload("n=2,c=12,h=11,w=13,k=20,r=3,s=3,pad=1");
  CHECK(check(wl, resolve_schedule("winograd", wl, host_target()), 9).ok);
}

TEST_CASE("Winograd template: applies to 3x3 stride-1 undilated convolutions only", "[schedules][winograd]") {
  const Target target = host_target();
  const ScheduleTemplate& tpl = template_named("winograd");
  CHECK(tpl.applies(parse_workload("n=1,c=4,h=8,w=8,k=4,r=3,s=3,pad=1,groups=2"), target));
  CHECK_FALSE(tpl.applies(parse_workload("n=1,c=4,h=8,w=8,k=4,r=3,s=3,stride=2,pad=1"), target));
  CHECK_FALSE(tpl.applies(parse_workload("n=1,c=4,h=8,w=8,k=4,r=3,s=3,dilation=2,pad=2"), target));
  CHECK_FALSE(tpl.applies(parse_workload("n=1,c=4,h=8,w=8,k=4,r=1,s=1"), target));
  CHECK_FALSE(tpl.applies(parse_workload("n=1,c=4,h=8,w=8,k=4,r=3,s=3,op=maxpool"), target));
}
