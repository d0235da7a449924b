/// \file Naming an algorithm or a template that does not fit is refused, naming it.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "compiler/compile.h"
#include "ir/algorithms.h"
#include "schedules/schedule_template.h"
#include "tests/test_support.h"

using namespace convtune;

TEST_CASE("unknown or unfit algorithms and templates are refused naming them", "[schedules][refusals][algorithms]") {
  const Workload conv = parse_workload("n=1,c=4,h=6,w=6,k=8,r=3,s=3,pad=1");
  const Workload pool = parse_workload("n=1,c=4,h=6,w=6,r=3,s=3,pad=1,op=maxpool");
  REQUIRE_USER_ERROR(algorithm_named("winograd", conv),
                     "unknown algorithm 'winograd' for a convolution (algorithms: direct_conv, direct_conv_staged, im2col_gemm, winograd_f2, winograd_f4, winograd_f6, winograd_fM_cB, sparse_direct, sparse_direct_cN, sparse_blocked_kB, sparse_blocked_kB_cN)");
  REQUIRE_USER_ERROR(algorithm_named("im2col_gemm", pool),
                     "algorithm 'im2col_gemm' does not compute maxpool (it has the algorithm maxpool)");
  CHECK(algorithm_named("", pool).name == "maxpool");
  // A schedule naming an unknown algorithm fails when it is replayed, before any code.
  const Schedule sch = schedule_from_json(nlohmann::json::parse(R"({"algorithm": "winograd", "steps": []})"));
  REQUIRE_USER_ERROR(scheduled_nest(conv, sch), "unknown algorithm 'winograd' for a convolution (algorithms: direct_conv, direct_conv_staged, im2col_gemm, winograd_f2, winograd_f4, winograd_f6, winograd_fM_cB, sparse_direct, sparse_direct_cN, sparse_blocked_kB, sparse_blocked_kB_cN)");
  REQUIRE_THROWS_MATCHES(schedule_from_json(nlohmann::json::parse(R"({"algorithm": 7, "steps": []})")), ScheduleError,
                         Catch::Matchers::Message("schedule: field 'algorithm' must be a string"));

  const Target target = parse_target("x86-64-v3");
  REQUIRE_USER_ERROR(resolve_schedule("pool_nchwc", conv, target),
                     "template 'pool_nchwc' does not apply to " + conv.spec() + " on target 'x86-64-v3'");
  REQUIRE_USER_ERROR(resolve_schedule("im2col_gemm", pool, target),
                     "template 'im2col_gemm' does not apply to " + pool.spec() + " on target 'x86-64-v3'");
  CHECK(resolve_schedule("im2col_gemm", conv, target).algorithm == "im2col_gemm");
}
