/// \file Simplify: folding, identities, range-decided mins and ifs, and a conv nest's meaning kept.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "compiler/simplify.h"
#include "ir/algorithms.h"
#include "ir/ir.h"
#include "ir/ir_printer.h"
#include "ir/verifier.h"
#include "ir/workload.h"
#include "runtime/reference_conv.h"
#include "runtime/tensor.h"
#include "tests/ir_interpreter.h"
#include "tests/test_support.h"

using namespace convtune;
using convtune::testing::assign;
using convtune::testing::Interpreter;
using convtune::testing::serial_for;
using convtune::testing::var;

namespace {

/// The text of `e` after simplification, given the ranges of its variables.
std::string simplified(const Expr& e, const VarRanges& ranges = {}) { return to_text(simplify(e, ranges)); }

/// The output of `nest` on the given input and weights; output starts as NaN so that an
/// element the nest never writes shows up.
std::vector<float> interpret(const LoopNest& nest, const Tensor& input, const Tensor& weights) {
  Interpreter interp;
  interp.memory[nest.param("input").get()].assign(input.data(), input.data() + input.size());
  interp.memory[nest.param("weights").get()].assign(weights.data(), weights.data() + weights.size());
  interp.memory[nest.param("output").get()].assign(size_t(nest.param("output")->elements()), std::numeric_limits<float>::quiet_NaN());
  for (const BufferRef& t : nest.temporaries) interp.memory[t.get()].assign(size_t(t->elements()), 0.0f);
  for (const NestStage& stage : nest.stages) interp.run(stage.body);
  return interp.memory[nest.param("output").get()];
}

} // namespace

TEST_CASE("simplify folds integer constants", "[compiler][simplify]") {
  REQUIRE(simplified(Expr(2) + Expr(3)) == "5");
  REQUIRE(simplified(Expr(2) - Expr(3)) == "-1");
  REQUIRE(simplified(Expr(4) * Expr(6)) == "24");
  REQUIRE(simplified((Expr(2) + Expr(3)) * Expr(4) - Expr(1)) == "19");
  REQUIRE(simplified(min(Expr(4), Expr(9))) == "4");
  REQUIRE(simplified(max(Expr(4), Expr(9))) == "9");
}

TEST_CASE("simplify drops additive and multiplicative identities", "[compiler][simplify]") {
  Expr x = var("x");
  REQUIRE(simplified(x + Expr(0)) == "x");
  REQUIRE(simplified(Expr(0) + x) == "x");
  REQUIRE(simplified(x - Expr(0)) == "x");
  REQUIRE(simplified(x * Expr(1)) == "x");
  REQUIRE(simplified(Expr(1) * x) == "x");
  REQUIRE(simplified(x * Expr(0)) == "0");
  REQUIRE(simplified(Expr(0) * x) == "0");
  REQUIRE(simplified(x / Expr(1)) == "x");
  REQUIRE(simplified(x % Expr(1)) == "0");
  REQUIRE(simplified(x - x) == "0");
  REQUIRE(simplified(Expr(3) * x) == "x*3");
  REQUIRE(simplified((x + Expr(0)) * (Expr(2) - Expr(1))) == "x");
}

TEST_CASE("simplify returns an expression it cannot improve as is", "[compiler][simplify]") {
  Expr x = var("x"), y = var("y");
  Expr e = x * y + x;
  REQUIRE(simplify(e).same_as(e));
}

TEST_CASE("simplify merges nested constant offsets", "[compiler][simplify]") {
  Expr x = var("x");
  REQUIRE(simplified((x + Expr(2)) + Expr(3)) == "x + 5");
  REQUIRE(simplified((x + Expr(2)) - Expr(3)) == "x - 1");
  REQUIRE(simplified((x - Expr(2)) + Expr(2)) == "x");
  REQUIRE(simplified((x - Expr(2)) - Expr(3)) == "x - 5");
  REQUIRE(simplified(Expr(3) + (x + Expr(2))) == "x + 5");
  REQUIRE(simplified(((x + Expr(1)) + Expr(1)) + Expr(1)) == "x + 3");
}

