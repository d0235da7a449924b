/// \file Steps that name a stage: any stage of an algorithm can be scheduled (a pure one too),
/// what they refuse, their JSON, and kernels that still agree with the reference.
#include <catch2/catch.hpp>

#include <algorithm>

#include <nlohmann/json.hpp>

#include "compiler/compile.h"
#include "compiler/kernel_runner.h"
#include "ir/ir_printer.h"
#include "runtime/conv_problem.h"
#include "schedules/schedule.h"
#include "tests/test_support.h"

using namespace convtune;
using Catch::Matchers::Message;

namespace {

Step on(const char* stage, Step s) {
  s.stage = stage;
  return s;
}

Agreement run(const Workload& wl, const Schedule& sch) {
  KernelRunner runner(compile_jit(scheduled_nest(wl, sch), host_target()));
  ConvProblem problem = ConvProblem::make(wl, 13);
  return runner.check(problem);
}

} // namespace

TEST_CASE("im2col's gather stage is scheduled by steps naming it, next to the GEMM's", "[schedules][stages]") {
  const Workload wl = parse_workload("n=2,c=5,h=9,w=11,k=12,r=3,s=3,stride=1,pad=1");
  Schedule sch;
  sch.algorithm = "im2col_gemm";
  sch.steps = {on("columns", Step::fuse("n", "c", "nc")), on("columns", Step::on_loop("parallel", "nc")),
               on("columns", Step::split("q", 4, "qo", "qi")), on("columns", Step::on_loop("unroll", "qi")),
               Step::split("col", 6, "colo", "coli"), Step::reorder({"n", "k", "colo", "row", "coli"}),
               Step::on_loop("cache_write", "colo"), Step::on_loop("unroll", "coli"), Step::on_loop("parallel", "n")};
  const nlohmann::json j = to_json(sch);
  CHECK(j["steps"][0]["stage"] == "columns");
  CHECK_FALSE(j["steps"][4].contains("stage"));
  const Schedule replayed = schedule_from_json(nlohmann::json::parse(j.dump()));
  REQUIRE(replayed == sch);
  const std::string text = to_text(scheduled_nest(wl, replayed));
  INFO(text);
  CHECK(text.find("parallel for (nc = 0; nc < 10; nc++)") != std::string::npos);
  CHECK(text.find("unrolled for (qi = 0; qi < 4; qi++)") != std::string::npos);
  const Agreement a = run(wl, replayed);
  INFO("max rel err " << a.max_rel_err);
  CHECK(a.ok);
}

TEST_CASE("im2col's gather: a tail of a flattened dimension never writes into the next one's points", "[schedules][stages]") {
  // columns[...][p*Q + q]: a tail of q (11 in tiles of 4) would write past a row into the
  // next row's first columns, and with the tiles outside the rows it would land after their
  // right values; likewise s into the next r and r into the next c of the row index.
  const Workload wl = parse_workload("n=1,c=3,h=9,w=11,k=4,r=3,s=3,stride=1,pad=1");
  for (const auto& [loop, factor] : std::vector<std::pair<std::string, int64_t>>{{"q", 4}, {"s", 2}, {"r", 2}}) {
    Schedule sch;
    sch.algorithm = "im2col_gemm";
    const std::string outer = loop + "o", inner = loop + "i";
    std::vector<std::string> order = {outer, "n", "c", "r", "s", "p", "q"};
    std::replace(order.begin() + 1, order.end(), loop, inner);
    sch.steps = {on("columns", Step::split(loop, factor, outer, inner)), on("columns", Step::reorder(order))};
    INFO(loop << " in tiles of " << factor);
    CHECK(run(wl, sch).ok);
  }
}

TEST_CASE("the count stage of an average pool is scheduled by steps naming it", "[schedules][stages]") {
  const Workload wl = parse_workload("n=1,c=6,h=9,w=8,r=3,s=2,stride=2,pad=1,op=avgpool");
  Schedule sch;
  sch.steps = {on("count", Step::on_loop("parallel", "p")), Step::split("q", 3, "qo", "qi"),
               Step::reorder({"n", "c", "p", "qo", "r", "s", "qi"}), Step::on_loop("cache_write", "qo"),
               Step::on_loop("parallel", "c")};
  CHECK(run(wl, sch).ok);
}

TEST_CASE("a stage other than the main one packs the input into a copy of its own", "[schedules][stages]") {
  // im2col's gather reads an NCHW4c copy with its padding as zeros (no guards), while the GEMM
  // packs the weights: two stages, each with its layouts, named apart in the nest.
  for (const char* spec : {"n=1,c=6,h=7,w=9,k=8,r=3,s=3,pad=1", "n=2,c=5,h=5,w=6,k=4,r=3,s=2,stride=2,pad=2:0:1:1"}) {
    const Workload wl = parse_workload(spec);
    Schedule sch;
    sch.algorithm = "im2col_gemm";
    sch.steps = {on("columns", Step::pack_input(4)), Step::pack_weights(4, 4)};
    INFO(spec);
    CHECK(run(wl, sch).ok);
    const std::string text = to_text(scheduled_nest(wl, sch));
    CHECK(text.find("input_packed_for_columns[") != std::string::npos);
    CHECK(text.find("// stage pack_input_for_columns (pack_input)") != std::string::npos);
  }
}

TEST_CASE("steps naming a stage refuse what the stage cannot take", "[schedules][stages][refusals]") {
  const Workload wl = parse_workload("n=1,c=4,h=6,w=6,k=8,r=3,s=3,pad=1");
  Schedule sch;
  sch.algorithm = "im2col_gemm";
  sch.steps = {on("colums", Step::on_loop("parallel", "n"))};
  REQUIRE_THROWS_MATCHES(apply_schedule_stages(wl, sch), ScheduleError,
                         Message("schedule step 1: no stage 'colums' in im2col_gemm (stages: columns, gemm)"));
  sch.steps = {on("columns", Step::on_loop("cache_write", "q"))};
  REQUIRE_THROWS_MATCHES(apply_schedule_stages(wl, sch), ScheduleError,
                         Message("schedule step 1: cache_write: stage 'columns' has no reduction whose partial results a "
                                 "local tile could keep"));
  sch.steps = {on("columns", Step::pack_weights(4, 4))};
  REQUIRE_THROWS_MATCHES(apply_schedule_stages(wl, sch), ScheduleError,
                         Message("schedule step 1: pack_weights: stage 'columns' does not read the weights; there is "
                                 "nothing of it to pack"));
  // A stage's loops are its own: the GEMM's names mean nothing to the gather.
  sch.steps = {on("columns", Step::on_loop("parallel", "row"))};
  REQUIRE_THROWS_MATCHES(apply_schedule_stages(wl, sch), ScheduleError,
                         Message("schedule step 1: parallel: no loop named 'row' (loops: n, c, r, s, p, q)"));
  REQUIRE_THROWS_MATCHES(schedule_from_json(nlohmann::json::parse(R"({"steps": [{"step": "unroll", "loop": "q", "stage": 3}]})")),
                         ScheduleError, Message("schedule step 1 (unroll): field 'stage' must be a string"));
}
