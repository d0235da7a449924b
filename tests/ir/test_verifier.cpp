/// \file The verifier: conv nests verify clean, and each malformed nest is refused by name.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "ir/algorithms.h"
#include "ir/error.h"
#include "ir/ir.h"
#include "ir/verifier.h"
#include "ir/workload.h"
#include "tests/test_support.h"

using namespace convtune;
using convtune::testing::assign;
using convtune::testing::serial_for;
using convtune::testing::var;
using Catch::Matchers::Contains;

namespace {

/// A nest over 1-D parameters: input[input_extent], weights[8], output[output_extent].
LoopNest nest_of(int64_t input_extent, int64_t output_extent) {
  // The body is set by each test.
  return LoopNest::single("t", make_buffer("input", {input_extent}, MemoryScope::Param),
                          make_buffer("weights", {8}, MemoryScope::Param),
                          make_buffer("output", {output_extent}, MemoryScope::Param), Stmt());
}

/// for (i = 0; i < extent; i++) output[i] = input[i], with an optional guard around the store.
LoopNest copy_loop(int64_t input_extent, int64_t extent, Expr guard = Expr()) {
  LoopNest nest = nest_of(input_extent, extent);
  Expr i = var("i");
  Stmt store = Store::make(nest.param("output"), {i}, Load::make(nest.param("input"), {i}), false);
  if (guard.defined()) store = IfThenElse::make(guard, store);
  nest.stages[0].body = serial_for("i", extent, store);
  return nest;
}

} // namespace

TEST_CASE("verifier accepts the conv nest of every kind of workload", "[ir][verifier]") {
  const char* specs[] = {
      "n=1,c=3,h=8,k=4,r=3",                            // plain
      "n=1,c=3,h=8,k=4,r=3,pad=1",                      // symmetric padding
      "n=1,c=3,h=9,w=7,k=4,r=3,s=2,pad=2:0:1:3",        // asymmetric padding
      "n=1,c=2,h=9,k=2,r=3,stride=2,pad=1",             // stride
      "n=1,c=2,h=10,w=11,k=2,r=3,stride=3:2",           // stride without padding
      "n=1,c=2,h=11,k=2,r=3,dilation=2,pad=2",          // dilation
      "n=1,c=2,h=11,k=2,r=3,s=2,dilation=2:3,pad=1",    // uneven dilation
      "n=1,c=4,h=6,k=6,r=3,groups=2,pad=1",             // groups
      "n=1,c=4,h=6,k=4,r=3,groups=4,pad=1",             // depthwise
      "n=3,c=2,h=5,k=2,r=2",                            // batch
      "n=1,c=1,h=4,k=1,r=1",                            // 1x1
      "n=2,c=1,h=3,k=1,r=5,pad=3,stride=2",             // padding wider than the input
      "n=1,c=1,h=1,w=9,k=1,r=1,s=9",                    // kernel as wide as the input
  };
  for (const char* spec : specs) {
    INFO(spec);
    REQUIRE(verify_problems(naive_nest(algorithm_for(parse_workload(spec)), "conv")).empty());
    REQUIRE_NOTHROW(verify(naive_nest(algorithm_for(parse_workload(spec)), "conv")));
  }
}

TEST_CASE("verifier accepts the ResNet-18 and MobileNet suites", "[ir][verifier]") {
  for (const char* spec : {"resnet18:C1", "resnet18:C6", "resnet18:C11", "mobilenet:D2", "mobilenet:D9"}) {
    INFO(spec);
    REQUIRE(verify_problems(naive_nest(algorithm_for(parse_workload(spec)), "conv")).empty());
  }
}

TEST_CASE("verifier refuses an unbound variable", "[ir][verifier]") {
  LoopNest nest = nest_of(8, 8);
  Expr i = var("i"), x = var("x");
  nest.stages[0].body = serial_for("i", 8, Store::make(nest.param("output"), {i}, Load::make(nest.param("input"), {min(i, x)}), false));
  const std::vector<std::string> problems = verify_problems(nest);
  REQUIRE(!problems.empty());
  REQUIRE(problems.front() == "variable 'x' is not bound");
}

TEST_CASE("verifier refuses a variable used after its loop ends", "[ir][verifier]") {
  LoopNest nest = nest_of(8, 8);
  Expr i = var("i");
  Stmt store = assign(nest.param("output"), {i}, 0.0);
  nest.stages[0].body = Block::make({serial_for("i", 8, store), store});
  const std::vector<std::string> problems = verify_problems(nest);
  REQUIRE(!problems.empty());
  REQUIRE(problems.front() == "variable 'i' is not bound");
}