TEST_CASE("simplify folds division and modulo of constants towards negative infinity", "[compiler][simplify]") {
  REQUIRE(simplified(Expr(7) / Expr(2)) == "3");
  REQUIRE(simplified(Expr(7) % Expr(2)) == "1");
  REQUIRE(simplified(Expr(-7) / Expr(2)) == "-4");
  REQUIRE(simplified(Expr(-7) % Expr(2)) == "1");
  REQUIRE(simplified(Expr(7) / Expr(-2)) == "-4");
  REQUIRE(simplified(Expr(7) % Expr(-2)) == "-1");
  REQUIRE(simplified(Expr(-7) / Expr(-2)) == "3");
  REQUIRE(simplified(Expr(-7) % Expr(-2)) == "-1");
  REQUIRE(simplified(Expr(-8) / Expr(2)) == "-4");
  REQUIRE(simplified(Expr(-8) % Expr(2)) == "0");
}

TEST_CASE("simplify leaves a division by zero unfolded", "[compiler][simplify]") {
  REQUIRE(simplified(Expr(5) / Expr(0)) == "5/0");
  REQUIRE(simplified(Expr(5) % Expr(0)) == "5%0");
}

TEST_CASE("simplify resolves division and modulo that the ranges decide", "[compiler][simplify]") {
  Expr x = var("x");
  const VarRanges ranges = {{"x", {0, 7}}};
  REQUIRE(simplified(x / Expr(8), ranges) == "0");
  REQUIRE(simplified(x % Expr(8), ranges) == "x");
  REQUIRE(simplified(x / Expr(4), ranges) == "x/4");
  REQUIRE(simplified(x % Expr(4), ranges) == "x%4");
  REQUIRE(simplified(x % Expr(8)) == "x%8");
}

TEST_CASE("simplify resolves a min or max that the ranges decide", "[compiler][simplify]") {
  Expr q = var("q"), y = var("y");
  REQUIRE(simplified(min(q * Expr(8) + Expr(8), Expr(56)), {{"q", {0, 5}}}) == "q*8 + 8");
  REQUIRE(simplified(max(q * Expr(8) + Expr(8), Expr(56)), {{"q", {0, 5}}}) == "56");
  REQUIRE(simplified(min(q * Expr(8) + Expr(8), Expr(56)), {{"q", {0, 7}}}) == "min(q*8 + 8, 56)");
  REQUIRE(simplified(min(q * Expr(8) + Expr(8), Expr(56))) == "min(q*8 + 8, 56)");
  REQUIRE(simplified(min(y, y)) == "y");
}

TEST_CASE("simplify folds a min inside a loop from the loop's range", "[compiler][simplify]") {
  BufferRef out = make_buffer("out", {64}, MemoryScope::Param);
  Expr q = var("q"), e = var("e");
  auto loop = [&](int64_t extent) {
    return serial_for("q", extent, LetStmt::make("e", min(q * Expr(8) + Expr(8), Expr(56)), assign(out, {e}, 0.0)));
  };
  REQUIRE(to_text(simplify(loop(6))) ==
          "for (q = 0; q < 6; q++) {\n"
          "  int64 e = q*8 + 8;\n"
          "  out[e] = 0.0f;\n"
          "}\n");
  REQUIRE(to_text(simplify(loop(8))) ==
          "for (q = 0; q < 8; q++) {\n"
          "  int64 e = min(q*8 + 8, 56);\n"
          "  out[e] = 0.0f;\n"
          "}\n");
}

