/// \file Schedules and configs as JSON: round trips, replay, malformed input, and the knob space's indexing.
#include <catch2/catch.hpp>

#include <set>

#include <nlohmann/json.hpp>

#include "ir/ir_printer.h"
#include "ir/suites.h"
#include "ir/workload.h"
#include "compiler/compile.h"
#include "schedules/schedule_template.h"
#include "compiler/schedule_loops.h"
#include "schedules/schedule.h"
#include "tests/test_support.h"

using namespace convtune;
using Catch::Matchers::Message;
using nlohmann::json;

namespace {

/// A CPU target with a fixed vector width, so the spaces do not depend on the host.
Target avx2_target() { return convtune::testing::x86_target("haswell", 256); }

std::vector<Workload> workloads() {
  return {
      suite_layer("resnet18", "C6"),
      suite_layer("resnet18", "C1"),
      suite_layer("mobilenet", "D4"),
      parse_workload("n=2,c=8,h=6,w=9,k=12,r=3,s=3,pad=1,groups=4"),
      parse_workload("n=1,c=3,h=9,w=11,k=5,r=3,s=3,pad=0:1:2:0,dilation=2"),
  };
}

/// A hand-written schedule using every primitive.
Schedule every_primitive() {
  return schedule_from_json(json::parse(R"({"steps": [
    {"step": "pack_input", "block": 2},
    {"step": "pack_weights", "in_block": 2, "out_block": 4},
    {"step": "pack_output", "block": 4},
    {"step": "split", "loop": "k", "factor": 4, "outer": "ko", "inner": "ki"},
    {"step": "reorder", "loops": ["n", "ko", "p", "q", "c", "r", "s", "ki"]},
    {"step": "fuse", "outer": "n", "inner": "ko", "fused": "nko"},
    {"step": "cache_write", "loop": "q"},
    {"step": "vectorize", "loop": "ki"},
    {"step": "unroll", "loop": "s"},
    {"step": "parallel", "loop": "nko"}
  ]})"));
}

/// The error schedule_from_json gives for one step (as text), inside a valid schedule.
json with_step(const std::string& step) {
  return json::parse(R"({"steps": [{"step": "unroll", "loop": "s"}, )" + step + "]}");
}

} // namespace

TEST_CASE("Template schedules round-trip through JSON and replay to the same nest", "[schedules][json]") {
  const Target target = avx2_target();
  for (const Workload& wl : workloads()) {
    INFO("workload " << wl.spec());
    const Schedule sch = make_schedule(wl, target, default_config(wl, target));
    REQUIRE_FALSE(sch.steps.empty());
    // Through the JSON value and through its text.
    const Schedule back = schedule_from_json(to_json(sch));
    CHECK(back == sch);
    const Schedule from_text = schedule_from_json(json::parse(to_json(sch).dump(2)));
    CHECK(from_text == sch);
    CHECK(to_json(back) == to_json(sch));
    CHECK(to_text(scheduled_nest(wl, back)) == to_text(scheduled_nest(wl, sch)));
    CHECK(to_text(scheduled_nest(StageStates::of_main(apply_schedule(wl, back)))) == to_text(scheduled_nest(wl, sch)));
  }
}

TEST_CASE("Random configs and a hand-written schedule round-trip through JSON", "[schedules][json]") {
  const Target target = avx2_target();
  const Workload wl = parse_workload("n=1,c=12,h=7,w=9,k=20,r=3,s=3,pad=1");
  const KnobSpace space = knob_space(wl, target);
  for (uint64_t index : {uint64_t(0), space.size() / 3, space.size() / 2, space.size() - 1}) {
    const Schedule sch = make_schedule(wl, target, space.at(index));
    const Schedule back = schedule_from_json(to_json(sch));
    CHECK(back == sch);
    CHECK(config_from_json(back.config) == space.at(index));
    CHECK(to_text(scheduled_nest(wl, back)) == to_text(scheduled_nest(wl, sch)));
  }
  const Schedule hand = every_primitive();
  CHECK(hand.template_name.empty());
  CHECK(hand.config.is_null());
  CHECK(hand.steps.size() == 10);
  CHECK(schedule_from_json(to_json(hand)) == hand);
  CHECK(to_json(hand).contains("template") == false);
  CHECK(to_text(scheduled_nest(wl, schedule_from_json(to_json(hand)))) == to_text(scheduled_nest(wl, hand)));
  // The empty schedule is the naive nest, and round-trips too.
  const Schedule empty;
  CHECK(schedule_from_json(to_json(empty)) == empty);
  CHECK(to_json(empty) == json::parse(R"({"steps": []})"));
}