TEST_CASE("verifier refuses a load that may run past the buffer", "[ir][verifier]") {
  const std::vector<std::string> problems = verify_problems(copy_loop(8, 10));
  REQUIRE(problems.size() == 1);
  REQUIRE_THAT(problems[0], Contains("may be out of bounds in dimension 0"));
  REQUIRE_THAT(problems[0], Contains("spans [0, 9]"));
  REQUIRE(problems[0] == "load of input may be out of bounds in dimension 0: index i spans [0, 9], extent 8");
}

TEST_CASE("verifier refuses a store below zero in a later dimension", "[ir][verifier]") {
  LoopNest nest = nest_of(8, 8);
  nest.params[2].buffer = make_buffer("output", {2, 4}, MemoryScope::Param);
  Expr i = var("i");
  nest.stages[0].body = serial_for("i", 4, assign(nest.param("output"), {Expr(1), i - Expr(1)}, 0.0));
  const std::vector<std::string> problems = verify_problems(nest);
  REQUIRE(problems.size() == 1);
  REQUIRE(problems[0] == "store to output may be out of bounds in dimension 1: index i - 1 spans [-1, 2], extent 4");
}

TEST_CASE("verifier accepts a load guarded by a condition that keeps it in bounds", "[ir][verifier]") {
  Expr i = var("i");
  REQUIRE(verify_problems(copy_loop(8, 10, i < Expr(8))).empty());
  REQUIRE(verify_problems(copy_loop(8, 10, i <= Expr(7))).empty());
  REQUIRE(verify_problems(copy_loop(8, 10, Expr(8) > i)).empty());
  // A guard that is one too loose still lets i reach 8.
  const std::vector<std::string> loose = verify_problems(copy_loop(8, 10, i < Expr(9)));
  REQUIRE(loose.size() == 1);
  REQUIRE_THAT(loose[0], Contains("spans [0, 8]"));
}

TEST_CASE("verifier checks the else branch without the if's condition", "[ir][verifier]") {
  LoopNest nest = nest_of(8, 10);
  Expr i = var("i");
  Stmt load = Store::make(nest.param("output"), {i}, Load::make(nest.param("input"), {i}), false);
  Stmt zero = assign(nest.param("output"), {i}, 0.0);
  nest.stages[0].body = serial_for("i", 10, IfThenElse::make(i < Expr(8), load, zero));
  REQUIRE(verify_problems(nest).empty());
  nest.stages[0].body = serial_for("i", 10, IfThenElse::make(i < Expr(8), zero, load));
  REQUIRE(verify_problems(nest).size() == 1);
}

TEST_CASE("verifier refuses a stack buffer used outside its allocation", "[ir][verifier]") {
  LoopNest nest = nest_of(8, 8);
  BufferRef tmp = make_buffer("tmp", {4}, MemoryScope::Stack);
  Stmt fill = assign(tmp, {Expr(0)}, 1.0);
  Stmt read = Store::make(nest.param("output"), {Expr(0)}, Load::make(tmp, {Expr(0)}), false);

  nest.stages[0].body = Allocate::make(tmp, Block::make({fill, read}));
  REQUIRE(verify_problems(nest).empty());

  nest.stages[0].body = Block::make({Allocate::make(tmp, read), fill});
  REQUIRE(verify_problems(nest) == std::vector<std::string>{"store to 'tmp' outside its allocation"});

  nest.stages[0].body = Block::make({Allocate::make(tmp, fill), read});
  REQUIRE(verify_problems(nest) == std::vector<std::string>{"load of 'tmp' outside its allocation"});

  nest.stages[0].body = fill;
  REQUIRE(verify_problems(nest) == std::vector<std::string>{"store to 'tmp' outside its allocation"});
}

TEST_CASE("verifier refuses a buffer allocated inside its own allocation", "[ir][verifier]") {
  LoopNest nest = nest_of(8, 8);
  BufferRef tmp = make_buffer("tmp", {4}, MemoryScope::Heap);
  Stmt fill = assign(tmp, {Expr(0)}, 1.0);
  nest.stages[0].body = Allocate::make(tmp, Allocate::make(tmp, fill));
  REQUIRE(verify_problems(nest).front() == "buffer 'tmp' allocated twice");
}

TEST_CASE("verifier refuses a name bound twice in nested scopes", "[ir][verifier]") {
  LoopNest nest = nest_of(8, 8);
  Expr i = var("i");
  Stmt store = assign(nest.param("output"), {i}, 0.0);
  nest.stages[0].body = serial_for("i", 8, serial_for("i", 8, store));
  REQUIRE(verify_problems(nest) == std::vector<std::string>{"'i' is bound again inside its own scope"});

  nest.stages[0].body = serial_for("i", 8, LetStmt::make("i", Expr(3), store));
  REQUIRE(verify_problems(nest) == std::vector<std::string>{"'i' is bound again inside its own scope"});
}

