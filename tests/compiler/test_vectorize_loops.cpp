/// \file The vectorize pass: vectorized loops become ramps, broadcasts and vector accesses; a
/// body that cannot be widened becomes unrolled lanes; code generation refuses what is left.
#include <catch2/catch.hpp>

#include <string>

#include "compiler/simplify.h"
#include "compiler/vectorize_loops.h"
#include "ir/ir.h"
#include "ir/ir_printer.h"
#include "ir/ir_visitor.h"
#include "tests/test_support.h"

using namespace convtune;
using convtune::testing::serial_for;
using convtune::testing::var;

namespace {

const BufferRef in = make_buffer("in", {4, 64}, MemoryScope::Param);
const BufferRef out = make_buffer("out", {4, 64}, MemoryScope::Param);

Stmt vector_for(const std::string& name, int64_t extent, Stmt body) {
  return For::make(name, Expr(0), Expr(extent), ForKind::Vectorized, std::move(body));
}

/// The one loop kind left at the top of `s`, or "none".
std::string top_loop_kind(const Stmt& s) {
  const For* f = s.as<For>();
  return f ? to_string(f->for_kind) : "none";
}

} // namespace

TEST_CASE("A vectorized loop becomes ramps over its variable and vector loads and stores", "[compiler][vectorize]") {
  // for i in 0..8 vectorized: out[j][i] = in[j][i] * 2
  const Stmt s = serial_for("j", 4, vector_for("i", 8, Store::make(out, {var("j"), var("i")}, Load::make(in, {var("j"), var("i")}) * FloatImm::make(2.0), false)));
  const Stmt v = vectorize_loops(s);
  CHECK(to_text(v) ==
        "for (j = 0; j < 4; j++) {\n"
        "  out[j][ramp(0, 1, 8)] = in[j][ramp(0, 1, 8)]*x8(2.0f);\n"
        "}\n");
  const Store* st = v.as<For>()->body.as<Store>();
  REQUIRE(st != nullptr);
  CHECK(st->value.lanes() == 8);
}

TEST_CASE("Affine integer math over the lane stays a ramp, varying lets are substituted", "[compiler][vectorize]") {
  // let k = i*4 + j; out[0][k] = in[j][i*2 + 1]: strides 4 and 2, bases from the uniform j.
  const Stmt body = LetStmt::make("k", var("i") * Expr(4) + var("j"),
                                  Store::make(out, {Expr(0), var("k")}, Load::make(in, {var("j"), var("i") * Expr(2) + Expr(1)}), false));
  const Stmt v = vectorize_loops(serial_for("j", 4, vector_for("i", 8, body)));
  const std::string text = to_text(simplify(v));
  INFO(text);
  CHECK(text.find("out[0][ramp(j, 4, 8)] = in[j][ramp(1, 2, 8)];") != std::string::npos);
  CHECK(text.find("int64 k") == std::string::npos);  // the let was substituted
}

TEST_CASE("Uniform lets, loops and conditions stay scalar inside a widened body", "[compiler][vectorize]") {
  const Stmt inner = serial_for("r", 3, IfThenElse::make(var("r") < Expr(2),
      Store::make(out, {var("r"), var("i")}, Load::make(in, {var("r"), var("i")}), true)));
  const Stmt v = vectorize_loops(vector_for("i", 16, LetStmt::make("u", Expr(1), inner)));
  CHECK(to_text(v) ==
        "int64 u = 1;\n"
        "for (r = 0; r < 3; r++) {\n"
        "  if (r < 2) {\n"
        "    out[r][ramp(0, 1, 16)] += in[r][ramp(0, 1, 16)];\n"
        "  }\n"
        "}\n");
}

TEST_CASE("A body that cannot be widened runs its lanes as unrolled copies", "[compiler][vectorize]") {
  SECTION("every lane stores to one address (a reduction across lanes)") {
    const Stmt s = vector_for("i", 8, Store::make(out, {Expr(0), Expr(0)}, Load::make(in, {Expr(0), var("i")}), true));
    CHECK(top_loop_kind(vectorize_loops(s)) == "unrolled");
  }
  SECTION("an index that is not affine in the lane") {
    const Stmt s = vector_for("i", 8, Store::make(out, {Expr(0), var("i")}, Load::make(in, {Expr(0), var("i") / Expr(2)}), false));
    CHECK(top_loop_kind(vectorize_loops(s)) == "unrolled");
  }
  SECTION("a condition that differs between lanes") {
    const Stmt s = vector_for("i", 8, IfThenElse::make(var("i") < Expr(5), Store::make(out, {Expr(0), var("i")}, FloatImm::make(1.0), false)));
    CHECK(top_loop_kind(vectorize_loops(s)) == "unrolled");
  }
  SECTION("one lane") {
    const Stmt s = vector_for("i", 1, Store::make(out, {Expr(0), var("i")}, FloatImm::make(1.0), false));
    CHECK(top_loop_kind(vectorize_loops(s)) == "unrolled");
  }
}

TEST_CASE("A varying comparison chooses lane by lane in a float select", "[compiler][vectorize]") {
  // out[0][i] = i < 5 ? in[0][i] : 0: the condition becomes a vector of booleans.
  const Stmt s = vector_for("i", 8, Store::make(out, {Expr(0), var("i")},
      Select::make(var("i") < Expr(5), Load::make(in, {Expr(0), var("i")}), FloatImm::make(0.0)), false));
  const Stmt v = vectorize_loops(s);
  CHECK(to_text(v) == "out[0][ramp(0, 1, 8)] = select(ramp(0, 1, 8) < x8(5), in[0][ramp(0, 1, 8)], x8(0.0f));\n");
}

TEST_CASE("Vector nodes check their lanes", "[compiler][vectorize][ir]") {
  CHECK_THROWS_AS(Ramp::make(Expr(0), 1, 1), InternalError);
  CHECK_THROWS_AS(Broadcast::make(Ramp::make(Expr(0), 1, 4), 4), InternalError);
  CHECK_THROWS_AS(Ramp::make(Expr(0), 1, 4) + Ramp::make(Expr(0), 1, 8), InternalError);
  CHECK_THROWS_AS(LetStmt::make("x", Ramp::make(Expr(0), 1, 4), Store::make(out, {Expr(0), Expr(0)}, FloatImm::make(0.0), false)),
                  InternalError);
  // A store's value has the lanes of its indices.
  CHECK_THROWS_AS(Store::make(out, {Expr(0), Ramp::make(Expr(0), 1, 4)}, FloatImm::make(0.0), false), InternalError);
  CHECK(Load::make(in, {Expr(0), Ramp::make(Expr(0), 1, 4)}).lanes() == 4);
  // Bounds cover every lane.
  CHECK(to_text(bounds_of(Ramp::make(var("j"), -3, 4), {{"j", {10, 20}}})) == to_text(Interval{1, 20}));
}

TEST_CASE("A vectorized loop of a length not a power of two widens in power-of-two pieces", "[compiler][vectorize]") {
  // 49 lanes: 32, 16, then one scalar copy.
  const Stmt s = serial_for("j", 4, vector_for("i", 49, Store::make(out, {var("j"), var("i")}, Load::make(in, {var("j"), var("i")}), false)));
  CHECK(to_text(vectorize_loops(s)) ==
        "for (j = 0; j < 4; j++) {\n"
        "  out[j][ramp(0, 1, 32)] = in[j][ramp(0, 1, 32)];\n"
        "  out[j][ramp(32, 1, 16)] = in[j][ramp(32, 1, 16)];\n"
        "  out[j][48] = in[j][48];\n"
        "}\n");
}
