/// \file compute_at and compute_inline: im2col's gather computed per GEMM tile (in a local
/// buffer, in registers, in the workspace) or inline, against the reference on odd shapes;
/// the region's size and placement in the nest; every refusal, named.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "compiler/compile.h"
#include "compiler/kernel_runner.h"
#include "ir/ir_printer.h"
#include "runtime/conv_problem.h"
#include "schedules/schedule.h"
#include "schedules/schedule_template.h"
#include "tests/odd_shapes.h"
#include "tests/test_support.h"

using namespace convtune;
using Catch::Matchers::Message;
using convtune::testing::odd_shapes;

namespace {

/// im2col + GEMM with column tiles of 5 and row steps of 7 (tails on most shapes), the sums of
/// a tile in registers; then `extra`.
Schedule tiled_gemm(std::vector<Step> extra, bool parallel = false) {
  Schedule sch;
  sch.algorithm = "im2col_gemm";
  sch.steps = {Step::split("col", 5, "colo", "coli"), Step::split("row", 7, "ro", "ri"),
               Step::reorder({"colo", "ro", "ri", "coli"}), Step::on_loop("cache_write", "colo"),
               Step::on_loop("unroll", "coli")};
  if (parallel) sch.steps.push_back(Step::on_loop("parallel", "n"));
  sch.steps.insert(sch.steps.end(), extra.begin(), extra.end());
  return sch;
}

Agreement run(const Workload& wl, const Schedule& sch, uint64_t seed = 13) {
  KernelRunner runner(compile_jit(scheduled_nest(wl, sch), host_target()));
  ConvProblem problem = ConvProblem::make(wl, seed);
  return runner.check(problem);
}

void check_odd_shapes(const Schedule& sch, uint64_t shapes_seed) {
  uint64_t seed = 21;
  for (const Workload& wl : odd_shapes(20, shapes_seed, "", false)) {
    INFO(wl.spec());
    const Agreement a = run(wl, sch, seed++);
    INFO("max rel err " << a.max_rel_err << ", bound " << a.tolerance);
    CHECK(a.ok);
  }
}

std::string nest_text(const std::string& spec, const Schedule& sch) { return to_text(scheduled_nest(parse_workload(spec), sch)); }

} // namespace

TEST_CASE("compute_at: im2col's columns computed per GEMM row step, locally, agree with the reference on 20 odd shapes", "[schedules][placement]") {
  check_odd_shapes(tiled_gemm({Step::compute_at("columns", "gemm", "ro", "local")}, true), 501);
}

TEST_CASE("compute_at: im2col's columns computed per GEMM row step, in registers, agree with the reference on 20 odd shapes", "[schedules][placement]") {
  check_odd_shapes(tiled_gemm({Step::compute_at("columns", "gemm", "ro", "registers")}, true), 502);
}

TEST_CASE("compute_at: im2col's columns computed per column tile, in the workspace, agree with the reference on 20 odd shapes", "[schedules][placement]") {
  check_odd_shapes(tiled_gemm({Step::compute_at("columns", "gemm", "colo", "workspace")}), 503);
}

TEST_CASE("compute_inline: im2col's gather inlined into the GEMM agrees with the reference on 20 odd shapes", "[schedules][placement]") {
  check_odd_shapes(tiled_gemm({Step::compute_inline("columns")}, true), 504);
}

TEST_CASE("compute_at on the im2col template's own schedule (packed weights, vector lanes, parallel chunks)", "[schedules][placement]") {
  for (const char* spec : {"n=1,c=16,h=14,w=14,k=32,r=3,s=3,pad=1", "n=2,c=7,h=9,w=13,k=19,r=3,s=2,stride=2,pad=1:0:2:1",
                           "n=1,c=12,h=8,w=8,k=24,r=3,s=3,pad=1,groups=3", "n=1,c=40,h=5,w=5,k=17,r=1,s=1"}) {
    const Workload wl = parse_workload(spec);
    Schedule sch = resolve_schedule("im2col_gemm", wl, host_target());
    sch.steps.push_back(Step::compute_at("columns", "gemm", "ro", "local"));
    INFO(spec);
    const Agreement a = run(wl, sch);
    INFO("max rel err " << a.max_rel_err);
    CHECK(a.ok);
  }
}