TEST_CASE("simplify knows the range of a loop nested in a tiled loop", "[compiler][simplify]") {
  BufferRef out = make_buffer("out", {56}, MemoryScope::Param);
  Expr qo = var("qo"), qi = var("qi");
  Stmt store = assign(out, {qo * Expr(8) + qi}, 0.0);
  Stmt inner = serial_for("qi", min(Expr(8), Expr(56) - qo * Expr(8)), store);
  Stmt nest = serial_for("qo", 7, inner);
  REQUIRE(to_text(simplify(nest)) ==
          "for (qo = 0; qo < 7; qo++) {\n"
          "  for (qi = 0; qi < 8; qi++) {\n"
          "    out[qo*8 + qi] = 0.0f;\n"
          "  }\n"
          "}\n");
}

TEST_CASE("simplify removes an if whose condition the loop ranges make true", "[compiler][simplify]") {
  BufferRef out = make_buffer("out", {8}, MemoryScope::Param);
  Expr i = var("i");
  Stmt store = assign(out, {i}, 1.0);
  Stmt loop = serial_for("i", 8, IfThenElse::make(i >= Expr(0) && i < Expr(8), store));
  REQUIRE(to_text(simplify(loop)) ==
          "for (i = 0; i < 8; i++) {\n"
          "  out[i] = 1.0f;\n"
          "}\n");
}

TEST_CASE("simplify keeps only the undecided half of an if's condition", "[compiler][simplify]") {
  BufferRef out = make_buffer("out", {8}, MemoryScope::Param);
  Expr i = var("i");
  Stmt store = assign(out, {i}, 1.0);
  Stmt loop = serial_for("i", 8, IfThenElse::make(i >= Expr(0) && i < Expr(5), store));
  REQUIRE(to_text(simplify(loop)) ==
          "for (i = 0; i < 8; i++) {\n"
          "  if (i < 5) {\n"
          "    out[i] = 1.0f;\n"
          "  }\n"
          "}\n");
}

TEST_CASE("simplify replaces an if known false by its else branch", "[compiler][simplify]") {
  BufferRef out = make_buffer("out", {8}, MemoryScope::Param);
  Expr i = var("i");
  Stmt one = assign(out, {i}, 1.0);
  Stmt two = assign(out, {i}, 2.0);
  Stmt loop = serial_for("i", 8, IfThenElse::make(i >= Expr(8), one, two));
  REQUIRE(to_text(simplify(loop)) ==
          "for (i = 0; i < 8; i++) {\n"
          "  out[i] = 2.0f;\n"
          "}\n");
  // Without an else branch the loop has nothing left to do.
  Stmt empty = serial_for("i", 8, IfThenElse::make(i >= Expr(8), one));
  Stmt kept = assign(out, {Expr(0)}, 3.0);
  REQUIRE(to_text(simplify(Block::make({empty, kept}))) == "out[0] = 3.0f;\n");
}

TEST_CASE("simplify uses an if's condition inside its then branch", "[compiler][simplify]") {
  BufferRef out = make_buffer("out", {8}, MemoryScope::Param);
  Expr i = var("i");
  Stmt store = assign(out, {min(i, Expr(7))}, 1.0);
  Stmt loop = serial_for("i", 10, IfThenElse::make(i < Expr(8), store, store));
  REQUIRE(to_text(simplify(loop)) ==
          "for (i = 0; i < 10; i++) {\n"
          "  if (i < 8) {\n"
          "    out[i] = 1.0f;\n"
          "  } else {\n"
          "    out[min(i, 7)] = 1.0f;\n"
          "  }\n"
          "}\n");
}

TEST_CASE("simplify removes a loop of extent zero", "[compiler][simplify]") {
  BufferRef out = make_buffer("out", {8}, MemoryScope::Param);
  Expr i = var("i");
  Stmt never = serial_for("i", 0, assign(out, {i}, 1.0));
  Stmt kept = assign(out, {Expr(0)}, 3.0);
  REQUIRE(!simplify(never).defined());
  REQUIRE(to_text(simplify(Block::make({never, kept}))) == "out[0] = 3.0f;\n");
  Stmt folded = serial_for("i", Expr(4) - Expr(4), assign(out, {i}, 1.0));
  REQUIRE(!simplify(folded).defined());
}

