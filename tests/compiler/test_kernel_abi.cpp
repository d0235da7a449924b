/// \file The kernel ABI of a packed schedule: its parameters, its temporaries' places in the
/// workspace, its stages; and the entries honouring it (NAME_run stays inside the workspace it
/// is given, the allocating entry agrees with it).
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include <nlohmann/json.hpp>

#include "compiler/compile.h"
#include "compiler/kernel_runner.h"
#include "ir/kernel_abi.h"
#include "runtime/conv_problem.h"
#include "schedules/schedule_template.h"

using namespace convtune;

namespace {
int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
int64_t rounded(int64_t bytes) { return ceil_div(bytes, 64) * 64; }
} // namespace

TEST_CASE("The ABI of a packed schedule lists its parameters, workspace slots and stages", "[compiler][abi]") {
  const Workload wl = parse_workload("n=2,c=12,h=9,w=11,k=20,r=3,s=3,pad=1");
  const Target target = host_target();
  const int64_t lanes = target.vector_lanes();
  const Config config = {{"oc_bn", lanes}, {"ic_bn", 4}, {"ow_bn", 5}, {"oh_bn", 1},
                         {"order", 0},     {"unroll_kw", 0}, {"parallel", 0}};
  const LoopNest nest = scheduled_nest(wl, make_schedule(wl, target, config), "packed");
  const KernelAbi abi = kernel_abi(nest);

  CHECK(abi.name == "packed");
  REQUIRE(abi.params.size() == 3);
  CHECK(abi.params[0].name == "input");
  CHECK(abi.params[0].layout == "NCHW");
  CHECK(abi.params[0].shape == std::vector<int64_t>{2, 12, 9, 11});
  CHECK_FALSE(abi.params[0].written);
  CHECK(abi.params[1].layout == "KCRS");
  CHECK(abi.params[1].shape == std::vector<int64_t>{20, 12, 3, 3});
  CHECK(abi.params[2].layout == "NKPQ");
  CHECK(abi.params[2].shape == std::vector<int64_t>{2, 20, 9, 11});
  CHECK(abi.params[2].written);

  // The width tiles of 5 cover 15 columns of the 11: the packed input holds the padded rows and
  // the columns the last tile reads (14 + 2 taps + 1), the packed output the 15 columns.
  const int64_t kb = ceil_div(20, lanes);
  REQUIRE(abi.temporaries.size() == 3);
  CHECK(abi.temporaries[0].name == "input_packed");
  CHECK(abi.temporaries[0].shape == std::vector<int64_t>{2, 3, 11, 17, 4});
  CHECK(abi.temporaries[1].name == "weights_packed");
  CHECK(abi.temporaries[1].shape == std::vector<int64_t>{kb, 3, 3, 3, 4, lanes});
  CHECK(abi.temporaries[2].name == "output_packed");
  CHECK(abi.temporaries[2].shape == std::vector<int64_t>{2, kb, 9, 15, lanes});
  int64_t offset = 0;
  for (const AbiTemporary& t : abi.temporaries) {
    INFO(t.name);
    int64_t elements = 1;
    for (int64_t d : t.shape) elements *= d;
    CHECK(t.bytes == elements * 4);
    CHECK(t.offset_bytes == offset);
    CHECK(t.offset_bytes % KernelAbi::kWorkspaceAlign == 0);
    offset += rounded(t.bytes);
  }
  CHECK(abi.workspace_bytes == offset);

  REQUIRE(abi.stages.size() == 4);
  CHECK(abi.stages[0].kind == StageKind::PackInput);
  CHECK(abi.stages[1].kind == StageKind::PackWeights);
  CHECK(abi.stages[2].kind == StageKind::Compute);
  CHECK(abi.stages[3].kind == StageKind::UnpackOutput);

  // NAME_run_blocked takes the input and output in the packed temporaries' layouts and skips
  // their conversions: the input with its padding (1 row and column before index 0) and its
  // spare channels, the output blocked along k.
  REQUIRE(abi.blocked.size() == 2);
  const AbiBlocked& in = abi.blocked[0];
  CHECK(in.param == 0);
  CHECK(in.temporary == 0);
  CHECK(in.stage == 0);
  CHECK(in.layout == "NCHW4c");
  CHECK(in.shape == abi.temporaries[0].shape);
  CHECK(in.blocks == std::vector<std::pair<int, int64_t>>{{1, 4}});
  CHECK(in.offsets == std::vector<int64_t>{0, 0, 1, 1});
  CHECK(in.exterior_value == 0);
  const AbiBlocked& out = abi.blocked[1];
  CHECK(out.param == 2);
  CHECK(out.temporary == 2);
  CHECK(out.stage == 3);
  CHECK(out.layout == "NKPQ" + std::to_string(lanes) + "k");
  CHECK(out.offsets == std::vector<int64_t>{0, 0, 0, 0});

  const nlohmann::json j = abi;
  CHECK(j["workspace_bytes"] == abi.workspace_bytes);
  CHECK(j["temporaries"][1]["offset_bytes"] == abi.temporaries[1].offset_bytes);
  CHECK(j["params"][2]["layout"] == "NKPQ");
  CHECK(j["blocked"][0]["layout"] == "NCHW4c");
}