TEST_CASE("Schedule equality sees every field", "[schedules][json]") {
  const Schedule a = every_primitive();
  Schedule b = a;
  REQUIRE(a == b);
  b.steps[3].factor = 5;
  CHECK_FALSE(a == b);
  b = a;
  b.steps[4].loops.pop_back();
  CHECK_FALSE(a == b);
  b = a;
  b.template_name = "direct_nchwc";
  CHECK_FALSE(a == b);
  b = a;
  b.config = json{{"ow_bn", 4}};
  CHECK_FALSE(a == b);
}

TEST_CASE("Malformed schedule JSON is refused with exact messages", "[schedules][json][refusals]") {
  REQUIRE_THROWS_MATCHES(schedule_from_json(json::array()), ScheduleError,
                         Message("schedule: expected a JSON object with 'steps'"));
  REQUIRE_THROWS_MATCHES(schedule_from_json(json("steps")), ScheduleError,
                         Message("schedule: expected a JSON object with 'steps'"));
  REQUIRE_THROWS_MATCHES(schedule_from_json(json::object()), ScheduleError, Message("schedule: missing array 'steps'"));
  REQUIRE_THROWS_MATCHES(schedule_from_json(json{{"steps", json::object()}}), ScheduleError,
                         Message("schedule: missing array 'steps'"));
  REQUIRE_THROWS_MATCHES(schedule_from_json(json::parse(R"({"steps": [], "stpes": []})")), ScheduleError,
                         Message("schedule: unknown field 'stpes'"));
  REQUIRE_THROWS_MATCHES(schedule_from_json(json::parse(R"({"steps": [], "template": 3})")), ScheduleError,
                         Message("schedule: field 'template' must be a string"));

  // Steps: not an object, no step name, unknown primitive.
  REQUIRE_THROWS_MATCHES(schedule_from_json(with_step("3")), ScheduleError,
                         Message("schedule step 2: expected an object with a string field 'step'"));
  REQUIRE_THROWS_MATCHES(schedule_from_json(with_step(R"({"loop": "k"})")), ScheduleError,
                         Message("schedule step 2: expected an object with a string field 'step'"));
  REQUIRE_THROWS_MATCHES(schedule_from_json(with_step(R"({"step": 4})")), ScheduleError,
                         Message("schedule step 2: expected an object with a string field 'step'"));
  REQUIRE_THROWS_MATCHES(schedule_from_json(with_step(R"({"step": "tile", "loop": "k"})")), ScheduleError,
                         Message("schedule step 2: unknown primitive 'tile'"));

  // Fields: unknown, missing, wrong type.
  REQUIRE_THROWS_MATCHES(schedule_from_json(with_step(R"({"step": "unroll", "loop": "k", "factor": 2})")), ScheduleError,
                         Message("schedule step 2 (unroll): unknown field 'factor'"));
  REQUIRE_THROWS_MATCHES(schedule_from_json(with_step(R"({"step": "split", "loop": "k", "outer": "ko", "inner": "ki"})")),
                         ScheduleError, Message("schedule step 2 (split): missing field 'factor'"));
  REQUIRE_THROWS_MATCHES(schedule_from_json(with_step(R"({"step": "fuse", "outer": "n", "inner": "k"})")), ScheduleError,
                         Message("schedule step 2 (fuse): missing field 'fused'"));
  REQUIRE_THROWS_MATCHES(schedule_from_json(with_step(R"({"step": "pack_weights", "in_block": 4})")), ScheduleError,
                         Message("schedule step 2 (pack_weights): missing field 'out_block'"));
  REQUIRE_THROWS_MATCHES(
      schedule_from_json(with_step(R"({"step": "split", "loop": "k", "factor": "4", "outer": "ko", "inner": "ki"})")),
      ScheduleError, Message("schedule step 2 (split): field 'factor' must be an integer"));
  REQUIRE_THROWS_MATCHES(
      schedule_from_json(with_step(R"({"step": "split", "loop": "k", "factor": 4.5, "outer": "ko", "inner": "ki"})")),
      ScheduleError, Message("schedule step 2 (split): field 'factor' must be an integer"));
  REQUIRE_THROWS_MATCHES(schedule_from_json(with_step(R"({"step": "pack_output", "block": true})")), ScheduleError,
                         Message("schedule step 2 (pack_output): field 'block' must be an integer"));
  REQUIRE_THROWS_MATCHES(
      schedule_from_json(with_step(R"({"step": "split", "loop": 1, "factor": 4, "outer": "ko", "inner": "ki"})")),
      ScheduleError, Message("schedule step 2 (split): field 'loop' must be a string"));
  REQUIRE_THROWS_MATCHES(schedule_from_json(with_step(R"({"step": "vectorize", "loop": ["k"]})")), ScheduleError,
                         Message("schedule step 2 (vectorize): field 'loop' must be a string"));
  REQUIRE_THROWS_MATCHES(schedule_from_json(with_step(R"({"step": "reorder", "loops": "k"})")), ScheduleError,
                         Message("schedule step 2 (reorder): field 'loops' must be an array of names"));
  REQUIRE_THROWS_MATCHES(schedule_from_json(with_step(R"({"step": "reorder", "loops": ["k", 2]})")), ScheduleError,
                         Message("schedule step 2 (reorder): field 'loops' must be an array of names"));
}