TEST_CASE("simplify keeps a stage's body when every statement folds away", "[compiler][simplify]") {
  BufferRef output = make_buffer("output", {1}, MemoryScope::Param);
  Stmt never = serial_for("i", 0, assign(output, {Expr(0)}, 1.0));
  Stmt kept = assign(output, {Expr(0)}, 2.0);
  LoopNest nest = LoopNest::single("empty", make_buffer("input", {1}, MemoryScope::Param),
                                   make_buffer("weights", {1}, MemoryScope::Param), output, never);
  nest.stages.push_back({"second", StageKind::Compute, Block::make({never, kept})});
  const LoopNest out = simplify(nest);
  REQUIRE(out.stages.size() == 2);
  REQUIRE(out.stages[0].body.same_as(never));
  REQUIRE(to_text(out.stages[1].body) == "output[0] = 2.0f;\n");
}

TEST_CASE("simplify leaves float sums alone and folds only products by constants", "[compiler][simplify]") {
  BufferRef out = make_buffer("out", {2}, MemoryScope::Param);
  // A sum of two constants keeps its order of rounding to the code's own.
  Stmt store = Store::make(out, {Expr(0)}, FloatImm::make(1.0) + FloatImm::make(2.0), false);
  REQUIRE(to_text(simplify(store)) == "out[0] = 1.0f + 2.0f;\n");
  // x*1 and x+0 are x; a product of constants is its float product; x*0 is 0 (the IR's floats
  // are finite), and a fold of 0 is no statement at all.
  Expr x = Load::make(out, {Expr(1)});
  REQUIRE(to_text(simplify(Store::make(out, {Expr(0)}, x * FloatImm::make(1.0) + FloatImm::make(0.0), false))) == "out[0] = out[1];\n");
  REQUIRE(to_text(simplify(Store::make(out, {Expr(0)}, FloatImm::make(0.5) * FloatImm::make(3.0) * x, false))) ==
          "out[0] = 1.5f*out[1];\n");
  REQUIRE_FALSE(simplify(Store::make(out, {Expr(0)}, FloatImm::make(0.0) * x, true)).defined());
}

TEST_CASE("simplify reads a constant table at constant indices, so a transform's zero coefficients drop out", "[compiler][simplify]") {
  BufferRef out = make_buffer("out", {2}, MemoryScope::Param);
  BufferRef table = make_constant("coefficients", {2, 2}, {1.0, 0.0, -0.5, 2.0});
  Expr x = Load::make(out, {Expr(1)});
  const auto term = [&](int64_t i, int64_t j) { return Store::make(out, {Expr(0)}, Load::make(table, {Expr(i), Expr(j)}) * x, true); };
  REQUIRE(to_text(simplify(Block::make({term(0, 0), term(0, 1), term(1, 0)}))) == "out[0] += out[1];\nout[0] += -0.5f*out[1];\n");
  // At an index that is not constant the table is read as it is.
  Stmt loop = For::make("i", 0, 2, ForKind::Serial, Store::make(out, {Expr(0)}, Load::make(table, {Var::make("i"), Expr(1)}) * x, true));
  REQUIRE(to_text(simplify(loop)).find("coefficients[i][1]") != std::string::npos);
}

