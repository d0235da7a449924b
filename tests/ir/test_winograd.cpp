/// \file Winograd's F(m x m, 3 x 3): the Cook-Toom matrices against the 1-D correlation, the
/// algorithm's naive nest against the reference on odd 3x3 layers for each tile side (checked
/// with the Winograd error bound of runtime/reference_conv.h), and its refusal.
#include <catch2/catch.hpp>

#include <cmath>
#include <random>

#include "compiler/compile.h"
#include "compiler/kernel_runner.h"
#include "ir/algorithms.h"
#include "ir/error.h"
#include "ir/ir_printer.h"
#include "ir/kernel_abi.h"
#include "ir/verifier.h"
#include "ir/winograd.h"
#include "runtime/conv_problem.h"
#include "targets/target.h"

using namespace convtune;
using Catch::Matchers::Message;

namespace {

/// `count` valid 3x3 stride-1 layers of odd shapes: 1-2 images, 1-3 groups of 1-4 input and
/// 1-5 output channels, 1-13 rows and columns, each pad 0-3.
std::vector<Workload> odd_3x3(int count, uint64_t seed) {
  std::mt19937_64 rng(seed);
  auto pick = [&](int lo, int hi) { return int(rng() % uint64_t(hi - lo + 1)) + lo; };
  std::vector<Workload> out;
  while (int(out.size()) < count) {
    const int groups = pick(1, 3);
    const std::string spec = "n=" + std::to_string(pick(1, 2)) + ",c=" + std::to_string(groups * pick(1, 4)) +
                             ",h=" + std::to_string(pick(1, 13)) + ",w=" + std::to_string(pick(1, 13)) +
                             ",k=" + std::to_string(groups * pick(1, 5)) + ",r=3,s=3,pad=" + std::to_string(pick(0, 3)) + ":" +
                             std::to_string(pick(0, 3)) + ":" + std::to_string(pick(0, 3)) + ":" + std::to_string(pick(0, 3)) +
                             ",groups=" + std::to_string(groups);
    try {
      out.push_back(parse_workload(spec));
    } catch (const UserError&) {
      // The window does not fit: draw again.
    }
  }
  return out;
}

} // namespace

TEST_CASE("Winograd matrices: AT[(G g) . (BT d)] is the 1-D correlation of d with g for every tile side", "[ir][winograd]") {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> value(-1.0, 1.0);
  for (int m : winograd_tiles()) {
    const WinogradMatrices& wm = winograd_matrices(m);
    REQUIRE(wm.alpha == m + 2);
    for (int trial = 0; trial < 20; ++trial) {
      std::vector<double> d(size_t(wm.alpha)), g(3);
      for (double& x : d) x = value(rng);
      for (double& x : g) x = value(rng);
      for (int a = 0; a < m; ++a) {
        double y = 0, direct = 0;
        for (int xi = 0; xi < wm.alpha; ++xi) {
          double u = 0, v = 0;
          for (int i = 0; i < 3; ++i) u += wm.g[size_t(xi)][size_t(i)] * g[size_t(i)];
          for (int i = 0; i < wm.alpha; ++i) v += wm.bt[size_t(xi)][size_t(i)] * d[size_t(i)];
          y += wm.at[size_t(a)][size_t(xi)] * u * v;
        }
        for (int i = 0; i < 3; ++i) direct += d[size_t(a + i)] * g[size_t(i)];
        INFO("F(" << m << ", 3), output " << a);
        CHECK(std::fabs(y - direct) < 1e-12);
      }
    }
  }
  // F(2, 3) is Lavin and Gray's: BT's first row (1, 0, -1, 0), G's second row (1/2, 1/2, 1/2).
  CHECK(winograd_matrices(2).bt[0] == std::vector<double>{1, 0, -1, 0});
  CHECK(winograd_matrices(2).g[1] == std::vector<double>{0.5, 0.5, 0.5});
}

TEST_CASE("Winograd: the naive nest of each tile side agrees with the reference on 20 odd 3x3 layers", "[ir][winograd]") {
  const Target target = host_target();
  for (int m : winograd_tiles()) {
    uint64_t seed = 100;
    for (const Workload& wl : odd_3x3(20, 900 + uint64_t(m))) {
      INFO("winograd_f" << m << " on " << wl.spec());
      Schedule naive;
      naive.algorithm = "winograd_f" + std::to_string(m);
      KernelRunner runner(compile_jit(scheduled_nest(wl, naive), target));
      ConvProblem problem = ConvProblem::make(wl, seed++);
      problem.ref = reference_winograd(wl, problem.input, problem.weights, m);
      const Agreement a = runner.check(problem);
      INFO("max rel err " << a.max_rel_err << ", bound " << a.tolerance);
      CHECK(a.ok);
    }
  }
}