TEST_CASE("config_from_json refuses what is not an object of integers", "[schedules][json][refusals]") {
  CHECK(config_from_json(json::parse(R"({"ow_bn": 4, "oh_bn": 1})")) == Config{{"ow_bn", 4}, {"oh_bn", 1}});
  CHECK(config_from_json(config_to_json(Config{{"a", -1}, {"b", 7}})) == Config{{"a", -1}, {"b", 7}});
  REQUIRE_THROWS_MATCHES(config_from_json(json::array({1, 2})), UserError,
                         Message("config: expected a JSON object of knob values"));
  REQUIRE_THROWS_MATCHES(config_from_json(json(4)), UserError, Message("config: expected a JSON object of knob values"));
  REQUIRE_THROWS_MATCHES(config_from_json(json::parse(R"({"ow_bn": "4"})")), UserError,
                         Message("config: knob 'ow_bn' must be an integer"));
  REQUIRE_THROWS_MATCHES(config_from_json(json::parse(R"({"ow_bn": 4, "oh_bn": 1.5})")), UserError,
                         Message("config: knob 'oh_bn' must be an integer"));
  REQUIRE_THROWS_MATCHES(config_from_json(json::parse(R"({"unroll_kw": null})")), UserError,
                         Message("config: knob 'unroll_kw' must be an integer"));
}

TEST_CASE("KnobSpace::at and index_of are inverse over a whole space", "[schedules][knobs]") {
  const Target target = avx2_target();  // 8 lanes
  for (const char* spec : {"n=1,c=4,h=3,w=3,k=12,r=3,s=3,pad=1", "n=1,c=8,h=4,w=5,k=8,r=3,s=3,pad=1,groups=8"}) {
    const Workload wl = parse_workload(spec);
    INFO("workload " << spec);
    const KnobSpace space = knob_space(wl, target);
    CHECK(space.template_name == template_for(wl, target).name());
    uint64_t product = 1;
    for (const Knob& k : space.knobs) product *= k.values.size();
    REQUIRE(space.size() == product);
    REQUIRE(space.size() > 1);
    std::set<Config> seen;
    for (uint64_t i = 0; i < space.size(); ++i) {
      const Config c = space.at(i);
      REQUIRE(c.size() == space.knobs.size());
      REQUIRE(space.index_of(c) == i);
      seen.insert(c);
    }
    CHECK(seen.size() == space.size());
    // Mixed radix, the last knob varying fastest.
    const Knob& last = space.knobs.back();
    CHECK(space.at(1).at(last.name) == last.values[1]);
    for (const Knob& k : space.knobs) {
      if (&k != &last) CHECK(space.at(1).at(k.name) == space.at(0).at(k.name));
    }
    // The default config is in the space.
    CHECK(space.index_of(default_config(wl, target)) < space.size());
  }
}

TEST_CASE("index_of and make_schedule refuse configs outside the space with exact messages", "[schedules][knobs][refusals]") {
  const Target target = avx2_target();
  const Workload wl = parse_workload("n=1,c=4,h=3,w=3,k=12,r=3,s=3,pad=1");
  const KnobSpace space = knob_space(wl, target);
  REQUIRE(space.template_name == "direct_nchwc");

  Config bad_value = space.at(0);
  bad_value["ow_bn"] = 99;
  REQUIRE_THROWS_MATCHES(space.index_of(bad_value), UserError,
                         Message("config: knob 'ow_bn' = 99 is not in the direct_nchwc space"));
  REQUIRE_THROWS_MATCHES(make_schedule(wl, target, bad_value), UserError,
                         Message("config: knob 'ow_bn' = 99 is not in the direct_nchwc space"));

  Config unknown = space.at(0);
  unknown["tile_z"] = 1;
  REQUIRE_THROWS_MATCHES(space.index_of(unknown), UserError,
                         Message("config: unknown knob 'tile_z' for template direct_nchwc"));

  Config missing = space.at(0);
  missing.erase("ic_bn");
  REQUIRE_THROWS_MATCHES(space.index_of(missing), UserError, Message("config: missing knob 'ic_bn'"));

  const Workload dw = parse_workload("n=1,c=8,h=4,w=5,k=8,r=3,s=3,pad=1,groups=8");
  const KnobSpace dw_space = knob_space(dw, target);
  Config dense_config = space.at(0);
  // A direct config is not a depthwise one: its first missing knob is named.
  REQUIRE_THROWS_MATCHES(dw_space.index_of(dense_config), UserError, Message("config: missing knob 'ch_bn'"));
}