TEST_CASE("simplify folds a vector's broadcast coefficients: a vectorized transform's zero terms drop out", "[compiler][simplify]") {
  // What unrolling a vectorized transform leaves: each term's coefficient a broadcast table
  // entry, many of them 0 or 1.
  BufferRef out = make_buffer("out", {2, 16}, MemoryScope::Param);
  BufferRef table = make_constant("coefficients", {2, 2}, {1.0, 0.0, -0.5, 2.0});
  Expr x = Load::make(out, {Expr(1), Ramp::make(Expr(0), 1, 16)});
  const auto term = [&](int64_t i, int64_t j) {
    return Store::make(out, {Expr(0), Ramp::make(Expr(0), 1, 16)}, Broadcast::make(Load::make(table, {Expr(i), Expr(j)}), 16) * x, true);
  };
  REQUIRE(to_text(simplify(Block::make({term(0, 0), term(0, 1), term(1, 0)}))) ==
          "out[0][ramp(0, 1, 16)] += out[1][ramp(0, 1, 16)];\nout[0][ramp(0, 1, 16)] += x16(-0.5f)*out[1][ramp(0, 1, 16)];\n");
  // A product of broadcast constants is the broadcast of their float product; x + 0 is x.
  REQUIRE(to_text(simplify(Broadcast::make(FloatImm::make(0.5), 16) * Broadcast::make(FloatImm::make(3.0), 16) * x)) ==
          "x16(1.5f)*out[1][ramp(0, 1, 16)]");
  REQUIRE(to_text(simplify(x + Broadcast::make(FloatImm::make(0.0), 16))) == "out[1][ramp(0, 1, 16)]");
}

TEST_CASE("simplify keeps the padding guard of a padded conv", "[compiler][simplify]") {
  const Workload wl = parse_workload("n=1,c=2,h=5,k=2,r=3,pad=1");
  const LoopNest nest = naive_nest(algorithm_for(wl), "conv");
  const std::string text = to_text(simplify(nest));
  REQUIRE(text.find("if (ih >= 0 && ih < 5 && iw >= 0 && iw < 5) {\n") != std::string::npos);
  REQUIRE(text == to_text(nest));
}

TEST_CASE("simplify of an unpadded 1x1 conv has no if and changes nothing", "[compiler][simplify]") {
  const LoopNest nest = naive_nest(algorithm_for(parse_workload("n=1,c=4,h=6,k=3,r=1")), "conv");
  const LoopNest out = simplify(nest);
  REQUIRE(to_text(out).find("if (") == std::string::npos);
  REQUIRE(to_text(out) == to_text(nest));
  REQUIRE(out.stages.size() == 1);
  REQUIRE(out.compute().body.same_as(nest.compute().body));
}

TEST_CASE("simplify never changes what a conv nest computes", "[compiler][simplify]") {
  const char* specs[] = {
      "n=1,c=3,h=6,k=2,r=3,pad=1",
      "n=1,c=2,h=7,w=5,k=2,r=3,s=2,pad=2:0:1:3",
      "n=1,c=2,h=9,k=2,r=3,stride=2,pad=1",
      "n=1,c=2,h=9,k=2,r=3,dilation=2,pad=2",
      "n=1,c=4,h=5,k=4,r=3,groups=4,pad=1",
      "n=1,c=4,h=5,k=6,r=3,groups=2",
      "n=2,c=2,h=4,k=3,r=2",
      "n=1,c=3,h=4,k=2,r=1",
      "n=1,c=1,h=3,k=1,r=5,pad=3,stride=2",
  };
  for (const char* spec : specs) {
    INFO(spec);
    const Workload wl = parse_workload(spec);
    const LoopNest nest = naive_nest(algorithm_for(wl), "conv");
    const LoopNest out = simplify(nest);
    REQUIRE(verify_problems(out).empty());

    Tensor input(wl.input_elems()), weights(wl.weight_elems());
    input.fill_random(7);
    weights.fill_random(8);
    const std::vector<float> before = interpret(nest, input, weights);
    const std::vector<float> after = interpret(out, input, weights);
    // Simplify leaves float math alone, so the sums are the same operations in the same order.
    REQUIRE(before == after);

    Tensor result(wl.output_elems());
    for (size_t i = 0; i < after.size(); ++i) result[int64_t(i)] = after[i];
    REQUIRE(check_against_reference(wl, reference_conv(wl, input, weights), result).ok);
  }
}