TEST_CASE("verifier accepts the same name bound in sibling scopes", "[ir][verifier]") {
  LoopNest nest = nest_of(8, 8);
  Expr i = var("i");
  Stmt loop = serial_for("i", 8, assign(nest.param("output"), {i}, 0.0));
  nest.stages[0].body = Block::make({loop, loop});
  REQUIRE(verify_problems(nest).empty());
}

TEST_CASE("verifier bounds a let variable by its value", "[ir][verifier]") {
  LoopNest nest = nest_of(8, 8);
  Expr i = var("i"), j = var("j");
  nest.stages[0].body = serial_for("i", 4,
                                   LetStmt::make("j", i * Expr(2) + Expr(1),
                                                 Store::make(nest.param("output"), {j}, Load::make(nest.param("input"), {j - Expr(1)}), false)));
  REQUIRE(verify_problems(nest).empty());
  nest.stages[0].body = serial_for("i", 4, LetStmt::make("j", i * Expr(2) + Expr(2), assign(nest.param("output"), {j}, 0.0)));
  REQUIRE(verify_problems(nest) ==
          std::vector<std::string>{"store to output may be out of bounds in dimension 0: index j spans [2, 8], extent 8"});
}

TEST_CASE("verifier refuses a loop that never runs", "[ir][verifier]") {
  LoopNest nest = nest_of(8, 8);
  nest.stages[0].body = serial_for("i", 0, assign(nest.param("output"), {Expr(0)}, 0.0));
  REQUIRE(verify_problems(nest) == std::vector<std::string>{"loop 'i' never runs (extent 0)"});
}

TEST_CASE("verifier lists every problem in program order", "[ir][verifier]") {
  LoopNest nest = nest_of(8, 8);
  Expr i = var("i");
  nest.stages[0].body = serial_for("i", 9, Store::make(nest.param("output"), {i}, Load::make(nest.param("input"), {i + Expr(1)}), false));
  REQUIRE(verify_problems(nest) == std::vector<std::string>{
      "load of input may be out of bounds in dimension 0: index i + 1 spans [1, 9], extent 8",
      "store to output may be out of bounds in dimension 0: index i spans [0, 8], extent 8"});
}

TEST_CASE("verify throws an InternalError naming the nest and its first problem", "[ir][verifier]") {
  LoopNest nest = copy_loop(8, 10);
  REQUIRE_THROWS_MATCHES(verify(nest), InternalError,
                         Catch::Matchers::Message("verify t: load of input may be out of bounds in dimension 0: "
                                                  "index i spans [0, 9], extent 8"));
  REQUIRE_NOTHROW(verify(copy_loop(8, 8)));
}

TEST_CASE("verify_problems refuses an incomplete nest as an internal error", "[ir][verifier]") {
  LoopNest nest = nest_of(8, 8);
  REQUIRE_THROWS_AS(verify_problems(nest), InternalError);  // a stage without a body
  nest.stages.clear();
  REQUIRE_THROWS_AS(verify_problems(nest), InternalError);  // no stage at all
}

TEST_CASE("verifier treats the nest's temporaries as live in every stage", "[ir][verifier]") {
  LoopNest nest = nest_of(8, 8);
  BufferRef packed = make_buffer("packed", {8}, MemoryScope::Heap);
  nest.temporaries.push_back(packed);
  Expr i = var("i");
  Stmt pack = serial_for("i", 8, Store::make(packed, {i}, Load::make(nest.param("input"), {i}), false));
  Stmt compute = serial_for("i", 8, Store::make(nest.param("output"), {i}, Load::make(packed, {i}), false));
  nest.stages = {{"pack", StageKind::PackInput, pack}, {"compute", StageKind::Compute, compute}};
  REQUIRE(verify_problems(nest).empty());

  // A buffer that is neither a parameter, a temporary nor allocated is still refused.
  BufferRef stray = make_buffer("stray", {8}, MemoryScope::Heap);
  nest.stages[1].body = serial_for("i", 8, Store::make(nest.param("output"), {i}, Load::make(stray, {i}), false));
  REQUIRE(verify_problems(nest) == std::vector<std::string>{"load of 'stray' outside its allocation"});
}

TEST_CASE("verifier checks every stage of a nest in order", "[ir][verifier]") {
  LoopNest nest = nest_of(8, 8);
  Expr i = var("i");
  Stmt good = serial_for("i", 8, assign(nest.param("output"), {i}, 0.0));
  Stmt bad = serial_for("j", 9, assign(nest.param("output"), {var("j")}, 0.0));
  nest.stages = {{"first", StageKind::Compute, bad}, {"second", StageKind::Compute, good},
                 {"third", StageKind::Compute, bad}};
  REQUIRE(verify_problems(nest).size() == 2);
}