TEST_CASE("Blocked parameters: a max pool's input holds -infinity outside, an epilogue computed in the unpacking keeps the output plain", "[compiler][abi]") {
  const Target target = host_target();
  const Workload pool = parse_workload("op=maxpool,n=1,c=13,k=13,h=11,w=11,r=3,s=3,stride=2,pad=1");
  const KernelAbi pool_abi = kernel_abi(scheduled_nest(pool, resolve_schedule("default", pool, target)));
  REQUIRE(pool_abi.blocked.size() == 2);
  CHECK(pool_abi.blocked[0].exterior_value == -std::numeric_limits<double>::infinity());
  CHECK(nlohmann::json(pool_abi)["blocked"][0]["exterior_value"] == "-inf");

  // bias + ReLU computed while unpacking: the packed result is not the output yet.
  const Workload fused = parse_workload("n=1,c=16,h=8,w=8,k=24,r=3,s=3,pad=1,epilogue=bias_relu");
  const LoopNest nest = scheduled_nest(fused, resolve_schedule("default", fused, target));
  const KernelAbi fused_abi = kernel_abi(nest);
  REQUIRE(fused_abi.has_stage(StageKind::UnpackOutput));
  REQUIRE(fused_abi.blocked.size() == 1);
  CHECK(fused_abi.params[size_t(fused_abi.blocked[0].param)].name == "input");

  // The naive nest keeps nothing in blocks: no blocked entry.
  CHECK(kernel_abi(scheduled_nest(fused, resolve_schedule("naive", fused, target))).blocked.empty());
}

TEST_CASE("NAME_call computes inside the workspace it is given, the allocating entry agrees", "[compiler][abi]") {
  const Workload wl = parse_workload("n=2,c=12,h=9,w=11,k=20,r=3,s=3,pad=1");
  const Target target = host_target();
  auto kernel = compile_jit(scheduled_nest(wl, resolve_schedule("default", wl, target)), target);
  const KernelAbi& abi = kernel->abi();
  REQUIRE(abi.workspace_bytes > 0);
  ConvProblem problem = ConvProblem::make(wl, 3);

  // A workspace of exactly the ABI's size, full of NaN, followed by a guard region.
  const int64_t floats = abi.workspace_bytes / 4, guard = 1024;
  Tensor workspace(floats + guard);
  for (int64_t i = 0; i < floats + guard; ++i) workspace[i] = std::numeric_limits<float>::quiet_NaN();
  const Agreement with_workspace = problem.check([&] {
    float* const params[] = {problem.input.data(), problem.weights.data(), problem.output.data()};
    REQUIRE(kernel->call_function()(params, workspace.data()) == kKernelOk);
  });
  CHECK(with_workspace.ok);
  int64_t touched = 0;
  for (int64_t i = floats; i < floats + guard; ++i) touched += std::isnan(workspace[i]) ? 0 : 1;
  CHECK(touched == 0);

  const Agreement allocating = problem.check([&] {
    REQUIRE((*kernel)(problem.input.data(), problem.weights.data(), problem.output.data()) == kKernelOk);
  });
  CHECK(allocating.ok);
}

TEST_CASE("The naive nest needs no workspace and runs with none", "[compiler][abi]") {
  const Workload wl = parse_workload("n=1,c=3,h=7,w=5,k=4,r=3,s=2,stride=2,pad=1");
  const Target target = host_target();
  auto runner = KernelRunner::compile(wl, resolve_schedule("naive", wl, target), target);
  CHECK(runner->abi().workspace_bytes == 0);
  CHECK(runner->abi().temporaries.empty());
  REQUIRE(runner->abi().stages.size() == 1);
  ConvProblem problem = ConvProblem::make(wl, 5);
  CHECK(runner->check(problem).ok);
}