TEST_CASE("compute_at puts the region inside the loop, sized by the reads below it", "[schedules][placement]") {
  // rows = 3*3*3 = 27, cols = 8*8 = 64: below `ro` the GEMM reads 7 rows of a 5-column tile.
  const std::string spec = "n=1,c=3,h=8,w=8,k=4,r=3,s=3,pad=1";
  const std::string local = nest_text(spec, tiled_gemm({Step::compute_at("columns", "gemm", "ro", "local")}));
  INFO(local);
  CHECK(local.find("float columns_at_ro[1][1][7][5];  // stack") != std::string::npos);
  CHECK(local.find("float columns[") == std::string::npos);  // no whole gather in the workspace
  CHECK(local.find("// stage columns") == std::string::npos);
  const std::string registers = nest_text(spec, tiled_gemm({Step::compute_at("columns", "gemm", "ro", "registers")}));
  CHECK(registers.find("unrolled for (columns_x3 = 0; columns_x3 < 5; columns_x3++)") != std::string::npos);
  // In the workspace, the whole buffer stays (larger for the row tail: 4 steps of 7 rows).
  const std::string workspace = nest_text(spec, tiled_gemm({Step::compute_at("columns", "gemm", "colo", "workspace")}));
  INFO(workspace);
  CHECK(workspace.find("float columns[1][1][28][65];  // heap") != std::string::npos);
  CHECK(workspace.find("// stage columns") == std::string::npos);
  // Inline: no columns at all.
  const std::string inlined = nest_text(spec, tiled_gemm({Step::compute_inline("columns")}));
  CHECK(inlined.find("columns") == std::string::npos);
}

TEST_CASE("placement steps round-trip through JSON", "[schedules][placement]") {
  const Schedule sch = tiled_gemm({Step::compute_at("columns", "gemm", "ro", "registers")});
  const nlohmann::json j = to_json(sch);
  CHECK(j["steps"].back() == nlohmann::json::parse(R"({"step":"compute_at","stage":"columns","consumer":"gemm","loop":"ro","storage":"registers"})"));
  CHECK(schedule_from_json(nlohmann::json::parse(j.dump())) == sch);
  const nlohmann::json inl = nlohmann::json::parse(R"({"algorithm":"im2col_gemm","steps":[{"step":"compute_inline","stage":"columns"}]})");
  CHECK(schedule_from_json(inl).steps.front() == Step::compute_inline("columns"));
  REQUIRE_THROWS_MATCHES(schedule_from_json(nlohmann::json::parse(R"({"steps":[{"step":"compute_inline"}]})")), ScheduleError,
                         Message("schedule step 1 (compute_inline): missing field 'stage'"));
}