TEST_CASE("Winograd: channels rounded up to a block (winograd_fM_cB) agree with the reference, unpacked and guarded",
          "[ir][winograd]") {
  const Target target = host_target();
  uint64_t seed = 300;
  for (const Workload& wl : odd_3x3(30, 77)) {
    if (wl.groups > 1) continue;
    const int64_t block = wl.c % 4 == 0 ? 8 : 4;  // never a divisor here: c is at most 4
    Schedule naive;
    naive.algorithm = "winograd_f2_c" + std::to_string(block);
    INFO(naive.algorithm << " on " << wl.spec());
    KernelRunner runner(compile_jit(scheduled_nest(wl, naive), target));
    ConvProblem problem = ConvProblem::make(wl, seed++);
    problem.ref = reference_winograd(wl, problem.input, problem.weights, 2);
    CHECK(runner.check(problem).ok);
  }
  CHECK(winograd_tile_of("winograd_f6_c16") == 6);
  CHECK(winograd_channel_block_of("winograd_f6_c16") == 16);
  CHECK(winograd_channel_block_of("winograd_f6") == 0);
  CHECK(winograd_tile_of("winograd_f6_c") == 0);
  CHECK(winograd_tile_of("winograd_f6_cx") == 0);
  CHECK_THROWS_MATCHES(algorithm_named("winograd_f4_c4", parse_workload("n=1,c=6,h=8,w=8,k=6,r=3,s=3,pad=1,groups=2")), UserError,
                       Message("algorithm 'winograd_f4_c4' rounds the input channels up to a multiple of 4, which a grouped "
                               "convolution cannot (3 channels a group)"));
}

TEST_CASE("Winograd: the weights' transform is the packing NAME_run skips, the matrices are constants of the nest", "[ir][winograd]") {
  const Workload wl = parse_workload("n=1,c=4,h=6,w=6,k=5,r=3,s=3,pad=1");
  const LoopNest nest = naive_nest(winograd(wl, 2), "w");
  verify(nest);
  REQUIRE(nest.stages.size() == 4);
  CHECK(nest.stages[0].kind == StageKind::PackWeights);
  CHECK(to_text(nest).find("winograd_bt[") != std::string::npos);
  for (const BufferRef& t : nest.temporaries) CHECK(t->scope != MemoryScope::Constant);
  const KernelAbi abi = kernel_abi(nest);
  REQUIRE(abi.packed_weights >= 0);
  CHECK(abi.temporaries[size_t(abi.packed_weights)].name == "weights_transformed");
  CHECK(abi.temporaries[size_t(abi.packed_weights)].shape == std::vector<int64_t>{4, 4, 4, 5});
}

TEST_CASE("Winograd refuses what it does not compute, naming the workload", "[ir][winograd]") {
  const Workload strided = parse_workload("n=1,c=4,h=9,w=9,k=4,r=3,s=3,stride=2,pad=1");
  CHECK_THROWS_MATCHES(algorithm_named("winograd_f4", strided), UserError,
                       Message("algorithm 'winograd_f4' needs a 3x3 convolution with stride 1 and dilation 1; "
                               "n=1,c=4,h=9,w=9,k=4,r=3,s=3,stride=2,pad=1 is not one"));
  CHECK_THROWS_MATCHES(algorithm_named("winograd_f3", parse_workload("n=1,c=4,h=9,w=9,k=4,r=3,s=3")), UserError,
                       Message("unknown algorithm 'winograd_f3' for a convolution (algorithms: direct_conv, direct_conv_staged, im2col_gemm, "
                               "winograd_f2, winograd_f4, winograd_f6, winograd_fM_cB, sparse_direct, sparse_direct_cN, sparse_blocked_kB, sparse_blocked_kB_cN)"));
}

TEST_CASE("The verifier refuses a store to a constant table", "[ir][winograd]") {
  const BufferRef table = make_constant("table", {2}, {1.0, 2.0});
  const BufferRef out = make_buffer("output", {2}, MemoryScope::Param);
  LoopNest nest = LoopNest::single("k", make_buffer("input", {2}, MemoryScope::Param), make_buffer("weights", {1}, MemoryScope::Param),
                                   out, For::make("i", 0, 2, ForKind::Serial, Store::make(table, {Var::make("i")}, Load::make(out, {Var::make("i")}), false)));
  CHECK_THROWS_MATCHES(verify(nest), InternalError, Message("verify k: store to the constant 'table'"));
}
