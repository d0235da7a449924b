/// \file Each algorithm description, lowered naively, against its reference on odd shapes:
/// direct convolution (groups, dilation, stride, asymmetric padding, batch), im2col + GEMM,
/// max and average pooling (both count_include_pad), and the convolution epilogues.
#include <catch2/catch.hpp>

#include <random>
#include <string>

#include "compiler/compile.h"
#include "compiler/kernel_runner.h"
#include "ir/algorithms.h"
#include "ir/error.h"
#include "ir/verifier.h"
#include "runtime/conv_problem.h"
#include "tests/odd_shapes.h"

using namespace convtune;
using convtune::testing::odd_shapes;

namespace {

/// Lowers `algorithm` naively, checks the nest, runs it on `wl`'s seeded data and compares.
Agreement run_naive(const Workload& wl, const Algorithm& algorithm, uint64_t seed) {
  const LoopNest nest = naive_nest(algorithm, algorithm.name);
  verify(nest);
  KernelRunner runner(compile_jit(nest, host_target()));
  ConvProblem problem = ConvProblem::make(wl, seed);
  return runner.check(problem);
}

void check_all(const std::vector<Workload>& shapes, Algorithm (*make)(const Workload&)) {
  uint64_t seed = 11;
  for (const Workload& wl : shapes) {
    INFO(wl.spec());
    const Agreement a = run_naive(wl, make(wl), seed++);
    INFO("max rel err " << a.max_rel_err << ", bound " << a.tolerance);
    CHECK(a.ok);
  }
}

} // namespace

TEST_CASE("direct convolution from its description matches the reference on 24 odd shapes", "[ir][algorithms]") {
  check_all(odd_shapes(24, 1, "", false), direct_conv);
}

TEST_CASE("im2col + GEMM from its description matches the reference on 24 odd shapes", "[ir][algorithms]") {
  check_all(odd_shapes(24, 2, "", false), im2col_gemm);
}

TEST_CASE("direct convolution over staged copies (the GPU templates' algorithm) matches the reference on 24 odd shapes",
          "[ir][algorithms]") {
  // Its weights are a K x (C/g R S) matrix over KCRS's bytes: the same kernel arguments.
  check_all(odd_shapes(24, 3, "", false), direct_conv_staged);
}

TEST_CASE("max pooling matches the reference on 20 odd shapes", "[ir][algorithms]") {
  check_all(odd_shapes(20, 3, ",op=maxpool", true), pooling);
}

TEST_CASE("average pooling matches the reference on 20 odd shapes each way of counting the padding", "[ir][algorithms]") {
  check_all(odd_shapes(20, 4, ",op=avgpool", true), pooling);
  check_all(odd_shapes(20, 5, ",op=avgpool,count_include_pad=1", true), pooling);
}

TEST_CASE("the convolution epilogues match the reference on 20 odd shapes each", "[ir][algorithms]") {
  check_all(odd_shapes(20, 6, ",epilogue=bias", false), direct_conv);
  check_all(odd_shapes(20, 7, ",epilogue=bias_relu", false), direct_conv);
  check_all(odd_shapes(20, 8, ",epilogue=bias_add_relu", false), direct_conv);
  check_all(odd_shapes(8, 9, ",epilogue=bias_add_relu", false), im2col_gemm);
  // What networks fuse besides: MobileNetV2's ReLU6 and its residual without an activation.
  check_all(odd_shapes(20, 10, ",epilogue=bias_relu6", false), direct_conv);
  check_all(odd_shapes(20, 11, ",epilogue=bias_add", false), direct_conv);
  check_all(odd_shapes(8, 12, ",epilogue=bias_add_relu6", false), im2col_gemm);
}

TEST_CASE("a wrong description fails the check: the reference is not the algorithm's echo", "[ir][algorithms]") {
  // The same convolution read with its taps flipped must disagree with the reference.
  const Workload wl = parse_workload("n=1,c=3,h=6,w=6,k=2,r=3,s=3,pad=1");
  Algorithm flipped = direct_conv(wl);
  Update& u = *flipped.stages[0].update;
  const Load* weight = u.value.as<Binary>()->b.as<Load>();
  REQUIRE(weight != nullptr);
  std::vector<Expr> idx = weight->indices;
  idx[2] = Expr(wl.r - 1) - idx[2];
  u.value = u.value.as<Binary>()->a * Load::make(weight->buffer, idx);
  CHECK_FALSE(run_naive(wl, flipped, 3).ok);
}

TEST_CASE("the descriptions' stages, parameters and temporaries", "[ir][algorithms]") {
  const Workload conv = parse_workload("n=1,c=4,h=6,w=6,k=8,r=3,s=3,pad=1,epilogue=bias_add_relu");
  const Algorithm direct = direct_conv(conv);
  REQUIRE(direct.stages.size() == 2);
  CHECK(direct.stages[0].name == "conv");
  CHECK(direct.stages[0].update->rdims.size() == 3);
  CHECK(direct.stages[1].name == "epilogue");
  CHECK_FALSE(direct.stages[1].update.has_value());
  std::vector<std::string> names;
  for (const NestParam& p : direct.params) names.push_back(p.buffer->name + ":" + p.layout);
  CHECK(names == std::vector<std::string>{"input:NCHW", "weights:KCRS", "bias:K", "residual:NKPQ", "output:NKPQ"});
  const LoopNest nest = naive_nest(direct, "fused");
  REQUIRE(nest.temporaries.size() == 1);
  CHECK(nest.temporaries[0]->name == "conv");

  const Algorithm gemm = im2col_gemm(parse_workload("n=1,c=4,h=6,w=6,k=8,r=3,s=3,pad=1"));
  REQUIRE(gemm.stages.size() == 2);
  CHECK(gemm.stages[0].buffer->shape == std::vector<int64_t>{1, 1, 36, 36});
  CHECK(gemm.stages[1].update->rdims[0].extent == 36);

  const Algorithm avg = pooling(parse_workload("n=1,c=3,h=7,w=7,r=3,s=3,stride=2,pad=1,op=avgpool"));
  std::vector<std::string> stages;
  for (const AlgorithmStage& s : avg.stages) stages.push_back(s.name);
  CHECK(stages == std::vector<std::string>{"count", "sum", "average"});
  // Without padding every window is whole: no count stage.
  CHECK(pooling(parse_workload("n=1,c=3,h=7,w=7,r=3,s=3,stride=2,op=avgpool")).stages.size() == 2);
  CHECK(pooling(parse_workload("n=1,c=3,h=7,w=7,r=3,s=3,stride=2,pad=1,op=maxpool")).stages.size() == 1);
}