TEST_CASE("placement refusals name the stage, the loop or the storage", "[schedules][placement][refusals]") {
  const Workload wl = parse_workload("n=1,c=3,h=8,w=8,k=4,r=3,s=3,pad=1");
  const auto refused = [&](std::vector<Step> extra, bool parallel, const std::string& message) {
    REQUIRE_THROWS_MATCHES(scheduled_nest(wl, tiled_gemm(std::move(extra), parallel)), ScheduleError, Message(message));
  };
  refused({Step::compute_at("gemm", "gemm", "ro", "local")}, false,
          "schedule step 6: compute_at: stage 'gemm' is the main stage; it is computed whole");
  refused({Step::compute_inline("nothing")}, false,
          "schedule step 6: no stage 'nothing' in im2col_gemm (stages: columns, gemm)");
  refused({Step::compute_at("columns", "gemm", "ro", "texture")}, false,
          "schedule step 6: compute_at: storage 'texture' is not one of local, registers, workspace, shared");
  // Shared memory is a GPU block's.
  refused({Step::compute_at("columns", "gemm", "ro", "shared")}, false,
          "schedule step 6: compute_at: storage 'shared' needs loop 'ro' inside a loop bound to a GPU block");
  refused({Step::compute_at("columns", "gemm", "zz", "local")}, false,
          "schedule step 6: compute_at: no loop named 'zz' (loops: n, k, colo, ro, ri, coli)");
  refused({Step::compute_at("columns", "gemm", "colo", "workspace")}, true,
          "schedule step 7: compute_at: storage 'workspace' would be shared by the iterations of parallel loop 'n'; use 'local'");
  refused({Step::compute_at("columns", "gemm", "ro", "local"), Step::compute_inline("columns")}, false,
          "schedule step 7: compute_inline: stage 'columns' is placed already");
  refused({Step::compute_at("columns", "gemm", "ro", "local"), Step::split("ro", 2, "roo", "roi")}, false,
          "schedule step 6: compute_at: loop 'ro' of stage 'gemm' (where 'columns' is computed) is gone: a later step split, fused or renamed it");
  Step own = Step::split("q", 2, "qo", "qi");
  own.stage = "columns";
  refused({Step::compute_at("columns", "gemm", "ro", "local"), own}, false,
          "schedule step 7: stage 'columns' is computed at loop 'ro' of 'gemm'; it has no loops of its own");
  refused({own, Step::compute_at("columns", "gemm", "ro", "local")}, false,
          "schedule step 7: compute_at: stage 'columns' has loop steps of its own, which a placed stage cannot keep");
  refused({Step::compute_inline("columns"), own}, false, "schedule step 7: stage 'columns' is computed inline; it has no loops");
  refused({Step::split("k", 2, "ko", "ki"), Step::on_loop("vectorize", "ki"), Step::compute_at("columns", "gemm", "ki", "local")}, false,
          "schedule step 8: compute_at: loop 'ki' is vectorized; a stage cannot be computed per lane");
  // Found when the region is inferred: an index below the loop that is not affine in the loops
  // inside it (a fused loop), a region too large for local storage.
  Schedule fused;
  fused.algorithm = "im2col_gemm";
  fused.steps = {Step::split("col", 5, "colo", "coli"), Step::fuse("k", "colo", "kcol"), Step::compute_at("columns", "gemm", "n", "local")};
  REQUIRE_THROWS_MATCHES(scheduled_nest(wl, fused), ScheduleError,
                         Message("compute_at: stage 'gemm' reads 'columns' below loop 'n' at an index kcol%13*5 + coli is not affine in the loops inside"));
  // 576 rows and 3136 columns, each box rounded up to whole steps of 7 rows and 5 columns.
  const Workload big = parse_workload("n=1,c=64,h=56,w=56,k=64,r=3,s=3,pad=1");
  REQUIRE_THROWS_MATCHES(scheduled_nest(big, tiled_gemm({Step::compute_at("columns", "gemm", "n", "local")})), ScheduleError,
                         Message("compute_at: stage 'gemm' reads 'columns' below loop 'n': its region holds 1824340 values "
                                 "(7126 KiB); a local buffer holds at most 128 KiB (compute it at a loop further in, or use 'workspace')"));
}

TEST_CASE("a stage that does not read the placed one, or that has a reduction, is refused", "[schedules][placement][refusals]") {
  const Workload wl = parse_workload("n=1,c=4,h=6,w=6,k=4,r=3,s=3,pad=1,epilogue=bias_relu");
  Schedule sch;
  sch.algorithm = "im2col_gemm";
  sch.steps = {Step::compute_at("columns", "epilogue", "p", "local")};
  REQUIRE_THROWS_MATCHES(apply_schedule_stages(wl, sch), ScheduleError,
                         Message("schedule step 1: compute_at: stage 'epilogue' does not read 'columns'"));
  sch.steps = {Step::compute_inline("epilogue")};
  REQUIRE_THROWS_MATCHES(apply_schedule_stages(wl, sch), ScheduleError,
                         Message("schedule step 1: compute_inline: stage 'epilogue' writes the parameter 'output'; only a temporary's stage can be placed"));
  const Workload pool = parse_workload("n=1,c=6,h=9,w=8,r=3,s=2,stride=2,pad=1,op=avgpool");
  Schedule p;
  p.steps = {Step::compute_inline("count")};
  REQUIRE_THROWS_MATCHES(apply_schedule_stages(pool, p), ScheduleError,
                         Message("schedule step 1: compute_inline: stage 'count' has a reduction update; only a pure stage can be placed"));
}
